"""Benchmark: the warehouse main job against the notebook approach, on the same files.

For each size (default 150k, 1M and 10M records) and each input format
(``--formats``, default ``csv parquet``: both on the same records in one run;
``auto`` = CSV unless the disk cannot hold it) this script

1. generates the input once under ``data/bench/`` (seed 42; reused when present);
2. times DuckDB's plain typed read of the same file (``read_csv`` with type
   detection, or ``read_parquet``, into a table; the same memory limit and
   threads), the reference staging is compared with, in the emptied work folder
   of the run that follows (``--skip-typed-read`` leaves it out);
3. runs the warehouse main job ``xdr run --skip-report`` (ingest, dbt build
   with every test, publish) as a subprocess on a fresh build database (a full
   load), with every output under ``data/bench/work/<size>-<format>/``, and
   takes the per-stage times from the CLI's step lines and dbt's
   ``run_results.json``;
4. runs ``bench/notebook_reference.py`` (pandas + scikit-learn, the notebook
   approach) as a subprocess on the same file, under a time limit
   (``--notebook-timeout``) and a memory cap (``--notebook-memory-cap``, so a
   run that cannot fit fails with MemoryError instead of pushing the machine
   into the OOM killer);
5. samples the RSS of each subprocess tree every 0.2 s (psutil) for the peak;
6. checks that both computed the same answers (customer count, total sessions,
   duration and traffic, the top-10 lists per metric and per application, the
   top-3 applications).

This machine's speed varies from minute to minute (six runs of the 150k job
within five minutes took 17.6-27.4 s), so sizes up to ``--repeat-up-to``
records (default 1M) run steps 3 and 4 ``--repeat`` times (default 3),
alternating warehouse and notebook; the tables show the median run of each side
(by wall time), and a table lists every run.

Results: ``bench/results/latest.md`` (Markdown table with the machine and the
DuckDB settings), ``latest.json`` and ``latest.png``; a copy of each run is
kept as ``bench-<timestamp>.*``. The report of the main job is not included
(``--skip-report``); the notebook side draws no charts either.

Usage (from the repository root; ``make bench`` / ``make bench-100m``):

    .venv/bin/python bench/run_bench.py                          # 150k, 1M, 10M
    .venv/bin/python bench/run_bench.py --sizes 1000000 --formats csv parquet
    .venv/bin/python bench/run_bench.py --sizes 100000000 --formats parquet
    .venv/bin/python bench/run_bench.py --sizes 150000 --skip-notebook
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import benchlib  # noqa: E402
from benchlib import BIN, DATA_DIR, RESULTS_DIR, label  # noqa: E402

DEFAULT_SIZES = (150_000, 1_000_000, 10_000_000)
APPS = ("Social Media", "Google", "Email", "Youtube", "Netflix", "Gaming", "Other")
METRICS = ("sessions", "duration_ms", "traffic_bytes")


# ------------------------------------------------------------------------ warehouse side
def _ranked_lists(
    con: duckdb.DuckDBPyConnection, keys: Sequence[str], key: str, value: str, table: str
) -> dict[str, list[list[int]]]:
    """[msisdn, value] pairs in rank order for each key of a top-N mart."""
    lists: dict[str, list[list[int]]] = {k: [] for k in keys}
    for group, msisdn, amount in con.sql(
        f"select {key}, msisdn, {value} from marts.{table} order by {key}, rank"
    ).fetchall():
        lists[group].append([int(msisdn), int(amount)])
    return lists


def warehouse_answers(published_db: Path) -> dict:
    """The same answers as the notebook reference, read from the published BI file."""
    with duckdb.connect(str(published_db), read_only=True) as con:
        customers, sessions, duration, traffic = con.execute(
            "select count(*), sum(session_count), sum(total_duration_ms),"
            " sum(total_traffic_bytes) from marts.customer_engagement"
        ).fetchall()[0]
        top = _ranked_lists(con, METRICS, "metric", "metric_value", "top_customers_by_engagement")
        apps = _ranked_lists(con, APPS, "application", "total_bytes", "top_users_by_application")
        top_apps = [
            r[0]
            for r in con.sql(
                "select application from marts.application_usage where is_top_application"
                " order by usage_rank"
            ).fetchall()
        ]
        sizes = sorted(
            int(r[0])
            for r in con.sql(
                "select count(*) from marts.customer_clusters group by cluster_id"
            ).fetchall()
        )
    return {
        "customers": int(customers),
        "sessions": int(sessions),
        "duration_ms": int(duration),
        "traffic_bytes": int(traffic),
        "top_customers": top,
        "top_users_by_application": apps,
        "top_applications": top_apps,
        "cluster_sizes": sizes,
    }


def publish_mode(published_db: Path) -> str | None:
    """``full`` or ``incremental``: how the last publish wrote the BI file (publish_info)."""
    with duckdb.connect(str(published_db), read_only=True) as con:
        modes = con.sql("select distinct publish_mode from marts.publish_info").fetchall()
    return ", ".join(sorted(str(m[0]) for m in modes)) or None


def work_folder(work_root: Path, records: int, fmt: str) -> Path:
    return work_root / f"{label(records)}-{fmt}"


def run_warehouse(records: int, path: Path, work: Path, engine: str = "duckdb") -> dict:
    benchlib.reset_work(work)
    env = benchlib.warehouse_env(work, path, XDR_ENGINE=engine)
    if engine == "duckdb":
        benchlib.prepare_parse(env)
    print(f"==> warehouse main job on {engine}, {path.name} (work folder {work})", flush=True)
    measured = benchlib.run_measured(
        [str(BIN / "xdr"), "run", "--skip-report"], env=env, log_path=work / "xdr-run.log"
    )
    result = {
        "ok": measured.returncode == 0,
        "wall_s": round(measured.wall_s, 2),
        "peak_rss_gb": round(measured.peak_rss_gb, 3),
        "load_before": measured.load_before,
        "load_after": measured.load_after,
        "cli_steps": benchlib.cli_steps(measured.stdout),
        "dbt_parse": benchlib.dbt_parse_kind(Path(env["XDR_LOG_DIR"])),
        "rss_trace_gb": [(t, round(rss / 2**30, 3)) for t, rss in measured.rss_trace],
    }
    target = Path(env["DBT_TARGET_PATH"])
    run_results = target / "run_results.json"
    if (target / "manifest.json").exists():
        unknown = benchlib.unknown_stage_models(target / "manifest.json")
        if unknown:
            print(f"    warning: no dbt model named {', '.join(unknown)} (benchlib)", flush=True)
            result["unknown_stage_models"] = unknown
    if run_results.exists():
        dbt = benchlib.dbt_stages(run_results)
        result["dbt"] = {**dbt, "nodes": dbt["nodes"][:25]}
        result["peak_at_s"] = measured.peak_at_s
        steps = result["cli_steps"]
        ingest, build = steps.get("ingest", 0.0), steps.get("dbt build", 0.0)
        result["running_at_peak"] = benchlib.nodes_running_at(
            run_results, measured.started_epoch + measured.peak_at_s
        ) or ["publish" if measured.peak_at_s > ingest + build else "ingest / dbt start-up"]
        in_build = [rss for t, rss in measured.rss_trace if t <= ingest + build + 3]
        result["peak_dbt_build_gb"] = round(max(in_build, default=0) / 2**30, 3)
        stages = dbt["stages"]
        result["stages"] = {
            "ingest": steps.get("ingest"),
            "staging": stages["staging"],
            "marts": stages["marts"],
            "clustering + elbow": stages["clustering"],
            "data tests": stages["tests"],
            "dbt build (wall)": steps.get("dbt build"),
            "dbt start-up": round(max(steps.get("dbt build", 0.0) - dbt["dbt_elapsed_s"], 0.0), 2),
            "publish": steps.get("publish"),
        }
    if result["ok"]:
        published = Path(env["XDR_PUBLISHED_DB"])
        result["answers"] = warehouse_answers(published)
        result["publish_mode"] = publish_mode(published)
        result["disk_bytes"] = sum(f.stat().st_size for f in work.rglob("*") if f.is_file())
    else:
        result["error"] = measured.stdout.strip().splitlines()[-3:]
    return result


# ------------------------------------------------------------------------- notebook side
def _memory_cap(cap_bytes: int):  # noqa: ANN202 - returns a preexec function
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    return apply


def run_notebook(path: Path, work: Path, timeout: float, cap_gb: float) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    out = work / "notebook.json"
    out.unlink(missing_ok=True)
    print(
        f"==> notebook approach on {path.name} (time limit {timeout:.0f} s, "
        f"address-space cap {cap_gb:.0f} GB)",
        flush=True,
    )
    measured = benchlib.run_measured(
        [str(BIN / "python"), str(Path(__file__).parent / "notebook_reference.py"), str(path)]
        + ["--out", str(out)],
        timeout=timeout,
        preexec_fn=_memory_cap(int(cap_gb * 2**30)),
        log_path=work / "notebook.log",
    )
    progress = json.loads(out.read_text()) if out.exists() else {"stages": {}}
    completed = bool(progress.get("completed")) and measured.returncode == 0
    result = {
        "ok": completed,
        "wall_s": round(measured.wall_s, 2),
        "peak_rss_gb": round(measured.peak_rss_gb, 3),
        "load_before": measured.load_before,
        "load_after": measured.load_after,
        "stages": progress.get("stages", {}),
        "timed_out": measured.timed_out,
        "running_at_end": progress.get("running"),
        "elbow_k_done": progress.get("elbow_k_done"),
        "answers": progress.get("answers"),
        "rss_trace_gb": [(t, round(rss / 2**30, 3)) for t, rss in measured.rss_trace],
    }
    if not completed:
        if measured.timed_out:
            result["failure"] = (
                f"stopped at the {timeout:.0f} s time limit during "
                f"'{progress.get('running')}'"
                + (
                    f" (elbow done up to k={progress['elbow_k_done']})"
                    if progress.get("elbow_k_done")
                    else ""
                )
            )
        else:
            tail = [line for line in measured.stdout.strip().splitlines() if line.strip()]
            last = tail[-1] if tail else f"exit code {measured.returncode}"
            stage = progress.get("failed_stage") or progress.get("running")
            result["failure"] = f"failed during '{stage}': {last[:200]}"
    # The notebook's time without the elbow: the warehouse fits its elbow on a sample.
    no_elbow = [v for k, v in result["stages"].items() if not k.startswith("elbow")]
    result["wall_without_elbow_s"] = (
        round(sum(no_elbow), 2) if "cluster summary" in result["stages"] else None
    )
    return result


# ---------------------------------------------------------------------------- comparison
def compare(warehouse: dict | None, notebook: dict | None) -> dict:
    """Which answers agree; the check passes when every compared answer is equal."""
    if not warehouse or not notebook:
        return {"status": "not compared (one side has no answers)", "passed": None}
    checks = {}
    for key in ("customers", "sessions", "duration_ms", "traffic_bytes"):
        checks[key] = warehouse[key] == notebook[key]
    for metric in METRICS:
        checks[f"top10 {metric}"] = (
            warehouse["top_customers"][metric] == notebook["top_customers"][metric]
        )
    for app in APPS:
        checks[f"top10 {app}"] = (
            warehouse["top_users_by_application"][app] == notebook["top_users_by_application"][app]
        )
    checks["top3 applications"] = warehouse["top_applications"] == notebook["top_applications"]
    failed = [k for k, ok in checks.items() if not ok]
    return {
        "passed": not failed,
        "status": "same answers" if not failed else "DIFFERENT: " + ", ".join(failed),
        "checks": checks,
        "cluster_sizes": {
            "warehouse": warehouse.get("cluster_sizes"),
            "notebook": notebook.get("cluster_sizes"),
        },
    }


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (the lower one of an even count); a failed run
    if any failed, so that a failure is never hidden by the runs that passed."""
    failed = [run for run in runs if not run.get("ok")]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda run: run["wall_s"])
    return ordered[(len(ordered) - 1) // 2]


def repeated_runs(wh_runs: list[dict], nb_runs: list[dict]) -> dict | None:
    """Every run's wall time when a size ran more than once (None otherwise)."""
    if max(len(wh_runs), len(nb_runs)) < 2:
        return None
    return {
        "warehouse_s": [run["wall_s"] for run in wh_runs],
        "notebook_s": [run["wall_s"] for run in nb_runs],
        "warehouse_ok": all(run.get("ok") for run in wh_runs),
        "notebook_ok": all(run.get("ok") for run in nb_runs),
    }


# ------------------------------------------------------------------------------- report
def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:,.1f} s" if seconds < 600 else f"{seconds / 60:,.1f} min"


