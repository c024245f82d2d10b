"""Benchmark of the clustering stage (python/xdr_warehouse/clustering.py), not a test.

Times the package functions the dbt Python models call, on synthetic
per-customer engagement features (no dbt, no DuckDB): sort + validate
(``prepare_features``), scaling, the final k-means over every customer
(``fit_clusters``), the Arrow table, and the elbow curve on its random sample
(``elbow_curve``). Each size runs in a fresh subprocess, so the peak RSS of one
size does not hide the next; RSS is sampled with psutil every 20 ms while the
stage runs and reported as the peak and as the peak above the RSS the process
had before the stage (the synthetic input already in memory).

Synthetic customers look like the generated TellCo data: sessions 1..18 with
mean ~1.4 (geometric, 72% with one session), per-session duration ~30% capped
at one day and otherwise log-normal, per-session traffic log-normal (median
~500 MB) and correlated with the duration.

Usage (from the repository root):

    .venv/bin/python bench/bench_clustering.py                  # 100k, 1M, 7M
    .venv/bin/python bench/bench_clustering.py --sizes 100000 1000000
    .venv/bin/python bench/bench_clustering.py --stability 5 --sizes 7000000

``--stability N`` also runs the elbow on N more random samples (seeds 1..N) and
prints which k each one chose. Results are printed as a Markdown table and
written as JSON to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from xdr_warehouse.clustering import (  # noqa: E402
    ClusterSettings,
    CustomerClusters,
    clusters_to_arrow,
    elbow_for,
    fit_clusters,
    prepare_features,
    scale_features,
)

DEFAULT_SIZES = (100_000, 1_000_000, 7_000_000)
DAY_MS = 86_400_000


def synthetic_features(customers: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled MSISDNs and heavy-tailed (sessions, duration_ms, traffic_bytes) per customer."""
    rng = np.random.default_rng(seed)
    sessions = np.minimum(rng.geometric(0.72, customers), 18).astype(np.int64)
    owner = np.repeat(np.arange(customers), sessions)
    n = owner.shape[0]
    capped = rng.random(n) < 0.3
    duration = np.where(
        capped,
        DAY_MS - 1_000 + rng.integers(0, 1_000, n),
        np.minimum(rng.lognormal(np.log(6.0e7), 0.9, n), DAY_MS - 1_000),
    )
    noise = rng.standard_normal(n)
    traffic = np.exp(np.log(5.0e8) + 0.45 * noise + 0.25 * np.log(duration / 6.0e7))
    values = np.column_stack(
        [
            sessions.astype(np.float64),
            np.bincount(owner, weights=np.floor(duration), minlength=customers),
            np.bincount(owner, weights=np.floor(traffic), minlength=customers),
        ]
    )
    msisdn = 33_600_000_000 + rng.permutation(customers * 3)[:customers].astype(np.int64)
    return msisdn, values


