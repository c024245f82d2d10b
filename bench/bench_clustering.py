"""Benchmark of the clustering stage (python/xdr_warehouse/clustering/), not a test.

Times the package functions the dbt Python models call, on synthetic
per-customer engagement features (no dbt), in two ways for each size:

- ``stage``: what the build does now. The fit and elbow samples are drawn as
  ``clustering_fit_sample`` / ``clustering_elbow_sample`` draw them (the same
  MD5-of-seed-and-MSISDN rule, run in DuckDB; every customer up to
  ``--fit-sample-size``), then ``engagement_cluster_model``'s work: the sample
  as the Arrow table dbt hands over -> sorted, validated features
  (``features_from_arrow``), scaler + k-means on the fit sample (``fit_model``),
  the model table (``model_to_arrow``); and ``engagement_elbow_curve``'s work:
  the elbow curve on the elbow sample with the model's scaler
  (``elbow_curve_table``). Every customer is then labelled by
  ``customer_clusters`` in SQL; the numpy equivalent (``ClusterModel.labels``,
  in blocks of 1M customers) is timed apart and is not part of the stage.
- ``all``: the final k-means on every customer (as the stage did before the
  model was fitted on a sample, and as the notebooks do): ``prepare_features``,
  ``scale_features`` and ``fit_clusters`` over all customers.

Each (size, way) runs in a fresh subprocess, so the peak RSS of one does not
hide the next; RSS is sampled with psutil every 20 ms while the measured part
runs and reported as the peak and as the peak above the RSS the process had
before it (the synthetic input, and the samples, already in memory). The labels
of both ways are compared (share of customers with the same cluster id, and the
adjusted Rand index); below ``--fit-sample-size`` customers the fit sample is
every customer, so they should agree exactly.

Synthetic customers look like the generated TellCo data: sessions 1..18 with
mean ~1.4 (geometric, 72% with one session), per-session duration ~30% capped
at one day and otherwise log-normal, per-session traffic log-normal (median
~500 MB) and correlated with the duration.

Usage (from the repository root):

    .venv/bin/python bench/bench_clustering.py                  # 100k, 1M, 7M
    .venv/bin/python bench/bench_clustering.py --sizes 100000 1000000
    .venv/bin/python bench/bench_clustering.py --stability 5 --sizes 7000000

``--stability N`` also fits the elbow on N more elbow samples (seeds 1..N,
drawn and fitted with that seed, scaled with the seed-42 model's scaler) and
prints which k each one chose. Results are printed as a Markdown table and
written to bench/results/ (git-ignored) as ``clustering-latest.{md,json}`` and
a time-stamped JSON copy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np
import psutil
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from xdr_warehouse.clustering import (  # noqa: E402
    FEATURES,
    ClusterSettings,
    fit_clusters,
    fit_model,
    model_to_arrow,
    prepare_features,
    scale_features,
)
from xdr_warehouse.clustering.stage import elbow_curve_table, features_from_arrow  # noqa: E402

DEFAULT_SIZES = (100_000, 1_000_000, 7_000_000)
DAY_MS = 86_400_000
#: Customers labelled per block by the numpy stand-in for customer_clusters' SQL.
LABEL_BLOCK = 1_000_000


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


def sample_keys(msisdn: np.ndarray, seed: int) -> np.ndarray:
    """xdr_sample_key (macros/cross_engine.sql) of each MSISDN, computed by DuckDB."""
    con = duckdb.connect()
    try:
        con.register("customers", pa.table({"msisdn": msisdn}))
        keys = con.sql(
            "select cast(('0x' || substr(md5($seed || ':' || cast(msisdn as varchar)), 1, 8))"
            " as bigint) as sample_key from customers",
            params={"seed": str(int(seed))},
        ).fetchnumpy()["sample_key"]
    finally:
        con.close()
    return np.asarray(keys)


def customer_sample(
    msisdn: np.ndarray, values: np.ndarray, size: int, seed: int
) -> tuple[pa.Table, np.ndarray]:
    """The sample macro xdr_customer_sample draws (every customer up to ``size``), as the
    Arrow table the dbt Python models get, and the sampled customers' row indices."""
    customers = msisdn.shape[0]
    if customers <= size:
        rows = np.arange(customers)
    else:
        rows = np.flatnonzero(sample_keys(msisdn, seed) < 4294967296.0 * size / customers)
    columns = {"msisdn": msisdn[rows]}
    for j, name in enumerate(FEATURES):
        columns[name] = values[rows, j].astype(np.int64)
    columns["customer_count"] = np.full(rows.shape[0], customers, dtype=np.int64)
    return pa.table(columns), rows


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
    way: str
    k: int
    scaler: str
    n_init: int
    fit_sample_size: int
    elbow_sample_size: int
    elbow_n_init: int
    threads: int
    fit_customers: int = 0
    elbow_customers: int = 0
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


