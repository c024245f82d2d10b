"""Benchmark of an incremental load: one new file added to a built warehouse.

The generated CSV of RECORDS records (default 10M, seed 42) is split into 30
parts of consecutive lines (``data/bench/parts_<size>/part_NN.csv``, each with
the header; the summary row stays at the end of the last part). Then, each run
being ``xdr run --skip-report`` (ingest, dbt build with every data test, publish)
with its outputs under ``data/bench/work/incremental_<size>/``:

a. the input folder holds parts 1..29: the initial build (fresh database);
b. part 30 is added to the folder: the incremental run, which stages only the
   new file (int_records_loaded reads the file versions not loaded yet) and
   publishes a copy of the build's public marts file;
c. nothing changes: a re-run, which finds the published build made from the
   same input, project and settings, and does nothing (``xdr run`` says "up to
   date");
c'. the same re-run with ``--force``: the dbt build (every model and test, which
   stage nothing) and the publish that (c) skips;
d. ``xdr run --skip-report --full-refresh`` over all 30 parts: the full rebuild
   (every file staged again, a full publish) that (b) is compared with.

For each run: wall time and peak RSS, the CLI steps (ingest, dbt build,
publish), the dbt stages, the rows the build staged (``rows_affected`` of
int_records_loaded in run_results.json when the adapter reports it; dbt-duckdb
does not, so otherwise the change of int_records_loaded's row count, or its
count after a full refresh), the records stored, the cluster model in use
(version and why it was fitted) and the publish mode of the published file
(``marts.publish_info.publish_mode``: file or full). The answers of (b)
(customers, sums, top-10 lists, top-3 applications) are checked against (d).

The figures of merit are (b) / (d), target at most 15 %, and (c) / (d), target at
most 10 % (issue #14).

Usage (from the repository root):

    .venv/bin/python bench/bench_incremental.py                 # 10M records
    .venv/bin/python bench/bench_incremental.py --records 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import benchlib  # noqa: E402
from benchlib import BIN, DATA_DIR, RESULTS_DIR, label  # noqa: E402
from run_bench import publish_mode, warehouse_answers  # noqa: E402

PARTS = 30


def split_file(source: Path, parts_dir: Path, parts: int = PARTS) -> list[Path]:
    """Split a generated CSV into ``parts`` files of consecutive lines, each with the header."""
    names = [parts_dir / f"part_{i + 1:02d}.csv" for i in range(parts)]
    if all(p.exists() for p in names):
        return names
    parts_dir.mkdir(parents=True, exist_ok=True)
    print(f"==> splitting {source.name} into {parts} parts under {parts_dir}", flush=True)
    with open(source, "rb") as handle:
        header = handle.readline()
        lines = sum(1 for _ in handle)
    per_part = -(-lines // parts)
    with open(source, "rb") as handle:
        handle.readline()
        for name in names:
            tmp = name.with_suffix(".tmp")
            with open(tmp, "wb") as out:
                out.write(header)
                for _ in range(per_part):
                    line = handle.readline()
                    if not line:
                        break
                    out.write(line)
            os.replace(tmp, name)
    return names


def _link_into(files: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        target = folder / path.name
        if not target.exists():
            os.link(path, target)


def _relation(target: Path, model: str) -> str | None:
    """``schema.table`` of a dbt model in the build database, from dbt's manifest."""
    manifest = json.loads((target / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == model:
            return f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
    return None


def _build_state(work: Path) -> dict:
    """Records stored in int_records_loaded and the cluster model in use (None before a build)."""
    target, build_db = work / "target", work / "build.duckdb"
    state: dict = {"records_stored": None, "cluster_model": None}
    if not build_db.exists() or not (target / "manifest.json").exists():
        return state
    records = _relation(target, "int_records_loaded")
    models = _relation(target, "engagement_cluster_model")
    with duckdb.connect(str(build_db), read_only=True) as con:
        if records:
            with_records = con.sql(f"select count(*) from {records}").fetchall()
            state["records_stored"] = int(with_records[0][0])
        if models:
            latest = con.sql(
                f"select distinct model_version, fit_reason, fitted_at from {models}"
                f" where model_version = (select max(model_version) from {models})"
            ).fetchall()
            if latest:
                version, reason, fitted_at = latest[0]
                state["cluster_model"] = {
                    "version": version,
                    "fit_reason": reason,
                    "fitted_at": str(fitted_at),
                }
    return state


def _run(name: str, work: Path, folder: Path, extra: list[str]) -> dict:
    env = benchlib.warehouse_env(work, folder)
    benchlib.prepare_parse(env)
    before = _build_state(work)
    print(f"==> incremental benchmark: {name}", flush=True)
    measured = benchlib.run_measured(
        [str(BIN / "xdr"), "run", "--skip-report", *extra],
        env=env,
        log_path=work / f"run_{name.split()[0].strip('()')}.log",
    )
    if measured.returncode != 0:
        raise SystemExit(f"{name} failed:\n{measured.stdout[-2000:]}")
    target = Path(env["DBT_TARGET_PATH"])
    skipped = "==> up to date:" in measured.stdout
    dbt = NO_DBT if skipped else benchlib.dbt_stages(target / "run_results.json")
    loaded = next(
        (n for n in dbt["nodes"] if n["node"].split(".")[-1] == "int_records_loaded"),
        {"seconds": None, "rows_affected": None, "status": None},
    )
    after = _build_state(work)
    full_refresh = "--full-refresh" in extra
    if loaded["rows_affected"] is not None:
        staged_rows, staged_how = int(loaded["rows_affected"]), "rows_affected"
    elif after["records_stored"] is None:
        staged_rows, staged_how = None, "unknown"
    elif full_refresh or before["records_stored"] is None:
        staged_rows, staged_how = after["records_stored"], "stored after the run"
    else:
        staged_rows = after["records_stored"] - before["records_stored"]
        staged_how = "change of stored records"
    published = Path(env["XDR_PUBLISHED_DB"])
    model = after["cluster_model"] or {}
    kept = before["cluster_model"] is not None and before["cluster_model"] == model
    return {
        "run": name,
        "build_skipped": skipped,
        "wall_s": round(measured.wall_s, 2),
        "peak_rss_gb": round(measured.peak_rss_gb, 3),
        "cli_steps": benchlib.cli_steps(measured.stdout),
        "dbt_stages": dbt["stages"],
        "dbt_elapsed_s": dbt["dbt_elapsed_s"],
        "records_loaded_s": loaded["seconds"],
        "records_loaded_status": loaded["status"],
        "staged_rows": staged_rows,
        "staged_rows_from": staged_how,
        "records_stored": after["records_stored"],
        "cluster_model": model,
        "cluster_model_kept": kept,
        "publish_mode": publish_mode(published),
        "answers": warehouse_answers(published),
        "load_before": measured.load_before,
        "load_after": measured.load_after,
    }


#: The dbt figures of a run that found nothing to do (no dbt build ran).
NO_DBT: dict = {
    "stages": dict.fromkeys(benchlib.STAGES, 0.0),
    "node_seconds": dict.fromkeys(benchlib.STAGES, 0.0),
    "dbt_elapsed_s": 0.0,
    "nodes": [],
}


def _same_answers(a: dict, b: dict) -> list[str]:
    """Answers (cluster sizes aside: a kept model labels differently) that differ."""
    return sorted(k for k in a.keys() | b.keys() if k != "cluster_sizes" and a.get(k) != b.get(k))


def _cell(value: float | None, unit: str = " s") -> str:
    return "–" if value is None else f"{value:.1f}{unit}"


def measure(records: int, data_dir: Path = DATA_DIR, work_root: Path | None = None) -> dict:
    """Run the four builds and return their figures plus a Markdown table."""
    work_root = work_root or data_dir / "work"
    source = benchlib.ensure_input(records, "csv", data_dir)
    parts = split_file(source, data_dir / f"parts_{label(records)}")
    work = work_root / f"incremental_{label(records)}"
    benchlib.reset_work(work)
    folder = work / "input"
    _link_into(parts[:-1], folder)
    runs = [_run(f"(a) initial build of {PARTS - 1} parts", work, folder, [])]
    _link_into(parts[-1:], folder)
    runs.append(_run(f"(b) add part {PARTS} (1/{PARTS} of the data)", work, folder, []))
    runs.append(_run("(c) re-run, no new file", work, folder, []))
    runs.append(_run("(c') re-run, no new file, --force", work, folder, ["--force"]))
    runs.append(_run(f"(d) full refresh of {PARTS} parts", work, folder, ["--full-refresh"]))
    shutil.rmtree(folder)
    incremental, rerun, full = runs[1], runs[2], runs[4]
    ratio = incremental["wall_s"] / full["wall_s"]
    rerun_ratio = rerun["wall_s"] / full["wall_s"]
    different = _same_answers(incremental["answers"], full["answers"])
    lines = [
        f"{records:,} records in {PARTS} files; each run is `xdr run --skip-report` "
        "(ingest, dbt build with every data test, publish). Staged rows: what the run's "
        "int_records_loaded added (from the change of its row count: dbt-duckdb reports "
        "no rows_affected). dbt stages are wall-clock spans and overlap.",
        "",
        "| run | wall time | ingest | int_records_loaded | rows staged | records stored "
        "| marts | clustering | tests | dbt build | publish (mode) | cluster model | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for run in runs:
        steps, stages, model = run["cli_steps"], run["dbt_stages"], run["cluster_model"]
        model_text = (
            f"v{model.get('version')}, "
            + ("kept" if run["cluster_model_kept"] else f"fitted: {model.get('fit_reason')}")
            if model
            else "–"
        )
        staged = "–" if run["staged_rows"] is None else f"{run['staged_rows']:,}"
        stored = "–" if run["records_stored"] is None else f"{run['records_stored']:,}"
        lines.append(
            f"| {run['run']} | {run['wall_s']:.1f} s | {_cell(steps.get('ingest'))} "
            f"| {_cell(run['records_loaded_s'])} | {staged} | {stored} "
            f"| {_cell(stages['marts'])} | {_cell(stages['clustering'])} "
            f"| {_cell(stages['tests'])} | {_cell(steps.get('dbt build'))} "
            f"| {_cell(steps.get('publish'))} ({run['publish_mode']}) | {model_text} "
            f"| {run['peak_rss_gb']:.2f} GB |"
        )
    lines += [
        "",
        f"Adding 1/{PARTS} of the data took {ratio:.0%} of a full refresh "
        f"({incremental['wall_s']:.1f} s vs {full['wall_s']:.1f} s; target at most 15 %: "
        f"{'met' if ratio <= 0.15 else 'not met'}).",
        f"A re-run with no new file took {rerun_ratio:.0%} of a full refresh "
        f"({rerun['wall_s']:.1f} s; target at most 10 %: "
        f"{'met' if rerun_ratio <= 0.10 else 'not met'}); "
        + ("it found nothing to do." if rerun["build_skipped"] else "it built and published."),
        "Answers after (b) and after (d) (customers, sums, top-10 lists, top-3 applications): "
        + ("the same." if not different else "DIFFERENT: " + ", ".join(different) + "."),
    ]
    return {
        "records": records,
        "parts": PARTS,
        "runs": runs,
        "ratio": round(ratio, 4),
        "target_met": ratio <= 0.15,
        "rerun_ratio": round(rerun_ratio, 4),
        "rerun_target_met": rerun_ratio <= 0.10,
        "incremental_equals_full_refresh": not different,
        "answers_differing": different,
        "markdown": "\n".join(lines),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: DATA_DIR/work")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    result = measure(args.records, args.data_dir, args.work_dir or args.data_dir / "work")
    result["machine"] = benchlib.machine()
    result["started"] = datetime.now().strftime("%Y-%m-%d %H:%M")
    benchlib.write_json(args.out_dir / "incremental-latest.json", result)
    (args.out_dir / "incremental-latest.md").write_text(
        "# Incremental load benchmark\n\n" + result["markdown"] + "\n"
    )
    print(result["markdown"])
    return 0 if result["incremental_equals_full_refresh"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
