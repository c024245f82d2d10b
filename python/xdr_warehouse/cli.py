"""The ``xdr`` command: the main job and each of its steps.

``xdr run`` (what ``make run`` calls) ingests the input (generating the default
150,000-record file when XDR_PATH is not set), runs ``dbt build``, publishes the
BI file and writes the report. ``xdr ingest``, ``xdr build``, ``xdr publish`` and
``xdr report`` run one step each; arguments after ``--`` go to dbt
(``xdr run -- --vars '{cluster_k: 4}'``). When nothing changed since the
published build (same input file versions, project files and settings, see
:mod:`xdr_warehouse.uptodate`), ``xdr run`` says so and skips the build and
the publish; ``--force`` builds anyway. Every step prints its name and
duration. A failure prints one line that says what went wrong and what to do,
exits non-zero and keeps the full detail in ``logs/xdr.log``.

The settings are read once here (:class:`~xdr_warehouse.settings.Settings`)
and passed to every step.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

from xdr_warehouse import job
from xdr_warehouse.ingest import IngestResult
from xdr_warehouse.settings import DEFAULT_RECORDS, DEFAULT_SEED, ENGINES, Settings

log = logging.getLogger("xdr_warehouse")
T = TypeVar("T")


def setup_logging(settings: Settings) -> None:
    """Send the full detail of every run to logs/xdr.log."""
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(settings.log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def call(fn: Callable[[], T]) -> T:
    """Run a step function, turning its expected errors into one-line JobErrors."""
    try:
        return fn()
    except job.step_errors() as err:
        raise job.JobError(str(err)) from err


def _ingest(settings: Settings, args: argparse.Namespace) -> IngestResult:
    from xdr_warehouse.diskspace import disk_warning

    spec = job.input_path(settings, args.records, args.seed)
    with job.step(f"ingest {spec}", settings.progress_seconds):
        result = call(lambda: job.ingest(settings, spec))
        print(f"    {result.summary()}", flush=True)
        warning = disk_warning([x.file for x in result.files], settings.build_db)
        if warning:
            print(f"    {warning}", flush=True)
            log.warning(warning)
    return result


def _build(settings: Settings, args: argparse.Namespace) -> None:
    with job.step(f"dbt build on {settings.engine} (models and tests)"):
        try:
            call(lambda: job.build(settings, args.dbt_args, args.full_refresh))
        except job.JobError as err:
            raise job.JobError(
                f"{err}; nothing was published ({settings.published_db} is unchanged)"
            ) from err


def _publish(settings: Settings) -> None:
    with job.step("publish the BI database and Parquet exports", settings.progress_seconds):
        call(lambda: job.publish(settings))


def _report(settings: Settings) -> None:
    with job.step("write the report", settings.progress_seconds):
        call(lambda: job.report(settings))


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    """The main job: ingest, dbt build, publish, report; build and publish only when
    the input, the project or the settings changed since the published build."""
    from xdr_warehouse import uptodate

    result = _ingest(settings, args)
    digest = uptodate.fingerprint(settings, result.files)
    forced = args.force or args.full_refresh or bool(args.dbt_args)
    current = None if forced else uptodate.published_build_if_current(settings, digest)
    if current is None:
        _build(settings, args)
        _publish(settings)
        uptodate.record_published(settings, digest)
    else:
        message = (
            f"up to date: {settings.published_db} holds build {current}, made from these"
            " input files, this project and these settings; nothing to build or publish"
            " (--force builds anyway)"
        )
        print(f"==> {message}", flush=True)
        log.info("%s", message)
    if not args.skip_report and not (current and uptodate.report_is_current(settings)):
        _report(settings)


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> None:
    _ingest(settings, args)


def cmd_build(settings: Settings, args: argparse.Namespace) -> None:
    _build(settings, args)


def cmd_publish(settings: Settings, args: argparse.Namespace) -> None:
    _publish(settings)


def cmd_report(settings: Settings, args: argparse.Namespace) -> None:
    _report(settings)


def cmd_dashboard(settings: Settings, args: argparse.Namespace) -> None:
    """Serve the dashboard on 127.0.0.1 until Ctrl+C."""
    import subprocess

    from xdr_warehouse.dashboard.server import streamlit_command

    url = f"http://127.0.0.1:{settings.dashboard_port}"
    print(f"==> dashboard on {url}, reading {settings.published_db}; Ctrl+C stops it", flush=True)
    command = streamlit_command(settings.published_db, settings.dashboard_port)
    try:
        code = subprocess.call(command, cwd=settings.project_dir)
    except KeyboardInterrupt:
        code = 0
    if code:
        raise job.JobError(f"the dashboard server stopped with exit code {code}")


def cmd_spark_cluster(settings: Settings, args: argparse.Namespace) -> None:
    """Start, check or stop the Spark standalone cluster on 127.0.0.1 (warehouse/spark/cluster)."""
    from xdr_warehouse.spark.cluster import ClusterError, command

    try:
        print(f"    {command(settings, args.action)}", flush=True)
    except ClusterError as err:
        raise job.JobError(str(err)) from err


def cmd_generate(settings: Settings, args: argparse.Namespace) -> None:
    """Write a generated xDR file."""
    from xdr_warehouse.generate import generate_xdr

    out = args.out or settings.default_input
    with job.step(f"generate {args.records:,} records into {out}"):
        result = generate_xdr(out, args.records, seed=args.seed, fmt=args.format)
    print(f"    {result.n_rows_written:,} rows written ({result.fmt})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xdr", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="the engine that does the work (default: XDR_ENGINE or duckdb)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_input(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--records",
            type=int,
            default=DEFAULT_RECORDS,
            help="records of the generated default input (when XDR_PATH is unset)",
        )
        p.add_argument("--seed", type=int, default=DEFAULT_SEED)

    def with_dbt(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--full-refresh",
            action="store_true",
            help="rebuild the incremental models from every input file",
        )
        p.add_argument(
            "dbt_args",
            nargs="*",
            metavar="-- DBT_ARGS",
            help="arguments after -- go to dbt build (--vars, --select, ...)",
        )

    run = sub.add_parser("run", help="the main job: ingest, build, publish, report")
    with_input(run)
    with_dbt(run)
    run.add_argument("--skip-report", action="store_true")
    run.add_argument(
        "--force",
        action="store_true",
        help="build and publish even when nothing changed since the published build",
    )
    run.set_defaults(func=cmd_run)

    ingest = sub.add_parser("ingest", help="check the input files and land them for dbt")
    with_input(ingest)
    ingest.set_defaults(func=cmd_ingest)

    build = sub.add_parser("build", help="dbt build (every model and test) on the landed input")
    with_dbt(build)
    build.set_defaults(func=cmd_build)

    publish = sub.add_parser("publish", help="publish the last build if every test passed")
    publish.set_defaults(func=cmd_publish)

    report = sub.add_parser("report", help="write the report from the published file")
    report.set_defaults(func=cmd_report)

    dashboard = sub.add_parser("dashboard", help="serve the dashboard on 127.0.0.1")
    dashboard.set_defaults(func=cmd_dashboard)

    spark_cluster = sub.add_parser(
        "spark-cluster", help="start, check or stop a Spark standalone cluster on 127.0.0.1"
    )
    spark_cluster.add_argument("action", choices=["start", "status", "stop"])
    spark_cluster.set_defaults(func=cmd_spark_cluster)

    gen = sub.add_parser("generate", help="write a generated xDR file")
    gen.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    gen.add_argument("--out", type=Path, default=None)
    gen.add_argument("--format", choices=["csv", "csv.gz", "parquet", "xlsx"], default=None)
    gen.set_defaults(func=cmd_generate)
    return parser


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    """Entry point of the ``xdr`` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = settings or Settings.from_env(engine=args.engine)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    setup_logging(settings)
    start = time.perf_counter()
    try:
        args.func(settings, args)
    except job.JobError as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # the one-line message; the stack trace goes to the log
        log.error("unexpected error\n%s", traceback.format_exc())
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"error: {first} (details in {settings.log_file})", file=sys.stderr)
        return 1
    print(f"==> finished in {time.perf_counter() - start:.1f} s")
    return 0


def console() -> NoReturn:
    """The ``xdr`` command: :func:`main`, then the process ends without the
    interpreter's teardown.

    With dbt, DuckDB, pandas and scikit-learn loaded, freeing every module and
    object at exit took 1.1-1.8 s after the job had finished (measured on
    ``xdr run`` at 150k records), about 5 % of the whole run. The exit handlers
    still run (logging's flush, pyspark's gateway shutdown, ...); only that
    teardown is skipped. While a non-daemon thread is still alive the process
    exits the normal way, which waits for it.
    """
    code = main()
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # noqa: SLF001 - the handlers sys.exit would run
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
