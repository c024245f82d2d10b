"""Benchmark of an incremental load: one new file added to a built warehouse.

The generated file of RECORDS records (default 10M, seed 42) is split into 30
parts of consecutive lines (``data/bench/parts_<size>/part_NN.csv``, each with
the header; the summary row stays at the end of the last part). Then, each run
being ``xdr run --skip-report`` (input check, dbt build with every test,
publish) with its outputs under ``data/bench/work/incremental_<size>/``:

1. the input folder holds parts 1..29: a full build (fresh database);
2. part 30 is added: the incremental run, which reads only the new file;
3. nothing changes: a re-run, which reads no file;
4. ``--full-refresh`` over all 30 parts: the full rebuild it is compared with.

The figure of merit is (2) / (4): the issue asks for under 20 %.

Usage (from the repository root):

    .venv/bin/python bench/bench_incremental.py                 # 10M records
    .venv/bin/python bench/bench_incremental.py --records 1000000
"""

from __future__ import annotations

import argparse
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


def _run(name: str, work: Path, folder: Path, extra: list[str]) -> dict:
    env = benchlib.warehouse_env(work, folder)
    print(f"==> incremental benchmark: {name}", flush=True)
    measured = benchlib.run_measured(
        [str(BIN / "xdr"), "run", "--skip-report", *extra],
        env=env,
        log_path=work / f"{name.split()[0]}.log",
    )
    if measured.returncode != 0:
        raise SystemExit(f"{name} failed:\n{measured.stdout[-2000:]}")
    dbt = benchlib.dbt_stages(work / "target" / "run_results.json")
    staged = next(
        (n for n in dbt["nodes"] if n["node"].endswith("stg_xdr__records")),
        {"seconds": None, "rows_affected": None},
    )
    with duckdb.connect(str(work / "build.duckdb"), read_only=True) as con:
        (staged_rows,) = con.execute("select count(*) from staging.stg_xdr__records").fetchall()[0]
    return {
        "run": name,
        "wall_s": round(measured.wall_s, 2),
        "peak_rss_gb": round(measured.peak_rss_gb, 3),
        "cli_steps": benchlib.cli_steps(measured.stdout),
        "dbt_stages": dbt["stages"],
        "staging_s": staged["seconds"],
        "staged_rows": int(staged_rows),
        "load_before": measured.load_before,
        "load_after": measured.load_after,
    }


def measure(records: int, data_dir: Path = DATA_DIR, work_root: Path | None = None) -> dict:
    """Run the four builds and return their figures plus a Markdown table."""
    work_root = work_root or data_dir / "work"
    source = benchlib.ensure_input(records, "csv", data_dir)
    parts = split_file(source, data_dir / f"parts_{label(records)}")
    work = work_root / f"incremental_{label(records)}"
    benchlib.reset_work(work)
    folder = work / "input"
    _link_into(parts[:-1], folder)
    runs = [_run(f"initial build of {PARTS - 1} parts", work, folder, [])]
    _link_into(parts[-1:], folder)
    runs.append(_run("add 1 part (1/30 of the data)", work, folder, []))
    runs.append(_run("re-run, no new file", work, folder, []))
    runs.append(_run(f"full rebuild of {PARTS} parts", work, folder, ["--full-refresh"]))
    shutil.rmtree(folder)
    incremental, full = runs[1], runs[3]
    ratio = incremental["wall_s"] / full["wall_s"]
    lines = [
        f"{records:,} records in {PARTS} files; each run is `xdr run --skip-report` "
        "(input check, dbt build with every test, publish).",
        "",
        "| run | wall time | staging (stg_xdr__records) | staged rows after the run "
        "| dbt tests | publish | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        lines.append(
            f"| {run['run']} | {run['wall_s']:.1f} s | {run['staging_s'] or 0:.1f} s "
            f"| {run['staged_rows']:,} "
            f"| {run['dbt_stages']['tests']:.1f} s | {run['cli_steps'].get('publish', 0):.1f} s "
            f"| {run['peak_rss_gb']:.2f} GB |"
        )
    lines += [
        "",
        f"Adding 1/30 of the data took {ratio:.0%} of a full rebuild "
        f"({incremental['wall_s']:.1f} s vs {full['wall_s']:.1f} s; target < 20 %).",
    ]
    return {
        "records": records,
        "parts": PARTS,
        "runs": runs,
        "ratio": round(ratio, 4),
        "target_met": ratio < 0.20,
        "markdown": "\n".join(lines),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--work-dir", type=Path, default=DATA_DIR / "work")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    result = measure(args.records, args.data_dir, args.work_dir)
    result["machine"] = benchlib.machine()
    result["started"] = datetime.now().strftime("%Y-%m-%d %H:%M")
    benchlib.write_json(args.out_dir / "incremental-latest.json", result)
    (args.out_dir / "incremental-latest.md").write_text(
        "# Incremental load benchmark\n\n" + result["markdown"] + "\n"
    )
    print(result["markdown"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