def _elbow(table: pa.Table) -> tuple[int | None, str]:
    rows = table.to_pylist()
    chosen = [row["k"] for row in rows if row["is_elbow"]]
    return (chosen[0] if chosen else None), (rows[0]["elbow_method"] if rows else "none")


def run_stage(
    customers: int, settings: ClusterSettings, stability: int
) -> tuple[Result, np.ndarray]:
    """The current stage: model fitted on the fit sample, elbow on the elbow sample."""
    msisdn, values = synthetic_features(customers)
    result = Result(customers, "stage", **_settings_fields(settings))
    timer = time.perf_counter
    t0 = timer()
    fit_sample, _ = customer_sample(msisdn, values, settings.fit_sample_size, settings.seed)
    elbow_sample, _ = customer_sample(msisdn, values, settings.elbow_sample_size, settings.seed)
    draw_s = timer() - t0
    with PeakRss() as rss:
        t0 = timer()
        features = features_from_arrow(fit_sample)
        t1 = timer()
        model = fit_model(features, settings)
        t2 = timer()
        model_table = model_to_arrow(model)
        t3 = timer()
        curve = elbow_curve_table(elbow_sample, model_table, customers, settings)
        t4 = timer()
    # customer_clusters' SQL, in numpy: every customer (sorted by MSISDN, as "all" is)
    order = np.argsort(msisdn, kind="stable")
    t5 = timer()
    labels = np.concatenate(
        [model.labels(values[order[i : i + LABEL_BLOCK]]) for i in range(0, customers, LABEL_BLOCK)]
    )
    t6 = timer()
    result.seconds = {
        "draw_samples_sql": draw_s,
        "features_from_arrow": t1 - t0,
        "fit_model_on_sample": t2 - t1,
        "model_table": t3 - t2,
        "elbow": t4 - t3,
        "label_all_numpy": t6 - t5,
    }
    result.seconds_total = t4 - t0
    result.peak_rss_mb = rss.peak_rss / 1e6
    result.extra_rss_mb = (rss.peak_rss - rss.start_rss) / 1e6
    result.fit_customers = fit_sample.num_rows
    result.elbow_customers = elbow_sample.num_rows
    result.inertia = model.inertia
    result.cluster_sizes = np.bincount(labels, minlength=model.centroids.shape[0]).tolist()
    result.elbow_k, result.elbow_method = _elbow(curve)
    assert model_table.num_rows == model.centroids.shape[0]
    for seed in range(1, stability + 1):
        other = replace(settings, seed=seed)
        sample, _ = customer_sample(msisdn, values, other.elbow_sample_size, seed)
        result.stability_elbows.append(
            _elbow(elbow_curve_table(sample, model_table, customers, other))[0]
        )
    return result, labels


def run_all(customers: int, settings: ClusterSettings) -> tuple[Result, np.ndarray]:
    """The final k-means on every customer: prepare, scale and fit over all of them."""
    msisdn, values = synthetic_features(customers)
    result = Result(customers, "all", **_settings_fields(settings))
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
            threads=settings.threads,
        )
        t3 = timer()
    result.seconds = {"prepare_features": t1 - t0, "scale": t2 - t1, "kmeans_all": t3 - t2}
    result.seconds_total = t3 - t0
    result.peak_rss_mb = rss.peak_rss / 1e6
    result.extra_rss_mb = (rss.peak_rss - rss.start_rss) / 1e6
    result.fit_customers = customers
    result.inertia = fit.inertia
    result.cluster_sizes = np.bincount(fit.labels, minlength=fit.clusters_used).tolist()
    return result, fit.labels


