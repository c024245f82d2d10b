"""Publish the tested marts to the BI database and the Parquet exports, atomically.

Write-audit-publish: dbt builds into a private build database
(``XDR_BUILD_DB``, default ``warehouse/build.duckdb``). Only after the whole
``dbt build`` (models and tests) succeeded does ``xdr publish`` (the third step
of ``xdr run``) call :func:`publish` with the public models of dbt's manifest
(``access: public``, the BI contract), which

1. opens the build's public marts **read-only** and checks that every public
   table is there, in schema ``marts``. On DuckDB dbt builds them into a file
   of their own (``XDR_MARTS_DB``, default ``warehouse/build.marts.duckdb``,
   attached to the build database as catalog ``bi``) in the published storage
   version; a Spark build hands them over as Parquet (:class:`ParquetBuild`);
2. writes a **new** DuckDB file next to the published one (a hidden temporary
   name in the same folder): a byte copy of the marts file, made while that
   file is held open read-only, without what is not a public table
   (:func:`copy_database`; ``publish_mode`` ``file``); or, for a Spark build or
   a marts file in another storage version, schema ``marts`` with a copy of
   each public table (``create table as select``, the column types exactly as
   built, NOT NULL kept, the table and column comments of dbt's
   ``persist_docs``; :func:`write_database`; ``full``). Either way it adds
   ``marts.publish_info``;
3. audits the new file (row counts, a checksum per table and the column types
   equal the build's), fsyncs it and writes the Parquet exports from it into a
   new release folder, hard-linking the previous release's file of every table
   whose row count and checksum did not change;
4. swaps both in: ``os.replace`` of the file onto the published path (an atomic
   rename) and ``os.replace`` of the ``current`` symlink of the export folder
   (the fsync, rename and symlink helpers are :mod:`xdr_warehouse.atomic`).

What readers see
----------------
DuckDB allows one writing process or many reading processes per file. The
published file is only ever *renamed* into place, never written in place, so
BI tools that open it read-only are never locked out. A connection opened
before the swap keeps reading the old file (the old inode stays alive while it
is open) until it reconnects; a connection opened after the swap sees the new
file. Nobody sees a half-written file, an empty table or a mix of two builds.
The file's mode is 0444: a tool that tries to open it read-write (and would
then hold DuckDB's write lock on it) fails instead of locking readers out.

Parquet exports (``XDR_EXPORT_DIR``, default ``warehouse/parquet``)::

    warehouse/parquet/current -> releases/<publish id>     (a relative symlink)
    warehouse/parquet/releases/<publish id>/<table>.parquet (+ publish_info.parquet)

The ``current`` symlink is replaced atomically, so ``current/<table>.parquet``
always names a complete release. A reader that must read several files of one
release resolves ``current`` once (``os.path.realpath``) and reads from that
folder: the previous release is always kept, older ones are removed only
:data:`RELEASE_GRACE_SECONDS` after they were superseded. (POSIX only:
symlinks and ``fcntl`` locks.)

``marts.publish_info`` (and ``publish_info.parquet``) has one row per published
table: publish id and time, source build database, row count, column count and
a checksum (``sum(hash(row))`` computed by DuckDB; compare checksums only
between readers using the same DuckDB version).

Failures raise :class:`PublishError` with one line that names the file and the
problem; the previously published file and Parquet release stay untouched
(temporary files are removed, or by the next publish if the process was
killed). Publishes are serialised by an ``fcntl`` lock on a hidden
``.<name>.publish.lock`` file next to the published file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from xdr_warehouse import atomic
from xdr_warehouse.settings import DEFAULT_PARQUET_VERSION, PARQUET_VERSIONS
from xdr_warehouse.sql import quote_identifier, quote_literal

log = logging.getLogger(__name__)

SCHEMA = "marts"
INFO_TABLE = "publish_info"

#: Storage format of the published file: v1.0.0 lets BI tools that bundle any
#: DuckDB >= 1.0 open it (DuckDB 2.0 writes v2.0.0+ files by default).
#: Override with XDR_PUBLISH_STORAGE_VERSION (e.g. ``latest``).
DEFAULT_STORAGE_VERSION = "v1.0.0"

CURRENT_LINK = "current"
RELEASES_DIR = "releases"
#: A superseded Parquet release is removed only this long after it stopped
#: being ``current`` (the one just before ``current`` is always kept).
RELEASE_GRACE_SECONDS = 300.0
#: File mode of the published file: read-only, so that a tool that tries to open it
#: read-write (and would lock every reader out) gets "permission denied" instead.
READ_ONLY_MODE = 0o444
#: How long a publish waits for another publish of the same file to finish.
LOCK_TIMEOUT_SECONDS = 120.0

_BUILD = "xdr_build"
_TARGET = "xdr_publish"
_ROW = "publish_row"

INFO_TABLE_COMMENT = (
    "One row per public table of this published file: when and from which build "
    "database it was published, its row count and a checksum. Written by the publish "
    "step (python/xdr_warehouse/publish.py), not by dbt."
)
INFO_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("publish_id", "VARCHAR", "Identifier of the publish (UTC time); also the Parquet release."),
    ("published_at_utc", "TIMESTAMP", "When the publish wrote this file (UTC)."),
    ("source_build_db", "VARCHAR", "The private build database the tables were copied from."),
    ("table_name", "VARCHAR", "Public table in schema marts."),
    ("row_count", "BIGINT", "Rows of the table."),
    ("column_count", "BIGINT", "Columns of the table."),
    (
        "checksum",
        "VARCHAR",
        "sum(hash(row)) over the table as DuckDB computes it (compare with the same "
        "DuckDB version).",
    ),
    ("duckdb_version", "VARCHAR", "DuckDB version that wrote the file."),
    ("engine", "VARCHAR", "The engine that built the tables: duckdb or spark."),
    ("source_build_id", "VARCHAR", "The dbt build (invocation id) the tables come from."),
    (
        "publish_mode",
        "VARCHAR",
        "file (the build's public marts file copied whole) or full (every table copied).",
    ),
)


class PublishError(RuntimeError):
    """Publishing failed; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class PublishedTable:
    """One table as published: its size and checksum."""

    name: str
    rows: int
    columns: int
    checksum: str