class PeakRss:
    """Samples the process RSS in a background thread while the block runs."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.start_rss = 0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.start_rss = self.process.memory_info().rss
        self.peak_rss = self.start_rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)


@dataclass
class Result:
    customers: int
    k: int
    n_init: int
    elbow_sample_size: int
    fit_sample_size: int = 0
    threads: int = 0
    seconds_total: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    extra_rss_mb: float = 0.0
    inertia: float = 0.0
    cluster_sizes: list[int] = field(default_factory=list)
    elbow_k: int | None = None
    elbow_method: str = ""
    stability_elbows: list[int | None] = field(default_factory=list)
    cpus: int = 0


def run_one(customers: int, settings: ClusterSettings, stability: int) -> Result:
    """Run the whole stage once on ``customers`` synthetic customers."""
    msisdn, values = synthetic_features(customers)
    result = Result(
        customers,
        settings.k,
        settings.n_init,
        settings.elbow_sample_size,
        settings.fit_sample_size,
        settings.threads,
    )
    result.cpus = os.cpu_count() or 0
    timer = time.perf_counter
    with PeakRss() as rss:
        t0 = timer()
        features = prepare_features(msisdn, values)
        t1 = timer()
        scaled = scale_features(features.values, settings.scaler)
        t2 = timer()
        fit = fit_clusters(
            scaled,
            k=settings.k,
            seed=settings.seed,
            n_init=settings.n_init,
            max_iter=settings.max_iter,
            fit_sample_size=settings.fit_sample_size,
            threads=settings.threads,
        )
        t3 = timer()
        table = clusters_to_arrow(CustomerClusters(features.msisdn, scaled, fit, settings.scaler))
        t4 = timer()
        curve = elbow_for(features, settings)
        t5 = timer()
    result.seconds = {
        "sort_validate": t1 - t0,
        "scale": t2 - t1,
        "kmeans_all_customers": t3 - t2,
        "arrow_table": t4 - t3,
        "elbow": t5 - t4,
    }
    result.seconds_total = t5 - t0
    result.peak_rss_mb = rss.peak_rss / 1e6
    result.extra_rss_mb = (rss.peak_rss - rss.start_rss) / 1e6
    result.inertia = fit.inertia
    result.cluster_sizes = np.bincount(fit.labels, minlength=fit.clusters_used).tolist()
    result.elbow_k = curve.elbow_k
    result.elbow_method = curve.method
    assert table.num_rows == customers
    for seed in range(1, stability + 1):
        other = elbow_for(features, replace(settings, seed=seed))
        result.stability_elbows.append(other.elbow_k)
    return result


def markdown(results: list[Result]) -> str:
    lines = [
        "| customers | total s | k-means (all) s | elbow s | peak RSS MB | extra RSS MB "
        "| elbow k | elbow k on other samples |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.customers:,} | {r.seconds_total:.1f} | {r.seconds['kmeans_all_customers']:.1f} "
            f"| {r.seconds['elbow']:.1f} | {r.peak_rss_mb:.0f} | {r.extra_rss_mb:.0f} "
            f"| {r.elbow_k} ({r.elbow_method}) | {r.stability_elbows or '-'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--k", type=int, default=ClusterSettings.k)
    parser.add_argument("--scaler", default=ClusterSettings.scaler)
    parser.add_argument("--n-init", type=int, default=ClusterSettings.n_init)
    parser.add_argument("--elbow-sample-size", type=int, default=ClusterSettings.elbow_sample_size)
    parser.add_argument("--fit-sample-size", type=int, default=ClusterSettings.fit_sample_size)
    parser.add_argument("--threads", type=int, default=ClusterSettings.threads)
    parser.add_argument("--stability", type=int, default=0, help="extra elbow samples")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = ClusterSettings(
        k=args.k,
        scaler=args.scaler,
        n_init=args.n_init,
        elbow_sample_size=args.elbow_sample_size,
        fit_sample_size=args.fit_sample_size,
        threads=args.threads,
    )
    if args.child:
        result = run_one(args.sizes[0], settings, args.stability)
        print(json.dumps(asdict(result)))
        return 0
    results = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", "--sizes", str(size)]
        command += ["--k", str(args.k), "--scaler", args.scaler, "--n-init", str(args.n_init)]
        command += ["--elbow-sample-size", str(args.elbow_sample_size)]
        command += ["--fit-sample-size", str(args.fit_sample_size), "--threads", str(args.threads)]
        command += ["--stability", str(args.stability)]
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        result = Result(**json.loads(done.stdout.strip().splitlines()[-1]))
        results.append(result)
        print(
            f"{size:>10,} customers: {result.seconds_total:.1f} s stage "
            f"({time.perf_counter() - started:.1f} s with data generation), "
            f"peak RSS {result.peak_rss_mb:.0f} MB, stages "
            + ", ".join(f"{name} {sec:.2f}" for name, sec in result.seconds.items()),
            flush=True,
        )
    print()
    print(markdown(results))
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = json.dumps([asdict(r) for r in results], indent=2)
    (out / f"clustering-{stamp}.json").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