def _settings_fields(settings: ClusterSettings) -> dict:
    return {
        "k": settings.k,
        "scaler": settings.scaler,
        "n_init": settings.n_init,
        "fit_sample_size": settings.fit_sample_size,
        "elbow_sample_size": settings.elbow_sample_size,
        "elbow_n_init": settings.elbow_n_init,
        "threads": settings.threads,
        "cpus": os.cpu_count() or 0,
    }


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Share of equal cluster ids (ids are ordered by engagement) and the adjusted Rand index."""
    from sklearn.metrics import adjusted_rand_score

    return {
        "same_id_share": float(np.mean(a == b)),
        "adjusted_rand_index": float(adjusted_rand_score(a, b)),
    }


def _mb(result: Result) -> str:
    return f"{result.peak_rss_mb:,.0f} / {result.extra_rss_mb:,.0f}"


def markdown(rows: list[dict]) -> str:
    lines = [
        "| customers | fit sample | stage s | fit model s | elbow s | stage peak / extra MB "
        "| label all (numpy) s | k-means on every customer s | its peak / extra MB "
        "| same cluster id | ARI | elbow k | elbow k on other samples |",
        "|" + " ---: |" * 11 + " --- | --- |",
    ]
    for row in rows:
        stage, full = Result(**row["stage"]), Result(**row["all"])
        agree = row["agreement"]
        lines.append(
            f"| {stage.customers:,} | {stage.fit_customers:,} | {stage.seconds_total:.1f} "
            f"| {stage.seconds['fit_model_on_sample']:.1f} | {stage.seconds['elbow']:.1f} "
            f"| {_mb(stage)} | {stage.seconds['label_all_numpy']:.1f} "
            f"| {full.seconds_total:.1f} | {_mb(full)} "
            f"| {agree['same_id_share']:.2%} | {agree['adjusted_rand_index']:.3f} "
            f"| {stage.elbow_k} ({stage.elbow_method}) | {stage.stability_elbows or '-'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    defaults = ClusterSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--k", type=int, default=defaults.k)
    parser.add_argument("--scaler", default=defaults.scaler)
    parser.add_argument("--n-init", type=int, default=defaults.n_init)
    parser.add_argument("--fit-sample-size", type=int, default=defaults.fit_sample_size)
    parser.add_argument("--elbow-sample-size", type=int, default=defaults.elbow_sample_size)
    parser.add_argument("--elbow-n-init", type=int, default=defaults.elbow_n_init)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--stability", type=int, default=0, help="extra elbow samples")
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--child", choices=["stage", "all"], help=argparse.SUPPRESS)
    parser.add_argument("--labels-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = ClusterSettings(
        k=args.k,
        scaler=args.scaler,
        n_init=args.n_init,
        fit_sample_size=args.fit_sample_size,
        elbow_sample_size=args.elbow_sample_size,
        elbow_n_init=args.elbow_n_init,
        threads=args.threads,
    )
    if args.child:
        if args.child == "stage":
            result, labels = run_stage(args.sizes[0], settings, args.stability)
        else:
            result, labels = run_all(args.sizes[0], settings)
        np.save(args.labels_out, labels)
        print(json.dumps(asdict(result)))
        return 0
    common = ["--k", str(args.k), "--scaler", args.scaler, "--n-init", str(args.n_init)]
    common += ["--fit-sample-size", str(args.fit_sample_size)]
    common += ["--elbow-sample-size", str(args.elbow_sample_size)]
    common += ["--elbow-n-init", str(args.elbow_n_init), "--threads", str(args.threads)]
    common += ["--stability", str(args.stability)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-clustering-") as tmp:
        for size in args.sizes:
            row: dict = {"customers": size}
            labels = {}
            for way in ("stage", "all"):
                out = Path(tmp) / f"{way}-{size}.npy"
                command = [sys.executable, __file__, "--child", way, "--sizes", str(size)]
                command += [*common, "--labels-out", str(out)]
                started = time.perf_counter()
                done = subprocess.run(command, check=True, capture_output=True, text=True)
                result = Result(**json.loads(done.stdout.strip().splitlines()[-1]))
                row[way] = asdict(result)
                labels[way] = np.load(out)
                print(
                    f"{size:>10,} customers, {way:<5}: {result.seconds_total:.1f} s measured "
                    f"({time.perf_counter() - started:.1f} s with data generation), "
                    f"peak RSS {result.peak_rss_mb:.0f} MB ({result.extra_rss_mb:.0f} MB above "
                    "the input), "
                    + ", ".join(f"{name} {sec:.2f}" for name, sec in result.seconds.items()),
                    flush=True,
                )
            row["agreement"] = agreement(labels["stage"], labels["all"])
            rows.append(row)
    text = markdown(rows)
    print()
    print(text)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = json.dumps(rows, indent=2)
    (args.out_dir / f"clustering-{stamp}.json").write_text(report)
    (args.out_dir / "clustering-latest.json").write_text(report)
    (args.out_dir / "clustering-latest.md").write_text(
        "# Clustering stage benchmark (synthetic customers)\n\n"
        f"{time.strftime('%Y-%m-%d %H:%M')}; settings: k={args.k}, scaler={args.scaler}, "
        f"n_init={args.n_init}, fit sample {args.fit_sample_size:,}, elbow sample "
        f"{args.elbow_sample_size:,} (n_init {args.elbow_n_init}), threads={args.threads}. "
        "Stage = features_from_arrow + fit_model (fit sample) + model_to_arrow + elbow "
        "(elbow sample); drawing the samples (SQL) and labelling every customer (SQL in the "
        "build, numpy here) are timed apart. Peak / extra = peak RSS / peak above the RSS "
        "before the measured part.\n\n" + text + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
