"""The ``xdr`` command: the main job and its steps.

``xdr run`` is what ``make run`` calls: it makes sure there is input (generating
the default 150,000-record file when XDR_PATH is not set), checks the input
files, runs ``dbt build`` in-process, publishes the BI file and writes the
report. Every step prints its name and duration. A failure prints one line
that says what went wrong and what to do, exits non-zero and keeps the full
detail in ``logs/xdr.log``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TextIO, TypeVar

from xdr_warehouse.diskspace import disk_warning
from xdr_warehouse.ingest import XdrInputError, inspect_inputs
from xdr_warehouse.publish import DEFAULT_BUILD_DB

DEFAULT_RECORDS = 150_000
DEFAULT_SEED = 42
DEFAULT_INPUT = Path("data") / "generated" / "xdr_150k.csv"
LOG_FILE = Path("logs") / "xdr.log"

log = logging.getLogger("xdr_warehouse")
T = TypeVar("T")


class JobError(RuntimeError):
    """A step of the main job failed; the message is the one line to show."""


@contextmanager
def step(name: str) -> Iterator[None]:
    """Print a step's name, then its duration when it ends."""
    print(f"==> {name} ...", flush=True)
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    print(f"    {name}: done in {seconds:.1f} s", flush=True)
    log.info("%s: %.1f s", name, seconds)


def setup_logging() -> None:
    """Send the full detail of every run to logs/xdr.log."""
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(LOG_FILE)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def ensure_default_input(records: int, seed: int) -> Path:
    """Return the default input file, generating it first when it is missing."""
    from xdr_warehouse.generate import generate_xdr

    path = (
        DEFAULT_INPUT
        if records == DEFAULT_RECORDS
        else DEFAULT_INPUT.with_name(f"xdr_{records}.csv")
    )
    if not path.exists():
        with step(f"generate {records:,} xDR records into {path}"):
            path.parent.mkdir(parents=True, exist_ok=True)
            generate_xdr(path, records, seed=seed)
    return path


def lock_error_in(text: str) -> str | None:
    """A one-line explanation when DuckDB could not lock a database file."""
    match = re.search(r'Could not set lock on file "([^"]+)".*?PID (\d+)', text, re.S)
    if match:
        return (
            f"{match.group(1)} is in use by another process (PID {match.group(2)}); "
            "close that process (a BI tool or a duckdb shell on the build database) and run again"
        )
    return None


def dbt_failure_summary(result: object) -> str:
    """Name the dbt nodes that failed (models that errored, tests that failed)."""
    failures = []
    for node_result in getattr(getattr(result, "result", None), "results", None) or []:
        status = str(getattr(node_result, "status", "")).lower()
        if status in {"error", "fail", "runtime error"}:
            node = node_result.node
            kind = node.resource_type.value if hasattr(node, "resource_type") else "node"
            message = (getattr(node_result, "message", "") or "").strip().splitlines()
            detail = message[-1] if message else status
            failures.append(f"{kind} {node.name}: {detail}")
    if failures:
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        return "; ".join(failures[:3]) + more
    exception = getattr(result, "exception", None)
    if exception is not None:
        return lock_error_in(str(exception)) or str(exception).strip().splitlines()[-1]
    return "see logs/xdr.log"


def input_error_in(result: object) -> str | None:
    """The one-line input error raised inside stg_xdr__files, if that is what failed."""
    for node_result in getattr(getattr(result, "result", None), "results", None) or []:
        message = getattr(node_result, "message", "") or ""
        marker = "XdrInputError: "
        if marker in message:
            return message.split(marker, 1)[1].strip().splitlines()[0]
    return None


