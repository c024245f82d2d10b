"""The main job's steps: ingest, build, publish, report; each callable on its own.

``xdr run`` is these four in order, each printed with its duration. Every step
takes the :class:`~xdr_warehouse.settings.Settings` built once by the CLI (or
a test) and raises one of the errors listed in :data:`STEP_ERRORS`, whose
message is the one line to show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from xdr_warehouse.dbt_runner import (
    DbtError,
    last_build_problem,
    lock_error_in,
    run_dbt,
    selects_nodes,
)
from xdr_warehouse.ingest import IngestResult, XdrInputError, inspect_inputs
from xdr_warehouse.progress import Heartbeat, StepProbe
from xdr_warehouse.settings import DEFAULT_RECORDS, DEFAULT_SEED, Settings

log = logging.getLogger("xdr_warehouse")


class JobError(RuntimeError):
    """A step of the job failed; the message is the one line to show."""


def step_errors() -> tuple[type[BaseException], ...]:
    """The errors a step raises with a one-line message (imported lazily: report is heavy)."""
    from xdr_warehouse.publish import PublishError
    from xdr_warehouse.report import ReportError

    return (XdrInputError, JobError, DbtError, PublishError, ReportError)


@contextmanager
def step(name: str, progress_seconds: float | None = None) -> Iterator[None]:
    """Print a step's name, then its duration when it ends. With ``progress_seconds``,
    a heartbeat says meanwhile what the step has read, written and last logged."""
    print(f"==> {name} ...", flush=True)
    start = time.perf_counter()
    if progress_seconds is None:
        yield
    else:
        short = name.split(" ", 1)[0]
        with StepProbe(short, log) as probe, Heartbeat(probe, interval=progress_seconds):
            yield
    seconds = time.perf_counter() - start
    print(f"    {name}: done in {seconds:.1f} s", flush=True)
    log.info("%s: %.1f s", name, seconds)


def input_path(settings: Settings, records: int = DEFAULT_RECORDS, seed: int = DEFAULT_SEED) -> str:
    """The input to ingest: XDR_PATH, or the generated default (written when missing)."""
    if settings.input_path:
        return settings.input_path
    path = settings.default_input
    if records != DEFAULT_RECORDS:
        path = path.with_name(f"xdr_{records}.csv")
    if not path.exists():
        from xdr_warehouse.generate import generate_xdr

        with step(f"generate {records:,} xDR records into {path}"):
            path.parent.mkdir(parents=True, exist_ok=True)
            generate_xdr(path, records, seed=seed)
    return str(path)


def connect_build_db(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open the build database for writing, or explain in one line who holds it."""
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(settings.build_db))
    except duckdb.Error as err:
        raise JobError(lock_error_in(str(err)) or f"{settings.build_db}: {err}") from err


def ingest(settings: Settings, spec: str) -> IngestResult:
    """Check the input files and land them in the engine's raw layer.

    On DuckDB the versions landed before (same path, size and modification time)
    are taken from the raw layer, so only new and changed files are read.
    """
    if settings.engine == "spark":
        from xdr_warehouse.spark.raw import land as land_spark

        files = inspect_inputs(spec, settings.landing_dir)
        return IngestResult(tuple(land_spark(settings, files)))
    from xdr_warehouse.ingest.raw_duckdb import known_versions, land

    # before the first ingest there is nothing to reuse: check the files before
    # creating the build database, so bad input leaves no database behind
    con = connect_build_db(settings) if settings.build_db.exists() else None
    try:
        files = inspect_inputs(spec, settings.landing_dir, known_versions(con) if con else None)
        con = con or connect_build_db(settings)
        return IngestResult(tuple(land(con, files)))
    finally:
        if con is not None:
            con.close()


def build_args(
    settings: Settings, dbt_args: Sequence[str] = (), full_refresh: bool = False
) -> list[str]:
    """The arguments of the job's ``dbt build``: the user's, ``--full-refresh``, and on
    DuckDB the unit tests left out unless ``settings.unit_tests`` or the user selects."""
    args = [*dbt_args, *(["--full-refresh"] if full_refresh else [])]
    if settings.engine == "duckdb" and not settings.unit_tests and not selects_nodes(args):
        args += ["--exclude-resource-type", "unit_test"]
    return args