@dataclass(frozen=True)
class PublishResult:
    """What a publish wrote."""

    publish_id: str
    published_at: datetime
    build_db: Path | ParquetBuild
    published_db: Path
    export_dir: Path
    release_dir: Path
    tables: tuple[PublishedTable, ...]
    size_bytes: int
    seconds: float
    mode: str = "full"

    @property
    def total_rows(self) -> int:
        """Rows over all published tables."""
        return sum(table.rows for table in self.tables)

    def summary(self) -> str:
        """One line for the CLI."""
        return (
            f"published {len(self.tables)} tables ({self.total_rows:,} rows, {self.mode}) to "
            f"{self.published_db} ({self.size_bytes / 1e6:,.1f} MB) and Parquet to "
            f"{self.export_dir / CURRENT_LINK} in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class _SourceTable:
    """A public table in the build database: its columns and comments."""

    name: str
    comment: str | None
    columns: tuple[tuple[str, str, bool, str | None], ...]  # name, type, nullable, comment


@dataclass(frozen=True)
class ParquetBuild:
    """A build held as Parquet files instead of a DuckDB build database (a Spark build).

    ``folder/<table>/`` holds the Parquet files of each public table, in any
    number of parts (as Spark writes them); ``tables`` the BI contract of each
    table (its comment, and per column the name, DuckDB type, nullability and
    comment: dbt's manifest). Publish reads the files through views that cast
    every column to its contract type, so the BI file gets the same tables,
    types, NOT NULL columns and comments as from a DuckDB build, and DuckDB,
    not Spark's driver, reads the rows.
    """

    folder: Path
    tables: Mapping[str, _SourceTable]
    #: What ``publish_info.source_build_db`` says (e.g. ``spark:<warehouse folder>``).
    label: str

    def __str__(self) -> str:
        return self.label


def _source_name(build_db: Path | ParquetBuild) -> str:
    return build_db.label if isinstance(build_db, ParquetBuild) else str(build_db.resolve())


# --------------------------------------------------------------------------- helpers


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _cause(err: BaseException) -> str:
    """Name the cause of an OSError or DuckDB error in a few words."""
    text = _first_line(err)
    code = getattr(err, "errno", None)
    if code == errno.ENOSPC or "No space left on device" in text:
        return "disk full"
    if code == errno.EROFS or "Read-only file system" in text:
        return "read-only file system"
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return "permission denied"
    return text


def _failure_message(action: str, path: Path, published_db: Path, err: BaseException) -> str:
    """The one-line, actionable message for a failed write."""
    cause = _cause(err)
    unchanged = f"{published_db} was not changed"
    if cause == "disk full":
        return (
            f"publish failed: disk full while {action} {path}; free space in "
            f"{path.parent} and run `xdr run` again ({unchanged})"
        )
    if cause in ("read-only file system", "permission denied"):
        return (
            f"publish failed: cannot write {path} ({cause}); make {path.parent} writable or "
            f"set XDR_PUBLISHED_DB / XDR_EXPORT_DIR to a writable folder ({unchanged})"
        )
    return f"publish failed while {action} {path}: {cause} ({unchanged})"


@contextlib.contextmanager
def _failures(action: str, path: Path, published_db: Path) -> Iterator[None]:
    """Turn OSError and DuckDB errors into a one-line PublishError."""
    try:
        yield
    except PublishError:
        raise
    except (OSError, duckdb.Error) as err:
        raise PublishError(_failure_message(action, path, published_db, err)) from err


@dataclass(frozen=True)
class DuckDBLimits:
    """DuckDB ``memory_limit`` and ``threads`` for the publish step: the build's.

    Without them DuckDB takes 80 % of RAM, and copying 100M-record marts peaked
    at 19.8 GB.
    """

    memory_limit: str = "1.5GB"
    threads: int = 2

    def config(self) -> dict[str, str]:
        return {"memory_limit": self.memory_limit, "threads": str(self.threads)}


def _connect(
    limits: DuckDBLimits, database: str = ":memory:", *, read_only: bool = False, **config: str
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the build's memory limit and threads, without the
    progress bar (the CLI prints timings)."""
    con = duckdb.connect(database, read_only=read_only, config={**limits.config(), **config})
    con.execute("set enable_progress_bar = false")
    return con


def temp_prefix(published_db: Path) -> str:
    """The name prefix of every temporary file a publish keeps next to the published
    file (:func:`remove_stale_files` removes what a killed run left)."""
    return f".{published_db.name}.publish-"


def _lock_path(published_db: Path) -> Path:
    return published_db.with_name(f".{published_db.name}.publish.lock")


@contextlib.contextmanager
def _publish_lock(published_db: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock so that two publishes of one file never overlap.

    The lock is an ``fcntl`` lock: the kernel releases it when the process
    ends, even on ``kill -9``.
    """
    lock = _lock_path(published_db)
    with _failures("creating the lock file", lock, published_db):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PublishError(
                        f"publish failed: another publish of {published_db} has held {lock} "
                        f"for more than {timeout:.0f} s; wait for it to finish and run "
                        "`xdr run` again"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def _current_release(export_dir: Path) -> str | None:
    """The release folder name ``current`` points at, or None."""
    link = export_dir / CURRENT_LINK
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def remove_stale_files(published_db: Path, export_dir: Path) -> list[Path]:
    """Remove what an interrupted publish left behind; return what was removed.

    Temporary database files (and their WAL and spill folders) next to the
    published file, unfinished release folders, temporary ``current`` links and
    releases newer than ``current`` (written but never swapped in). Call it only
    while holding the publish lock.
    """
    stale: list[Path] = []
    if published_db.parent.is_dir():
        stale += sorted(published_db.parent.glob(f"{temp_prefix(published_db)}*"))
    if export_dir.is_dir():
        stale += sorted(export_dir.glob(atomic.temp_link(Path(CURRENT_LINK), "*").name))
    releases = export_dir / RELEASES_DIR
    if releases.is_dir():
        current = _current_release(export_dir)
        for entry in sorted(releases.iterdir()):
            if entry.name.startswith(".tmp-") or (current is not None and entry.name > current):
                stale.append(entry)
    for path in stale:
        atomic.remove(path)
    if stale:
        log.info("removed stale publish files: %s", ", ".join(str(p) for p in stale))
    return stale


def prune_releases(export_dir: Path, grace_seconds: float = RELEASE_GRACE_SECONDS) -> list[Path]:
    """Remove old Parquet releases; keep ``current``, the one before it, and recent ones.

    A release stops being current when the next one is swapped in; it is
    removed once that happened more than ``grace_seconds`` ago (the next
    release's folder time tells when).
    """
    releases = export_dir / RELEASES_DIR
    current = _current_release(export_dir)
    if current is None or not releases.is_dir():
        return []
    names = sorted(p.name for p in releases.iterdir() if not p.name.startswith("."))
    if current not in names:
        return []
    older = names[: names.index(current)]
    now = time.time()
    removed = []
    for name, successor in zip(older[:-1], older[1:], strict=True):
        superseded_at = (releases / successor).stat().st_mtime
        if now - superseded_at > grace_seconds:
            atomic.remove(releases / name)
            removed.append(releases / name)
    return removed


# --------------------------------------------------------------------------- the copy


def _attach_parquet(
    con: duckdb.DuckDBPyConnection, build: ParquetBuild, published_db: Path
) -> None:
    """Views ``xdr_build.marts.<table>`` over a Parquet build, each column cast to its type."""
    con.execute(f"attach ':memory:' as {_BUILD}")
    con.execute(f"create schema {_BUILD}.{SCHEMA}")
    for table in build.tables.values():
        folder = build.folder / table.name
        if not any(folder.glob("*.parquet")):
            raise PublishError(
                f"publish failed: {folder} holds no Parquet file of table {table.name} "
                f"({published_db} was not changed)"
            )
        columns = ", ".join(
            f"cast({quote_identifier(name)} as {kind}) as {quote_identifier(name)}"
            for name, kind, _nullable, _comment in table.columns
        )
        con.execute(
            f"create view {_BUILD}.{SCHEMA}.{quote_identifier(table.name)} as select {columns} "
            f"from read_parquet({quote_literal(str(folder / '*.parquet'))})"
        )


def _attach_build(
    con: duckdb.DuckDBPyConnection, build_db: Path | ParquetBuild, published_db: Path
) -> None:
    """Attach the build database read-only, or explain in one line why it cannot be."""
    if isinstance(build_db, ParquetBuild):
        _attach_parquet(con, build_db, published_db)
        return
    unchanged = f"{published_db} was not changed"
    if not build_db.is_file():
        raise PublishError(
            f"publish failed: build database {build_db} does not exist; run `xdr run` "
            f"(build, test, publish) first ({unchanged})"
        )
    try:
        con.execute(f"attach {quote_literal(str(build_db))} as {_BUILD} (read_only)")
    except duckdb.Error as err:
        text = _first_line(err)
        if "lock" in text.lower():
            pid = re.search(r"PID (\d+)", text)
            holder = f" (PID {pid.group(1)})" if pid else ""
            raise PublishError(
                f"publish failed: build database {build_db} is open for writing by another "
                f"process{holder}; wait for that dbt build to finish (or stop it) and run "
                f"`xdr run` again ({unchanged})"
            ) from err
        raise PublishError(
            f"publish failed: cannot open build database {build_db} read-only: {text} ({unchanged})"
        ) from err


def _source_tables(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    build_db: Path | ParquetBuild,
    published_db: Path,
) -> list[_SourceTable]:
    """Describe the public tables in the build database; fail if any is missing."""
    if isinstance(build_db, ParquetBuild):
        missing = [name for name in tables if name not in build_db.tables]
        if missing:
            raise PublishError(
                f"publish failed: the build {build_db} lacks public table(s) "
                f"{', '.join(missing)} ({published_db} was not changed)"
            )
        return [build_db.tables[name] for name in tables]
    relations = dict(
        con.execute(
            f"""
            select table_name, comment from duckdb_tables()
            where database_name = '{_BUILD}' and schema_name = ?
            union all
            select view_name, comment from duckdb_views()
            where database_name = '{_BUILD}' and schema_name = ?
            """,
            [SCHEMA, SCHEMA],
        ).fetchall()
    )
    missing = [name for name in tables if name not in relations]
    if missing:
        raise PublishError(
            f"publish failed: build database {build_db} lacks public table(s) "
            f"{', '.join(missing)} in schema {SCHEMA}; run the whole `dbt build` so every "
            f"public mart exists ({published_db} was not changed)"
        )
    columns: dict[str, list[tuple[str, str, bool, str | None]]] = {name: [] for name in tables}
    for table, column, data_type, nullable, comment in con.execute(
        f"""
        select table_name, column_name, data_type, is_nullable, comment from duckdb_columns()
        where database_name = '{_BUILD}' and schema_name = ?
        order by table_name, column_index
        """,
        [SCHEMA],
    ).fetchall():
        if table in columns:
            columns[table].append((column, data_type, nullable, comment))
    return [_SourceTable(name, relations[name], tuple(columns[name])) for name in tables]


def _table_stats(con: duckdb.DuckDBPyConnection, qualified: str) -> tuple[int, str]:
    """Row count and order-independent checksum of a table."""
    rows, checksum = con.execute(
        f"select count(*), coalesce(sum(hash({_ROW})), 0)::varchar from {qualified} as {_ROW}"
    ).fetchone()
    return int(rows), str(checksum)


def _column_types(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple]:
    return con.execute(
        """
        select column_name, data_type from duckdb_columns()
        where database_name = ? and schema_name = ? and table_name = ?
        order by column_index
        """,
        [database, SCHEMA, table],
    ).fetchall()


def _copy_table(con: duckdb.DuckDBPyConnection, source: _SourceTable) -> None:
    """Copy one table with its types, NOT NULL columns and comments."""
    target = f"{_TARGET}.{SCHEMA}.{quote_identifier(source.name)}"
    con.execute(
        f"create table {target} as select * from {_BUILD}.{SCHEMA}.{quote_identifier(source.name)}"
    )
    if source.comment:
        con.execute(f"comment on table {target} is {quote_literal(source.comment)}")
    for column, _type, nullable, comment in source.columns:
        if not nullable:
            con.execute(
                f"alter table {target} alter column {quote_identifier(column)} set not null"
            )
        if comment:
            con.execute(
                f"comment on column {target}.{quote_identifier(column)} is {quote_literal(comment)}"
            )


def _write_info_table(
    con: duckdb.DuckDBPyConnection,
    publish_id: str,
    published_at: datetime,
    build_db: Path | ParquetBuild,
    tables: Sequence[PublishedTable],
    engine: str,
    build_id: str | None = None,
    mode: str = "full",
) -> None:
    """Create marts.publish_info in the new file, with comments."""
    target = f"{_TARGET}.{SCHEMA}.{INFO_TABLE}"
    con.execute(f"drop table if exists {target}")
    con.execute(
        f"create table {target} ("
        + ", ".join(f"{name} {kind}" for name, kind, _ in INFO_COLUMNS)
        + ")"
    )
    con.executemany(
        f"insert into {target} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                publish_id,
                published_at.replace(tzinfo=None),
                _source_name(build_db),
                table.name,
                table.rows,
                table.columns,
                table.checksum,
                duckdb.__version__,
                engine,
                build_id,
                mode,
            ]
            for table in tables
        ],
    )
    con.execute(f"comment on table {target} is {quote_literal(INFO_TABLE_COMMENT)}")
    for name, _kind, comment in INFO_COLUMNS:
        con.execute(f"comment on column {target}.{name} is {quote_literal(comment)}")


def write_database(
    build_db: Path | ParquetBuild,
    temp_db: Path,
    published_db: Path,
    tables: Sequence[str],
    publish_id: str,
    published_at: datetime,
    storage_version: str,
    engine: str = "duckdb",
    limits: DuckDBLimits = DuckDBLimits(),
    build_id: str | None = None,
) -> tuple[PublishedTable, ...]:
    """Write the new BI file at ``temp_db`` from the build database; return its tables."""
    spill = temp_db.with_name(temp_db.name + ".spill")
    con = _connect(limits, temp_directory=str(spill))
    try:
        _attach_build(con, build_db, published_db)
        with _failures("reading", build_db, published_db):
            sources = _source_tables(con, tables, build_db, published_db)
        with _failures("writing", temp_db, published_db):
            con.execute(
                f"attach {quote_literal(str(temp_db))} as {_TARGET} "
                f"(storage_version {quote_literal(storage_version)})"
            )
            con.execute("begin transaction")
            con.execute(f"create schema {_TARGET}.{SCHEMA}")
            published = []
            for source in sources:
                _copy_table(con, source)
                rows, checksum = _table_stats(
                    con, f"{_BUILD}.{SCHEMA}.{quote_identifier(source.name)}"
                )
                published.append(PublishedTable(source.name, rows, len(source.columns), checksum))
                log.info("copied table %s.%s (%d rows)", SCHEMA, source.name, rows)
            _write_info_table(con, publish_id, published_at, build_db, published, engine, build_id)
            con.execute("commit")
            con.execute(f"checkpoint {_TARGET}")
            con.execute(f"detach {_TARGET}")
    finally:
        con.close()
        atomic.remove(spill)
    return tuple(published)


#: A marts file with more than this share of free blocks, and more than
#: MAX_FREE_BYTES of them (the tables a full refresh replaced: at 10M records
#: half of a 2.4 GB file), is published table by table, so that the BI file stays
#: compact. (A small file is always partly free: dbt writes each table beside the
#: one it replaces.)
MAX_FREE_BLOCK_SHARE = 0.25
MAX_FREE_BYTES = 64 * 2**20


def _why_not_copyable(
    con: duckdb.DuckDBPyConnection, build_db: Path, storage_version: str
) -> str | None:
    """Why the attached build file cannot become the BI file byte for byte (None: it
    can): another storage version than ``storage_version`` (DuckDB tags it
    ``v1.0.0+``), changes in a WAL (not in the file's bytes), or much free space."""
    if build_db.with_name(build_db.name + ".wal").exists():
        return "it has a WAL"
    rows = con.execute(
        "select tags['storage_version'] from duckdb_databases() where database_name = ?",
        [_BUILD],
    ).fetchall()
    tag = rows[0][0] if rows else None
    if tag not in (storage_version, f"{storage_version}+"):
        return f"its storage version is {tag}, not {storage_version}"
    block, total, free = con.execute(
        "select block_size, total_blocks, free_blocks from pragma_database_size()"
        " where database_name = ?",
        [_BUILD],
    ).fetchall()[0]
    if free > MAX_FREE_BLOCK_SHARE * total and free * block > MAX_FREE_BYTES:
        return f"{free} of its {total} blocks are free"
    return None


def copy_database(
    build_db: Path,
    temp_db: Path,
    published_db: Path,
    tables: Sequence[str],
    publish_id: str,
    published_at: datetime,
    storage_version: str,
    engine: str = "duckdb",
    limits: DuckDBLimits = DuckDBLimits(),
    build_id: str | None = None,
) -> tuple[PublishedTable, ...] | None:
    """Write the new BI file at ``temp_db`` as a byte copy of the build's public marts file.

    dbt builds the public marts into a DuckDB file of their own, in the BI
    file's storage format (profiles.yml ``attach``), so the publish copies the
    file instead of every row: at 10M records 1.2 GB in about 2 s, against
    about 18 s of table copies. The file stays attached read-only during the
    copy, so no dbt build can write it meanwhile. In the copy, anything that is
    not a public table (what an interrupted build left) is dropped and
    ``marts.publish_info`` is added. Returns None when the file should not be
    copied as it is (another storage version, changes still in its WAL, or more
    than :data:`MAX_FREE_BLOCK_SHARE` of it free): the caller copies the tables
    instead (:func:`write_database`), which writes a compact file.
    """
    con = _connect(limits)
    try:
        _attach_build(con, build_db, published_db)
        why_not = _why_not_copyable(con, build_db, storage_version)
        if why_not is not None:
            log.info("copying the tables of %s, not the file: %s", build_db, why_not)
            return None
        with _failures("reading", build_db, published_db):
            sources = _source_tables(con, tables, build_db, published_db)
            published = []
            for source in sources:
                rows, checksum = _table_stats(
                    con, f"{_BUILD}.{SCHEMA}.{quote_identifier(source.name)}"
                )
                published.append(PublishedTable(source.name, rows, len(source.columns), checksum))
        with _failures("writing", temp_db, published_db):
            shutil.copyfile(build_db, temp_db)
            os.chmod(temp_db, 0o644)
            log.info("copied %s (%d bytes)", build_db, temp_db.stat().st_size)
        con.execute(f"detach {_BUILD}")
        with _failures("writing", temp_db, published_db):
            con.execute(f"attach {quote_literal(str(temp_db))} as {_TARGET}")
            con.execute("begin transaction")
            _drop_all_but(con, tables)
            _write_info_table(
                con, publish_id, published_at, build_db, published, engine, build_id, mode="file"
            )
            con.execute("commit")
            con.execute(f"checkpoint {_TARGET}")
            con.execute(f"detach {_TARGET}")
    finally:
        con.close()
    return tuple(published)


def _drop_all_but(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> None:
    """Drop every relation and schema of the new file but the public tables."""
    keep = set(tables)
    for schema, name, kind in con.execute(
        f"""
        select schema_name, view_name, 'view' from duckdb_views()
        where database_name = '{_TARGET}' and not internal
        union all
        select schema_name, table_name, 'table' from duckdb_tables()
        where database_name = '{_TARGET}'
        """
    ).fetchall():
        if schema != SCHEMA or name not in keep or kind == "view":
            con.execute(
                f"drop {kind} {_TARGET}.{quote_identifier(schema)}.{quote_identifier(name)}"
            )
            log.info("dropped %s %s.%s from the copy (not a public table)", kind, schema, name)
    for (schema,) in con.execute(
        f"select schema_name from duckdb_schemas() where database_name = '{_TARGET}'"
        " and not internal and schema_name not in ('main', ?)",
        [SCHEMA],
    ).fetchall():
        con.execute(f"drop schema {_TARGET}.{quote_identifier(schema)} cascade")


def _published_info(published_db: Path) -> dict[str, tuple[int, str, str | None]] | None:
    """Rows, checksum and source build of each table of the published file (None: unusable)."""
    try:
        with duckdb.connect(str(published_db), read_only=True) as con:
            rows = con.execute(
                "select table_name, row_count, checksum, source_build_id"
                f" from {SCHEMA}.{INFO_TABLE}"
            ).fetchall()
    except duckdb.Error:
        return None
    return {name: (int(count), str(checksum), build) for name, count, checksum, build in rows}


def _unchanged_tables(published_db: Path, tables: Sequence[PublishedTable]) -> frozenset[str]:
    """The tables whose rows and checksum equal those of the published file: their
    Parquet exports are linked from the current release instead of written again."""
    old = _published_info(published_db) if published_db.exists() else None
    if old is None:
        return frozenset()
    return frozenset(
        table.name
        for table in tables
        if table.name in old and old[table.name][:2] == (table.rows, table.checksum)
    )


def audit_database(
    temp_db: Path,
    build_db: Path | ParquetBuild,
    published_db: Path,
    expected: Sequence[PublishedTable],
    limits: DuckDBLimits = DuckDBLimits(),
) -> None:
    """Check the new file against the build: same row counts, checksums and column types."""
    with (
        _failures("checking", temp_db, published_db),
        _connect(limits) as con,
    ):
        con.execute(f"attach {quote_literal(str(temp_db))} as {_TARGET} (read_only)")
        _attach_build(con, build_db, published_db)
        problems = []
        for table in expected:
            rows, checksum = _table_stats(con, f"{_TARGET}.{SCHEMA}.{quote_identifier(table.name)}")
            if rows != table.rows:
                problems.append(f"{table.name} has {rows} rows, the build {table.rows}")
            elif checksum != table.checksum:
                problems.append(f"{table.name} rows differ from the build (checksum)")
            if _column_types(con, _TARGET, table.name) != _column_types(con, _BUILD, table.name):
                problems.append(f"{table.name} column types differ")
        extra = con.execute(
            f"select schema_name || '.' || table_name from duckdb_tables() "
            f"where database_name = '{_TARGET}' and schema_name <> ?",
            [SCHEMA],
        ).fetchall()
        problems += [f"unexpected table {name}" for (name,) in extra]
    if problems:
        raise PublishError(
            f"publish failed: the copy {temp_db} does not match {build_db}: "
            f"{'; '.join(problems)} ({published_db} was not changed)"
        )


def write_parquet_release(
    temp_db: Path,
    release_tmp: Path,
    published_db: Path,
    tables: Sequence[str],
    limits: DuckDBLimits = DuckDBLimits(),
    unchanged_from: Path | None = None,
    unchanged: frozenset[str] = frozenset(),
    parquet_version: str = DEFAULT_PARQUET_VERSION,
) -> None:
    """Export every table of the new file (and publish_info) as Parquet into ``release_tmp``.

    Each file carries the table comment (key ``description``), the column
    comments (key ``column_descriptions``, JSON) and the format version (key
    ``parquet_version``) as Parquet key-value metadata. The ``unchanged``
    tables are hard-linked from the release ``unchanged_from`` instead of
    written again, when that file has the same format version.
    """
    with _failures("writing", release_tmp, published_db):
        release_tmp.mkdir(parents=True)
        with _connect(limits, str(temp_db), read_only=True) as con:
            comments = dict(
                con.execute(
                    "select table_name, comment from duckdb_tables() where schema_name = ?",
                    [SCHEMA],
                ).fetchall()
            )
            for table in [*tables, INFO_TABLE]:
                path = release_tmp / f"{table}.parquet"
                previous = unchanged_from / f"{table}.parquet" if unchanged_from else None
                if (
                    table in unchanged
                    and previous is not None
                    and previous.is_file()
                    and _parquet_version_of(con, previous) == parquet_version
                ):
                    try:
                        os.link(previous, path)
                    except OSError:  # another file system: a copy
                        shutil.copy2(previous, path)
                    continue
                column_comments = dict(
                    con.execute(
                        "select column_name, comment from duckdb_columns() where schema_name = ? "
                        "and table_name = ? and comment is not null order by column_index",
                        [SCHEMA, table],
                    ).fetchall()
                )
                # zstd level 1: at 1M records 40 % less CPU than the default level 3
                # and 5 % smaller files (measured on the published marts). Format
                # v2 (integers DELTA_BINARY_PACKED instead of PLAIN after a failed
                # dictionary): the three customer tables of 10M records in 10 s
                # instead of 13.5 s, 2 % smaller.
                con.execute(
                    f"copy {SCHEMA}.{quote_identifier(table)} to {quote_literal(str(path))} "
                    "(format parquet, compression zstd, compression_level 1, "
                    f"parquet_version {_parquet_version_option(parquet_version)}, "
                    "kv_metadata {description: ?, column_descriptions: ?, parquet_version: ?})",
                    [comments.get(table) or "", json.dumps(column_comments), parquet_version],
                )
                atomic.fsync(path)
                log.info("wrote %s", path.name)
        atomic.fsync(release_tmp)
    log.info("wrote Parquet exports into %s", release_tmp)


def _parquet_version_option(version: str) -> str:
    if version not in PARQUET_VERSIONS:
        raise PublishError(f"parquet version {version!r}: use one of {', '.join(PARQUET_VERSIONS)}")
    return version.upper()


def _parquet_version_of(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The ``parquet_version`` a release file was written with (None: not recorded)."""
    rows = con.execute(
        "select decode(value) from parquet_kv_metadata(?) where decode(key) = 'parquet_version'",
        [str(path)],
    ).fetchall()
    return rows[0][0] if rows else None


def _check_published_not_open_for_writing(published_db: Path) -> None:
    """Refuse to replace a file some process opened read-write; drop a stale WAL.

    BI tools must open the published file read-only. A WAL next to it means
    somebody wrote to it; if that process is gone, the WAL belongs to the old
    file and is removed so that it is never replayed onto the new one.
    """
    wal = published_db.with_name(published_db.name + ".wal")
    if not wal.exists():
        return
    try:
        duckdb.connect(str(published_db), read_only=True).close()
    except duckdb.Error as err:
        if "lock" in _first_line(err).lower():
            pid = re.search(r"PID (\d+)", _first_line(err))
            holder = f" (PID {pid.group(1)})" if pid else ""
            raise PublishError(
                f"publish failed: {published_db} is open for writing by another process"
                f"{holder}; BI tools must open it read-only; close it and run `xdr run` again "
                f"({published_db} was not changed)"
            ) from err
    with _failures("removing the stale WAL", wal, published_db):
        wal.unlink(missing_ok=True)


def _new_publish_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S_%fZ")


def _check_export_dir(export_dir: Path, published_db: Path) -> None:
    link = export_dir / CURRENT_LINK
    if link.exists() and not link.is_symlink():
        raise PublishError(
            f"publish failed: {link} exists and is not a symlink (publish swaps a symlink "
            f"there); move it away and run `xdr run` again ({published_db} was not changed)"
        )
    with _failures("creating", export_dir / RELEASES_DIR, published_db):
        (export_dir / RELEASES_DIR).mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------- public API


def publish(
    build_db: Path | str | ParquetBuild,
    published_db: Path | str,
    export_dir: Path | str,
    tables: Sequence[str],
    *,
    storage_version: str = DEFAULT_STORAGE_VERSION,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    engine: str = "duckdb",
    limits: DuckDBLimits = DuckDBLimits(),
    build_id: str | None = None,
    parquet_version: str = DEFAULT_PARQUET_VERSION,
) -> PublishResult:
    """Publish ``tables`` (schema ``marts``) of the build database; see the module doc.

    Raises PublishError (one line) when the build database is missing or
    locked by a writer, a public table is missing, or a folder cannot be
    written (read-only, no permission, disk full); the published file and the
    current Parquet release are then unchanged. ``build_db`` is the DuckDB
    file holding the public marts (the build's marts file, copied whole when it
    has the published storage version) or a Parquet build (Spark).
    """
    start = time.perf_counter()
    published_db, export_dir = Path(published_db), Path(export_dir)
    if not isinstance(build_db, ParquetBuild):
        build_db = Path(build_db)
    if not tables:
        raise PublishError("publish failed: no tables to publish")
    if (
        isinstance(build_db, Path)
        and published_db.exists()
        and build_db.exists()
        and published_db.samefile(build_db)
    ):
        raise PublishError(
            f"publish failed: the build's marts file and the published database are the same file "
            f"{published_db}; set XDR_MARTS_DB and XDR_PUBLISHED_DB to different paths"
        )
    with _failures("creating", published_db.parent, published_db):
        published_db.parent.mkdir(parents=True, exist_ok=True)
    _check_export_dir(export_dir, published_db)

    with _publish_lock(published_db, lock_timeout):
        remove_stale_files(published_db, export_dir)
        published_at = datetime.now(UTC)
        publish_id = _new_publish_id(published_at)
        temp_db = published_db.with_name(f"{temp_prefix(published_db)}{publish_id}.tmp")
        release_tmp = export_dir / RELEASES_DIR / f".tmp-{publish_id}"
        release = export_dir / RELEASES_DIR / publish_id
        swapped = False
        try:
            published = None
            if isinstance(build_db, Path):
                published = copy_database(
                    build_db, temp_db, published_db, tables, publish_id, published_at,
                    storage_version, engine, limits, build_id,
                )  # fmt: skip
                mode = "file"
            if published is None:
                atomic.remove(temp_db)
                mode = "full"
                published = write_database(
                    build_db,
                    temp_db,
                    published_db,
                    tables,
                    publish_id,
                    published_at,
                    storage_version,
                    engine,
                    limits,
                    build_id,
                )
            unchanged = _unchanged_tables(published_db, published)
            log.info("checking the new file against the build (rows, checksums, types)")
            audit_database(temp_db, build_db, published_db, published, limits)
            with _failures("writing", temp_db, published_db):
                atomic.fsync(temp_db)
                os.chmod(temp_db, READ_ONLY_MODE)
            current = _current_release(export_dir)
            log.info("writing the Parquet exports")
            write_parquet_release(
                temp_db, release_tmp, published_db, tables, limits,
                unchanged_from=export_dir / RELEASES_DIR / current if current else None,
                unchanged=unchanged, parquet_version=parquet_version,
            )  # fmt: skip
            with _failures("writing", release, published_db):
                atomic.move_into_place(release_tmp, release)
            _check_published_not_open_for_writing(published_db)
            size = temp_db.stat().st_size
            with _failures("replacing", published_db, published_db):
                os.replace(temp_db, published_db)
            swapped = True
            log.info("swapped in %s", published_db)
            try:
                atomic.fsync(published_db.parent)  # make the rename durable
            except OSError as err:
                log.warning("could not fsync %s after the swap: %s", published_db.parent, err)
            try:
                atomic.swap_symlink(export_dir / CURRENT_LINK, Path(RELEASES_DIR) / release.name)
            except OSError as err:
                raise PublishError(
                    f"publish: {published_db} was published, but switching "
                    f"{export_dir / CURRENT_LINK} to {release} failed: {_cause(err)}; "
                    "run `xdr run` again to update the Parquet exports"
                ) from err
            log.info("swapped %s -> %s", export_dir / CURRENT_LINK, release)
        except BaseException:
            for path in (temp_db, temp_db.with_name(temp_db.name + ".wal"), release_tmp):
                atomic.remove(path)
            if not swapped:
                atomic.remove(release)
            raise
        try:
            prune_releases(export_dir)
        except OSError as err:  # old releases stay; the next publish tries again
            log.warning("could not remove old Parquet releases in %s: %s", export_dir, err)

    return PublishResult(
        publish_id=publish_id,
        published_at=published_at,
        build_db=build_db,
        published_db=published_db,
        export_dir=export_dir,
        release_dir=release,
        tables=published,
        size_bytes=size,
        seconds=time.perf_counter() - start,
        mode=mode,
    )