def _if_ok(run: dict, key: str) -> float | None:
    """A figure of a run that finished (None for a failed or missing run)."""
    return run.get(key) if run.get("ok") else None


def _ratio(a: float | None, b: float | None, lower_bound: bool = False) -> str:
    if not a or not b:
        return "–"
    ratio = a / b
    text = f"{ratio:.2f}" if ratio < 10 else f"{ratio:.0f}"
    return ("≤ " if lower_bound else "") + text


def markdown(results: dict) -> str:
    m = results["machine"]
    s = m["duckdb_settings"]
    lines = [
        f"# Benchmark: warehouse main job vs the notebook approach ({results['started']})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
        f"Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
        f"DuckDB settings (xdr settings, dbt target {s['dbt_target']}): "
        f"memory_limit={s['memory_limit']}, threads={s['threads']}, "
        f"preserve_insertion_order={s['preserve_insertion_order']}, "
        f"temp_directory={s['temp_directory']}; dbt threads={s['dbt_threads']}.",
        "",
        "Warehouse = `xdr run --skip-report` on a fresh build database: ingest (check and "
        "land the input), dbt build (staging, marts, cluster model on the fit sample + "
        "labels in SQL + elbow on its sample, every data test; the unit tests run in "
        "`make test`, not in the job), publish (BI "
        "file + Parquet exports); the report is not included. Notebook = "
        "`bench/notebook_reference.py` (pandas read of the whole file, groupby, top-10s, "
        "StandardScaler + KMeans k=3 n_init=10, elbow k=1..10 with n_init=10 on every "
        "customer). Peak memory = RSS of the whole process tree, sampled every 0.2 s. "
        "dbt's saved parse of the project (target/partial_parse.msgpack) is kept from "
        "an earlier run, as in a deployed warehouse whose target folder persists between "
        "daily runs (dbt parse per run: "
        + ", ".join(
            sorted(
                {
                    (size.get("warehouse") or {}).get("dbt_parse", "unknown")
                    for size in results["sizes"]
                }
            )
        )
        + "; a full parse adds about 4 s).",
        "",
        "| records | input | warehouse | notebook | time ratio (wh/nb) | notebook w/o elbow "
        "| ratio (wh/nb w/o elbow) | warehouse peak | notebook peak | memory ratio "
        "| same answers |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size in results["sizes"]:
        wh, nb = size.get("warehouse") or {}, size.get("notebook") or {}
        nb_ok = nb.get("ok")
        if not nb:
            nb_time, nb_peak = "not run", "–"
        elif nb_ok:
            nb_time, nb_peak = _fmt_s(nb["wall_s"]), f"{nb['peak_rss_gb']:.2f} GB"
        elif nb.get("timed_out"):
            nb_time = f"did not finish (> {_fmt_s(nb['wall_s'])})"
            nb_peak = f"≥ {nb['peak_rss_gb']:.2f} GB"
        else:  # it failed (out of memory): no ratio to give
            nb_time = f"failed after {_fmt_s(nb['wall_s'])}"
            nb_peak = f"≥ {nb['peak_rss_gb']:.2f} GB"
        # a notebook stopped by the time limit gives a bound; one that failed gives none
        nb_wall = nb.get("wall_s") if nb_ok or nb.get("timed_out") else None
        nb_mem = nb.get("peak_rss_gb") if nb_ok or nb.get("timed_out") else None
        wh_time = _fmt_s(wh.get("wall_s")) if wh.get("ok") else "failed"
        wh_wall = _if_ok(wh, "wall_s")
        wh_peak = _if_ok(wh, "peak_rss_gb")
        lines.append(
            f"| {size['records']:,} | {size['input']} ({size['input_gb']:.2f} GB) | {wh_time} "
            f"| {nb_time} | {_ratio(wh_wall, nb_wall, not nb_ok)} "
            f"| {_fmt_s(nb.get('wall_without_elbow_s'))} "
            f"| {_ratio(wh_wall, nb.get('wall_without_elbow_s'))} "
            f"| {wh.get('peak_rss_gb', 0):.2f} GB | {nb_peak} "
            f"| {_ratio(wh_peak, nb_mem, not nb_ok)} "
            f"| {size['check']['status']} |"
        )
    lines += repeats_markdown(results)
    if str(s.get("dbt_threads")) == "1":
        overlap = "dbt runs one node at a time"
    else:
        overlap = (
            f"dbt runs {s.get('dbt_threads')} nodes at once, so tests overlap the models and "
            "the dbt stages add up to more than the dbt build (wall)"
        )
    lines += [
        "",
        "Warehouse stages (seconds). dbt stages are wall-clock spans from run_results.json; "
        f"{overlap}; the dbt build (wall) includes dbt's start-up (parsing).",
        "",
    ]
    stage_names = [
        "ingest",
        "staging",
        "marts",
        "clustering + elbow",
        "data tests",
        "dbt build (wall)",
        "dbt start-up",
        "publish",
    ]
    lines.append("| records | format | " + " | ".join(stage_names) + " | total |")
    lines.append("| ---: | --- |" + " ---: |" * (len(stage_names) + 1))
    for size in results["sizes"]:
        stages = (size.get("warehouse") or {}).get("stages") or {}
        cells = [f"{stages[n]:.1f}" if stages.get(n) is not None else "–" for n in stage_names]
        lines.append(
            f"| {size['records']:,} | {size['format']} | "
            + " | ".join(cells)
            + f" | {(size.get('warehouse') or {}).get('wall_s', 0):.1f} |"
        )
    lines += typed_read_markdown(results)
    nb_names: list[str] = []
    for size in results["sizes"]:
        for name in (size.get("notebook") or {}).get("stages") or {}:
            if name not in nb_names:
                nb_names.append(name)
    if any(size.get("notebook") for size in results["sizes"]):
        lines += ["", "Notebook stages (seconds):", ""]
        lines.append("| records | format | " + "".join(f"{n} | " for n in nb_names) + "note |")
        lines.append("| ---: | --- |" + " ---: |" * len(nb_names) + " --- |")
        for size in results["sizes"]:
            nb = size.get("notebook") or {}
            stages = nb.get("stages") or {}
            cells = [f"{stages[n]:.1f}" if n in stages else "–" for n in nb_names]
            lines.append(
                f"| {size['records']:,} | {size['format']} | "
                + "".join(f"{c} | " for c in cells)
                + f"{nb.get('failure', '')} |"
            )
    lines += ["", "Warehouse peak memory: when it happened.", ""]
    for size in results["sizes"]:
        wh = size.get("warehouse") or {}
        if wh.get("running_at_peak"):
            lines.append(
                f"- {size['records']:,} {size['format']}: {wh['peak_rss_gb']:.2f} GB at "
                f"{wh['peak_at_s']:.0f} s, "
                f"during {', '.join(wh['running_at_peak'])}; peak during the dbt build "
                f"{wh.get('peak_dbt_build_gb', 0):.2f} GB"
            )
    lines += ["", "Load average (1 min) before/after each run:", ""]
    for size in results["sizes"]:
        parts = []
        for side in ("warehouse", "notebook"):
            run = size.get(side)
            if run:
                parts.append(f"{side} {run['load_before'][0]:.1f} → {run['load_after'][0]:.1f}")
        lines.append(f"- {size['records']:,} {size['format']}: " + "; ".join(parts))
    lines += spark_markdown(results)
    if results.get("incremental"):
        inc = results["incremental"]
        lines += ["", "## Incremental load", "", inc["markdown"]]
    return "\n".join(lines) + "\n"


def repeats_markdown(results: dict) -> list[str]:
    """Every run of the sizes that ran more than once, in the order they ran."""
    repeated = [size for size in results["sizes"] if size.get("repeats")]
    if not repeated:
        return []
    lines = [
        "",
        "Sizes run more than once, warehouse and notebook alternating (this machine's speed "
        "varies from minute to minute): the table above shows the median run of each side.",
        "",
        "| records | format | warehouse runs | notebook runs | ratio of the medians "
        "| ratio range (run i / run i) |",
        "| ---: | --- | --- | --- | ---: | --- |",
    ]
    for size in repeated:
        rep = size["repeats"]
        wh, nb = rep["warehouse_s"], rep["notebook_s"]
        pairs = [w / n for w, n in zip(wh, nb, strict=False) if n]
        span = f"{min(pairs):.2f}-{max(pairs):.2f}" if pairs else "–"
        medians = _ratio(
            _if_ok(size.get("warehouse") or {}, "wall_s"),
            _if_ok(size.get("notebook") or {}, "wall_s"),
        )
        lines.append(
            f"| {size['records']:,} | {size['format']} "
            f"| {', '.join(f'{w:.1f}' for w in wh)} s "
            f"| {', '.join(f'{n:.1f}' for n in nb)} s | {medians} | {span} |"
        )
    return lines


def typed_read_markdown(results: dict) -> list[str]:
    """Staging against DuckDB's plain typed read of the same file (issue #16: within 3x)."""
    sized = [s for s in results["sizes"] if s.get("typed_read")]
    if not sized:
        return []
    lines = [
        "",
        "Staging against DuckDB's plain typed read of the same file (`create table as "
        "select * from read_csv(file)` or `read_parquet`, type detection on, the same "
        "memory limit and threads): the warehouse reads every field as text and casts it "
        "strictly, hashes each record and quarantines bad values. Target: within 3x.",
        "",
        "| records | format | typed read | staging | ratio | ingest + staging | ratio |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sized:
        if size["typed_read"].get("skipped"):
            lines.append(
                f"| {size['records']:,} | {size['format']} | not measured: "
                f"{size['typed_read']['skipped']} | | | | |"
            )
            continue
        read = size["typed_read"]["seconds"]
        stages = (size.get("warehouse") or {}).get("stages") or {}
        staging = stages.get("staging")
        loading = staging + (stages.get("ingest") or 0.0) if staging is not None else None
        lines.append(
            f"| {size['records']:,} | {size['format']} | {_fmt_s(read)} | {_fmt_s(staging)} "
            f"| {_ratio(staging, read)} | {_fmt_s(loading)} | {_ratio(loading, read)} |"
        )
    return lines


def spark_markdown(results: dict) -> list[str]:
    """The Spark runs beside DuckDB's and the notebook's on the same files (if any)."""
    sized = [s for s in results["sizes"] if s.get("spark")]
    if not sized:
        return []
    lines = [
        "",
        "## Spark",
        "",
        "Spark = the same `xdr run --skip-report` with `XDR_ENGINE=spark` (dbt-spark, "
        "`method: session`, `local[2]` on the same 2 cores; every Spark build is a full "
        "build), on the same file; answers compared with the DuckDB run's. Peak memory "
        "includes Spark's JVM.",
        "",
        "| records | input | Spark | DuckDB | notebook | Spark / DuckDB | Spark / notebook "
        "| Spark peak | DuckDB peak | same answers as DuckDB |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size in sized:
        sp, wh, nb = size["spark"], size.get("warehouse") or {}, size.get("notebook") or {}
        sp_wall = _if_ok(sp, "wall_s")
        wh_wall = _if_ok(wh, "wall_s")
        nb_wall = _if_ok(nb, "wall_s")
        lines.append(
            f"| {size['records']:,} | {size['input']} "
            f"| {_fmt_s(sp_wall) if sp.get('ok') else 'failed'} | {_fmt_s(wh_wall)} "
            f"| {_fmt_s(nb_wall)} | {_ratio(sp_wall, wh_wall)} | {_ratio(sp_wall, nb_wall)} "
            f"| {sp.get('peak_rss_gb', 0):.2f} GB | {wh.get('peak_rss_gb', 0):.2f} GB "
            f"| {(size.get('spark_check') or {}).get('status', '–')} |"
        )
    for size in sized:
        if not size["spark"].get("ok"):
            error = " / ".join(size["spark"].get("error") or [])
            lines.append(f"\nSpark on {size['records']:,} {size['format']} failed: {error}")
    return lines


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    formats = {s["format"] for s in sizes}
    names = [label(s["records"]) + (f"\n{s['format']}" if len(formats) > 1 else "") for s in sizes]
    x = range(len(sizes))
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, unit in (
        (ax_t, "wall_s", "wall time (s)"),
        (ax_m, "peak_rss_gb", "peak RSS (GB)"),
    ):
        wh = [(s.get("warehouse") or {}).get(key) or 0 for s in sizes]
        nb = [(s.get("notebook") or {}).get(key) or 0 for s in sizes]
        ax.bar([i - 0.2 for i in x], wh, width=0.4, label="warehouse (xdr run)", color="#2b6cb0")
        bars = ax.bar([i + 0.2 for i in x], nb, width=0.4, label="notebook", color="#dd6b20")
        for i, s in enumerate(sizes):
            run = s.get("notebook")
            if run is None:
                ax.text(i + 0.2, 0, "not run", ha="center", va="bottom", fontsize=8, rotation=90)
            elif not run.get("ok"):
                bars[i].set_hatch("//")
                ax.text(i + 0.2, nb[i], "did not\nfinish", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(x), names)
        ax.set_xlabel("records")
        ax.set_ylabel(unit)
        ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    ax_t.set_title("Wall time (log scale)")
    ax_m.set_title("Peak memory of the process tree (log scale)")
    ax_t.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"{results['machine']['cpu']}, {results['machine']['cores']} cores", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save(results: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["started"].replace(":", "").replace("-", "").replace(" ", "-")
    benchlib.write_json(out_dir / "latest.json", results)
    benchlib.write_json(out_dir / f"bench-{stamp}.json", results)
    text = markdown(results)
    (out_dir / "latest.md").write_text(text)
    (out_dir / f"bench-{stamp}.md").write_text(text)
    if results["sizes"]:
        chart(results, out_dir / "latest.png")


def choose_format(records: int, fmt: str, data_dir: Path) -> str:
    """``auto`` = csv unless the disk cannot hold the CSV and the run (then parquet)."""
    if fmt != "auto":
        return fmt
    need = records * (benchlib.CSV_BYTES_PER_RECORD + benchlib.WORK_BYTES_PER_RECORD)
    existing = data_dir / f"xdr_{label(records)}.csv"
    if existing.exists() or benchlib.free_bytes(data_dir) > need:
        return "csv"
    print(f"    not enough disk for {label(records)} as CSV: using Parquet", flush=True)
    return "parquet"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument(
        "--formats",
        "--format",
        nargs="+",
        choices=["csv", "parquet", "auto"],
        default=["csv", "parquet"],
        help="input formats, each measured on the same records (default: csv parquet); "
        "auto = csv unless the disk cannot hold it (then parquet)",
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: DATA_DIR/work")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=["duckdb", "spark"],
        default=["duckdb"],
        help="warehouse engines to measure on each file (spark: local[2], a full build)",
    )
    parser.add_argument("--skip-notebook", action="store_true")
    parser.add_argument(
        "--skip-typed-read",
        action="store_true",
        help="do not time DuckDB's plain typed read of each file (staging's reference)",
    )
    parser.add_argument(
        "--notebook-timeout", type=float, default=1800, help="seconds (default 30 min)"
    )
    parser.add_argument(
        "--notebook-memory-cap",
        type=float,
        default=None,
        help="GB of address space for the notebook process (default: RAM - 4 GB)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the warehouse and of the notebook, alternating, for sizes up to "
        "--repeat-up-to records; the tables show the median run (default 3)",
    )
    parser.add_argument(
        "--repeat-up-to",
        type=int,
        default=1_000_000,
        metavar="RECORDS",
        help="largest size that is run --repeat times (default 1000000)",
    )
    parser.add_argument(
        "--incremental",
        type=int,
        default=None,
        metavar="RECORDS",
        help="also measure adding 1/30 of RECORDS to a built warehouse (bench_incremental.py)",
    )
    args = parser.parse_args(argv)
    work_root = args.work_dir or args.data_dir / "work"
    machine = benchlib.machine()
    cap = args.notebook_memory_cap or max(machine["ram_gb"] - 4, 2)
    if "XDR_TEMP_DIR" not in os.environ:
        machine["duckdb_settings"]["temp_directory"] = f"{work_root}/<size>-<format>/tmp"
    results = {
        "started": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine,
        "notebook_memory_cap_gb": cap,
        "notebook_timeout_s": args.notebook_timeout,
        "sizes": [],
    }
    for records in args.sizes:
        formats = dict.fromkeys(choose_format(records, f, args.data_dir) for f in args.formats)
        for fmt in formats:
            path = benchlib.ensure_input(records, fmt, args.data_dir)
            work = work_folder(work_root, records, fmt)
            size = {
                "records": records,
                "input": path.name,
                "input_gb": path.stat().st_size / 1e9,
                "format": fmt,
            }
            if "duckdb" in args.engines and not args.skip_typed_read:
                # before the warehouse run, in its emptied work folder: the disk
                # then holds one of the two at a time (at 100M, 20 GB each)
                benchlib.reset_work(work)
                size["typed_read"] = benchlib.typed_read(path, work, records)
            repeats = args.repeat if records <= args.repeat_up_to else 1
            wh_runs: list[dict] = []
            nb_runs: list[dict] = []
            for _ in range(repeats):  # alternating, so a slow spell hits both sides
                if "duckdb" in args.engines:
                    wh_runs.append(run_warehouse(records, path, work))
                if not args.skip_notebook:
                    work.mkdir(parents=True, exist_ok=True)
                    nb_runs.append(run_notebook(path, work, args.notebook_timeout, cap))
            if wh_runs:
                size["warehouse"] = median_run(wh_runs)
            if nb_runs:
                size["notebook"] = median_run(nb_runs)
            repeats_seen = repeated_runs(wh_runs, nb_runs)
            if repeats_seen:
                size["repeats"] = repeats_seen
            if "spark" in args.engines:
                spark_work = work.with_name(work.name + "-spark")
                size["spark"] = run_warehouse(records, path, spark_work, engine="spark")
                size["spark_check"] = compare(
                    size["spark"].get("answers"), (size.get("warehouse") or {}).get("answers")
                )
                print(f"==> {records:,} {fmt}: Spark: {size['spark_check']['status']}", flush=True)
            size["check"] = compare(
                (size.get("warehouse") or {}).get("answers"),
                (size.get("notebook") or {}).get("answers"),
            )
            print(f"==> {records:,} {fmt}: check: {size['check']['status']}", flush=True)
            results["sizes"].append(size)
            save(results, args.out_dir)
    if args.incremental:
        import bench_incremental

        results["incremental"] = bench_incremental.measure(
            args.incremental, args.data_dir, work_root
        )
        save(results, args.out_dir)
    results["finished"] = datetime.now().strftime("%Y-%m-%d %H:%M")
    save(results, args.out_dir)
    print((args.out_dir / "latest.md").read_text())
    checks = [s[key] for s in results["sizes"] for key in ("check", "spark_check") if key in s]
    return 0 if all(c["passed"] is not False for c in checks) else 1


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"==> benchmark finished in {time.perf_counter() - started:.0f} s")
    raise SystemExit(code)