#: The model whose long DuckDB query the clustering imports overlap (:mod:`.preload`).
PRELOAD_AT = "int_records_loaded"


def fits_a_new_model(settings: Settings, args: Sequence[str]) -> bool:
    """Whether this DuckDB build certainly fits a cluster model: a full refresh, or a
    build database without one. (A build that keeps the stored model may still refit
    when enough customers changed; it is not preloaded for.)"""
    if "--full-refresh" in args or not settings.build_db.exists():
        return True
    try:
        with duckdb.connect(str(settings.build_db), read_only=True) as con:
            found = con.execute(
                "select count(*) from duckdb_tables() where table_name = 'engagement_cluster_model'"
            ).fetchone()[0]
    except duckdb.Error:  # held by another process: dbt will say so
        return False
    return found == 0


def build(settings: Settings, dbt_args: Sequence[str] = (), full_refresh: bool = False) -> Any:
    """``dbt build`` with the settings (the extra arguments go to dbt)."""
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    args = build_args(settings, dbt_args, full_refresh)
    if settings.engine == "spark":
        from xdr_warehouse.spark.build import build as build_spark

        return build_spark(settings, args)
    if "--full-refresh" in args and not selects_nodes(dbt_args):
        remove_marts_file(settings)
    if selects_nodes(dbt_args) or not fits_a_new_model(settings, args):
        return run_dbt(settings, ["build"], args)
    from xdr_warehouse.preload import Preload

    preload = Preload()
    try:
        return run_dbt(settings, ["build"], args, on_start={PRELOAD_AT: preload.start})
    finally:
        preload.join()


def remove_marts_file(settings: Settings) -> None:
    """Before a full refresh of every model: remove the public marts' file, so that
    dbt writes it anew. A full refresh replaces every table, and DuckDB keeps the
    space of the replaced ones inside the file (at 10M records 2.4 GB instead of
    1.2 GB), which the publish would otherwise copy. The published file is not
    touched; a build that fails leaves the next one to build the marts whole."""
    if not settings.marts_db.exists():
        return
    try:  # another process writing it (a build running): leave it, dbt reports the lock
        duckdb.connect(str(settings.marts_db)).close()
    except duckdb.Error:
        return
    for path in (settings.marts_db, settings.marts_db.with_name(settings.marts_db.name + ".wal")):
        if path.exists():
            path.unlink()
            log.info("removed %s before the full refresh (dbt writes it anew)", path)


def publish(settings: Settings) -> Any:
    """Publish the last build, refusing when its tests did not all pass."""
    if settings.engine == "spark":
        from xdr_warehouse.spark.publish import SparkPublishError
        from xdr_warehouse.spark.publish import publish as publish_spark

        try:
            result = publish_spark(settings)
        except SparkPublishError as err:
            raise JobError(str(err)) from err
        print(f"    {result.summary()}", flush=True)
        return result
    from xdr_warehouse.dbt_runner import public_models
    from xdr_warehouse.publish import DuckDBLimits
    from xdr_warehouse.publish import publish as publish_tables
    from xdr_warehouse.publish_plan import last_build_id

    problem = last_build_problem(settings)
    if problem:
        raise JobError(f"nothing published: {problem}; {settings.published_db} is unchanged")
    result = publish_tables(
        settings.marts_db,
        settings.published_db,
        settings.export_dir,
        public_models(settings),
        storage_version=settings.publish_storage_version,
        engine=settings.engine,
        limits=DuckDBLimits(settings.memory_limit, settings.duckdb_threads),
        build_id=last_build_id(settings),
        parquet_version=settings.parquet_version,
    )
    print(f"    {result.summary()}", flush=True)
    return result


def report(settings: Settings) -> Path:
    """Write the report from the published file (and the build's stored test failures)."""
    from xdr_warehouse.report import build_report

    # the rows the warning-level tests stored: in the DuckDB build database (on
    # Spark they are in Spark's test_failures database, which the report does not read)
    build_db = settings.build_db if settings.engine == "duckdb" else None
    path = build_report(settings.published_db, settings.report_dir, build_db)
    print(f"    wrote {path}", flush=True)
    return path