class DbtProgress:
    """A dbtRunner callback: one line per model as it finishes, tests counted.

    dbt's own console output (with Python tracebacks on errors) goes to
    logs/dbt.log only; the user sees this compact progress and one error line.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tests: dict[str, int] = {}

    def __call__(self, event: object) -> None:
        if event.info.name != "NodeFinished":
            return
        node = event.data.node_info
        status = str(node.node_status)
        if node.resource_type == "test" or node.resource_type == "unit_test":
            self.tests[status] = self.tests.get(status, 0) + 1
            if status not in {"pass", "success"}:
                print(
                    f"    {status.upper():<7} {node.resource_type} {node.node_name}",
                    file=self.out,
                    flush=True,
                )
            return
        seconds = _elapsed(node.node_started_at, node.node_finished_at)
        print(
            f"    {status.upper():<7} {node.resource_type} {node.node_name} ({seconds:.1f} s)",
            file=self.out,
            flush=True,
        )

    def summary(self) -> str:
        return ", ".join(f"{n} {status}" for status, n in sorted(self.tests.items())) or "none"


def _elapsed(started: str, finished: str) -> float:
    from datetime import datetime

    try:
        return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except (TypeError, ValueError):
        return 0.0


def run_dbt(args: list[str]) -> object:
    """Run a dbt command in-process from the repository root; raise JobError on failure."""
    from dbt.cli.main import dbtRunner

    progress = DbtProgress(sys.stdout)
    # dbt's console output (tracebacks included) goes to the log file only.
    with (
        open(LOG_FILE, "a") as dbt_console,
        redirect_stdout(dbt_console),
        redirect_stderr(dbt_console),
    ):
        result = dbtRunner(callbacks=[progress]).invoke(args)
    print(f"    tests and unit tests: {progress.summary()}", flush=True)
    log.info("dbt %s -> success=%s", " ".join(args), result.success)
    if not result.success:
        for node_result in getattr(getattr(result, "result", None), "results", None) or []:
            log.info("  %s: %s %s", node_result.node.name, node_result.status, node_result.message)
        input_error = input_error_in(result)
        if input_error:
            raise JobError(input_error)
        lock_error = lock_error_in(str(getattr(result, "exception", "")))
        if lock_error:
            raise JobError(lock_error)
        published = os.environ.get("XDR_PUBLISHED_DB", "warehouse/engagement.duckdb")
        raise JobError(
            f"dbt {args[0]} failed: {dbt_failure_summary(result)}; "
            f"nothing was published ({published} is unchanged)"
        )
    return result


def call(fn: Callable[[], T]) -> T:
    """Run a step function, turning expected errors into one-line JobErrors."""
    from xdr_warehouse.publish import PublishError
    from xdr_warehouse.report import ReportError

    try:
        return fn()
    except (XdrInputError, JobError, PublishError, ReportError) as err:
        raise JobError(str(err)) from err


def cmd_run(args: argparse.Namespace) -> None:
    """The main job: input, checks, dbt build, publish, report."""
    if os.environ.get("XDR_PATH"):
        xdr_path = os.environ["XDR_PATH"]
    else:
        xdr_path = str(ensure_default_input(args.records, args.seed))
        os.environ["XDR_PATH"] = xdr_path
    build_db = Path(os.environ.get("XDR_BUILD_DB") or DEFAULT_BUILD_DB)
    with step(f"check input {xdr_path}"):
        files = call(lambda: inspect_inputs(xdr_path))
        print(f"    {len(files)} file(s), {sum(f.size_bytes for f in files) / 1e6:,.1f} MB")
        warning = disk_warning(files, build_db)
        if warning:
            print(f"    {warning}", flush=True)
            log.warning(warning)
    build_db.parent.mkdir(parents=True, exist_ok=True)
    dbt_args = ["build"] + (["--full-refresh"] if args.full_refresh else [])
    with step("dbt build (models and tests)"):
        call(lambda: run_dbt(dbt_args))
    for name, fn in post_build_steps(args):
        with step(name):
            call(fn)


def post_build_steps(args: argparse.Namespace) -> list[tuple[str, Callable[[], object]]]:
    """Steps that run only after every model and test passed: publish, then report."""
    from xdr_warehouse import publish

    steps: list[tuple[str, Callable[[], object]]] = [
        ("publish the BI database and Parquet exports", publish.publish_from_env)
    ]
    if not args.skip_report:
        from xdr_warehouse import report

        steps.append(("write the report", report.report_from_env))
    return steps


def cmd_generate(args: argparse.Namespace) -> None:
    """Write a generated xDR file."""
    from xdr_warehouse.generate import generate_xdr

    with step(f"generate {args.records:,} records into {args.out}"):
        result = generate_xdr(args.out, args.records, seed=args.seed, fmt=args.format)
    print(f"    {result.n_rows_written:,} rows written ({result.fmt})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xdr", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job: build, test, publish, report")
    run.add_argument(
        "--records",
        type=int,
        default=DEFAULT_RECORDS,
        help="records of the generated default input (when XDR_PATH is unset)",
    )
    run.add_argument("--seed", type=int, default=DEFAULT_SEED)
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the staging table from every input file",
    )
    run.add_argument("--skip-report", action="store_true")
    run.set_defaults(func=cmd_run)

    gen = sub.add_parser("generate", help="write a generated xDR file")
    gen.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    gen.add_argument("--out", type=Path, default=DEFAULT_INPUT)
    gen.add_argument("--format", choices=["csv", "csv.gz", "parquet", "xlsx"], default=None)
    gen.set_defaults(func=cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``xdr`` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    setup_logging()
    start = time.perf_counter()
    try:
        args.func(args)
    except JobError as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # the one-line message; the stack trace goes to the log
        log.error("unexpected error\n%s", traceback.format_exc())
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"error: {first} (details in {LOG_FILE})", file=sys.stderr)
        return 1
    print(f"==> finished in {time.perf_counter() - start:.1f} s")
    return 0
