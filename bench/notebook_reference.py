"""The notebook approach, as a script: the reference the warehouse is benchmarked against.

What the usual TellCo engagement notebooks do, step by step, in one process:
read the whole file into pandas, group by MSISDN, take the top 10 per metric,
sum each application's traffic per customer, top 10 users per application, top
3 applications, z-score (StandardScaler) + KMeans(k=3, n_init=10) on every
customer, the cluster summary, and the elbow curve k=1..10 (KMeans with
n_init=10 on every customer for each k, as the notebooks do).

Semantics follow the warehouse where the notebooks are vague, so both sides can
be checked against each other: a session is a record (the notebooks count
``Bearer Id``, which skips records without one), duration comes from the
millisecond column (``Dur. (ms).1``), traffic is ``Total DL + Total UL``,
records without an MSISDN belong to no customer (pandas' groupby drops the NaN
key; the export's trailing summary row has no MSISDN either), ties in a top-10
are broken by MSISDN ascending (``nlargest(keep='first')`` on the MSISDN-sorted
groupby result), the top-3 applications rank every session's traffic, with or
without an MSISDN (as ``marts.application_usage`` does).

What the notebook does not do, and the warehouse does: quarantine invalid
records and count exact duplicate records once. The generated benchmark files
have neither, so both sides must agree exactly; ``run_bench.py`` compares the
customer count, the sums of sessions, duration and traffic
(``marts.customer_engagement``), the top-10 lists per metric and per
application (``marts.top_customers_by_engagement``,
``marts.top_users_by_application``) and the top-3 applications
(``marts.application_usage``), and reports the cluster sizes side by side. CSV
input is read with ``pandas.read_csv``, Parquet (the generator's pandas-style
re-export, float64 columns) with ``pandas.read_parquet``.

Usage (from the repository root; run_bench.py calls it as a subprocess):

    .venv/bin/python bench/notebook_reference.py INPUT --out answers.json

After every stage it rewrites ``--out`` (stage timings so far, plus the answers
once they exist), so a run stopped by the benchmark's timeout still says how far
it got.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

APPS = ("Social Media", "Google", "Email", "Youtube", "Netflix", "Gaming", "Other")
METRICS = {"sessions": "sessions", "duration_ms": "duration_ms", "traffic_bytes": "traffic_bytes"}
SEED = 42
TOP_N = 10


class Progress:
    """Stage timings and answers, written to a JSON file after every stage."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.data: dict = {"stages": {}, "completed": False, "running": None}
        self.start = time.perf_counter()

    def stage(self, name: str):  # noqa: ANN201 - a context manager
        progress = self

        class _Stage:
            def __enter__(self) -> None:
                progress.data["running"] = name
                progress.write()
                self.began = time.perf_counter()

            def __exit__(self, exc_type: object, *exc: object) -> None:
                seconds = round(time.perf_counter() - self.began, 3)
                if exc_type is not None:  # the stage failed: say which, keep its time apart
                    progress.data["failed_stage"] = name
                    progress.data["failed_after_s"] = seconds
                    progress.write()
                    return
                progress.data["stages"][name] = seconds
                progress.data["running"] = None
                progress.write()
                print(f"    notebook {name}: {seconds:.1f} s", flush=True)

        return _Stage()

    def write(self) -> None:
        self.data["elapsed_s"] = round(time.perf_counter() - self.start, 3)
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=_json_default))
        os.replace(tmp, self.out)


def _json_default(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(type(value))


def _top(frame, column: str) -> list[list[int]]:  # noqa: ANN001 - pandas DataFrame
    """[[msisdn, value], ...] of the top 10 by ``column``, ties by MSISDN (index order)."""
    top = frame[column].nlargest(TOP_N, keep="first")
    return [[int(msisdn), int(value)] for msisdn, value in top.items()]


def run(path: Path, out: Path, elbow: bool) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    progress = Progress(out)
    answers: dict = {}

    with progress.stage("read file"):
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    progress.data["rows_read"] = len(df)

    with progress.stage("engagement per customer"):
        df["traffic_bytes"] = df["Total DL (Bytes)"] + df["Total UL (Bytes)"]
        engagement = df.groupby("MSISDN/Number").agg(
            sessions=("Start", "size"),
            duration_ms=("Dur. (ms).1", "sum"),
            traffic_bytes=("traffic_bytes", "sum"),
        )

    with progress.stage("top 10 per metric"):
        answers["top_customers"] = {m: _top(engagement, c) for m, c in METRICS.items()}

    with progress.stage("application traffic per customer"):
        app_columns = []
        for app in APPS:
            column = f"{app} total"
            df[column] = df[f"{app} DL (Bytes)"] + df[f"{app} UL (Bytes)"]
            app_columns.append(column)
        app_traffic = df.groupby("MSISDN/Number")[app_columns].sum()

    with progress.stage("top 10 per application and top 3 applications"):
        answers["top_users_by_application"] = {
            app: _top(app_traffic, f"{app} total") for app in APPS
        }
        # every session's traffic, customer or not, as application_usage counts it
        app_totals = df[app_columns].sum().sort_values(ascending=False)
        answers["top_applications"] = [name.removesuffix(" total") for name in app_totals.index[:3]]

    answers["customers"] = len(engagement)
    answers["sessions"] = int(engagement["sessions"].sum())
    answers["duration_ms"] = int(engagement["duration_ms"].astype("int64").sum())
    answers["traffic_bytes"] = int(engagement["traffic_bytes"].astype("int64").sum())
    progress.data["answers"] = answers
    progress.write()

    with progress.stage("scale + k-means k=3"):
        features = engagement[["sessions", "duration_ms", "traffic_bytes"]]
        scaled = StandardScaler().fit_transform(features)
        kmeans = KMeans(n_clusters=3, n_init=10, random_state=SEED).fit(scaled)
        engagement["cluster"] = kmeans.labels_

    with progress.stage("cluster summary"):
        summary = engagement.groupby("cluster")[["sessions", "duration_ms", "traffic_bytes"]].agg(
            ["min", "max", "mean", "sum", "count"]
        )
        answers["cluster_sizes"] = sorted(int(n) for n in summary[("sessions", "count")])
    progress.write()

    if elbow:
        with progress.stage("elbow k=1..10"):
            inertia = []
            for k in range(1, 11):
                model = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(scaled)
                inertia.append(float(model.inertia_))
                progress.data["elbow_k_done"] = k
                progress.write()
            answers["elbow_inertia"] = [round(v, 3) for v in np.asarray(inertia)]
    progress.data["completed"] = True
    progress.write()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="the xDR file (.csv or .parquet)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of timings and answers")
    parser.add_argument("--no-elbow", action="store_true", help="skip the elbow curve")
    args = parser.parse_args(argv)
    run(args.input, args.out, elbow=not args.no_elbow)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
