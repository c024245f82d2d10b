"""Helpers for test_publish.py: reader and publisher child processes, small build
databases, a copy of the dbt project, and ways to make a folder read-only or full.

Run as a script, this module is the child process the tests start:

    python helpers_publish.py read-duckdb   DB OUT STOP INTERVAL TABLE...  # reconnect per query
    python helpers_publish.py read-pinned   DB OUT STOP INTERVAL TABLE...  # one connection
    python helpers_publish.py read-parquet  EXPORT_DIR OUT STOP INTERVAL TABLE...
    python helpers_publish.py hang-publish  BUILD_DB PUBLISHED_DB EXPORT_DIR PHASE MARKER TABLE...

A reader writes one JSON line per answer: {"state": {table: [rows, checksum]}}
or {"error": "..."}; it stops when the STOP file exists. ``hang-publish`` runs a
publish that writes MARKER and sleeps when its log reaches PHASE, so the test
can kill it there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
READER_TIME_LIMIT = 600.0

State = dict[str, list]


# --------------------------------------------------------------------------- states


def table_state(con: duckdb.DuckDBPyConnection, relation: str) -> list:
    """[row count, order-independent checksum] of a relation."""
    rows, checksum = con.execute(
        f"select count(*), coalesce(sum(hash(r)), 0)::varchar from {relation} as r"
    ).fetchone()
    return [int(rows), str(checksum)]


def duckdb_state(con: duckdb.DuckDBPyConnection, tables: Sequence[str], schema: str = "marts"):
    """The state of ``tables`` as one connection sees it."""
    return {table: table_state(con, f'{schema}."{table}"') for table in tables}


def file_state(db: Path, tables: Sequence[str]) -> State:
    """The state of ``tables`` in a DuckDB file (opened read-only)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return duckdb_state(con, tables)


def parquet_state(release: Path, tables: Sequence[str]) -> State:
    """The state of ``tables`` in one Parquet release folder."""
    with duckdb.connect(":memory:") as con:
        return {
            table: table_state(con, f"read_parquet('{release / (table + '.parquet')}')")
            for table in tables
        }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- children


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), str(Path(__file__).parent)])
    return env


class Reader:
    """A reader child process and its answers."""

    def __init__(
        self, mode: str, source: Path, tables: Sequence[str], workdir: Path, interval: float
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.out = workdir / f"reader-{mode}.jsonl"
        self.stop_file = workdir / f"reader-{mode}.stop"
        self.out.unlink(missing_ok=True)
        self.stop_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                mode,
                str(source),
                str(self.out),
                str(self.stop_file),
                str(interval),
                *tables,
            ],
            env=_child_env(),
        )

    def answers(self) -> list[dict]:
        if not self.out.exists():
            return []
        lines = self.out.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def wait_for_answers(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answers()) < n:
            if self.process.poll() is not None:
                raise AssertionError(f"reader exited early with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError(f"reader gave fewer than {n} answers in {timeout} s")
            time.sleep(0.05)

    def stop(self) -> list[dict]:
        self.stop_file.touch()
        try:
            self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        assert self.process.returncode == 0, f"reader exited with {self.process.returncode}"
        return self.answers()


@contextlib.contextmanager
def readers(
    db: Path, export_dir: Path, tables: Sequence[str], workdir: Path, interval: float = 0.02
) -> Iterator[dict[str, Reader]]:
    """Start the three kinds of readers (a pause of ``interval`` s between answers);
    stop them (even on failure) at the end."""
    started = {
        "read-duckdb": Reader("read-duckdb", db, tables, workdir, interval),
        "read-pinned": Reader("read-pinned", db, tables, workdir, interval),
        "read-parquet": Reader("read-parquet", export_dir, tables, workdir, interval),
    }
    try:
        for reader in started.values():
            reader.wait_for_answers(1)
        yield started
    finally:
        for reader in started.values():
            reader.stop_file.touch()
            with contextlib.suppress(subprocess.TimeoutExpired):
                reader.process.wait(timeout=30)
            if reader.process.poll() is None:
                reader.process.kill()


def _reader_loop(
    mode: str, source: Path, out: Path, stop: Path, interval: float, tables: list[str]
) -> None:
    deadline = time.monotonic() + READER_TIME_LIMIT
    pinned = duckdb.connect(str(source), read_only=True) if mode == "read-pinned" else None
    with out.open("a") as sink:
        while not stop.exists() and time.monotonic() < deadline:
            answer: dict = {}
            try:
                if mode == "read-duckdb":
                    with duckdb.connect(str(source), read_only=True) as con:
                        answer["state"] = duckdb_state(con, tables)
                elif mode == "read-pinned":
                    answer["state"] = duckdb_state(pinned, tables)
                else:
                    release = Path(os.path.realpath(source / "current"))
                    answer["release"] = release.name
                    answer["state"] = parquet_state(release, tables)
            except Exception as err:  # every error is an answer the test fails on
                answer = {"error": f"{type(err).__name__}: {err}"}
            sink.write(json.dumps(answer) + "\n")
            sink.flush()
            time.sleep(interval)


class _HangAt(logging.Handler):
    """Write the marker and sleep when the publish log reaches a phase."""

    def __init__(self, phase: str, marker: Path) -> None:
        super().__init__()
        self.phase, self.marker = phase, marker

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.phase):
            _write_marker(self.marker, record.getMessage())
            time.sleep(600)


def _write_marker(marker: Path, text: str) -> None:
    """Write the marker whole or not at all: the test polls for it to exist and reads
    it at once (a plain write_text let it read the file empty, created but not written)."""
    partial = marker.with_name(marker.name + ".partial")
    partial.write_text(text)
    os.replace(partial, marker)


def _hang_publish(
    build_db: str, published_db: str, export_dir: str, phase: str, marker: str, tables: list[str]
) -> None:
    from xdr_warehouse import publish

    logger = logging.getLogger("xdr_warehouse.publish")
    logger.setLevel(logging.INFO)
    logger.addHandler(_HangAt(phase, Path(marker)))
    publish.publish(build_db, published_db, export_dir, tables)
    _write_marker(Path(marker), "finished without reaching the phase")


def start_hanging_publish(
    build_db: Path,
    published_db: Path,
    export_dir: Path,
    phase: str,
    marker: Path,
    tables: Sequence[str],
) -> subprocess.Popen:
    args = [str(build_db), str(published_db), str(export_dir), phase, str(marker), *tables]
    return subprocess.Popen([sys.executable, __file__, "hang-publish", *args], env=_child_env())


# --------------------------------------------------------------------------- data


def make_build_db(path: Path, rows: int = 1000, seed: int = 0) -> None:
    """A small build database: two public marts with comments, NOT NULL and varied
    types, plus staging/intermediate relations that must never be published."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema staging; create schema intermediate")
        con.execute(
            f"""
            create table marts.customer_engagement as
            select 33600000000 + i as msisdn,
                   (i * 7 + {seed}) % 50 as session_count,
                   cast((i * 13 + {seed}) % 1000 as decimal(38, 0)) as total_traffic_bytes,
                   timestamp '2019-04-01 00:00:00' + to_minutes(i + {seed}) as first_session_at,
                   ['a', 'b'][1 + (i % 2)] as label,
                   [i, i + {seed}] as list_value
            from range({rows}) as t(i)
            """
        )
        con.execute(
            f"""
            create table marts.xdr_load_audit as
            select 'file_' || i || '.csv' as source_file, {rows} + i * {seed} as records_read
            from range(3) as t(i)
            """
        )
        con.execute("alter table marts.customer_engagement alter column msisdn set not null")
        con.execute(
            "comment on table marts.customer_engagement is 'One row per customer; it''s a test.'"
        )
        con.execute("comment on column marts.customer_engagement.msisdn is 'Customer number.'")
        con.execute("comment on column marts.customer_engagement.session_count is 'Sessions.'")
        con.execute("comment on table marts.xdr_load_audit is 'One row per loaded file.'")
        con.execute("comment on column marts.xdr_load_audit.records_read is 'Records read.'")
        con.execute("create table staging.stg_xdr__records as select 1 as x")
        con.execute("create view intermediate.int_xdr__sessions as select 1 as x")


def derive_build_db(source: Path, target: Path, modulo: int = 3) -> None:
    """A second dataset from a build database: a copy without every ``modulo``-th row of
    each marts table (same types and comments, different counts and checksums)."""
    shutil.copyfile(source, target)
    with duckdb.connect(str(target)) as con:
        tables = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
        ).fetchall()
        for (table,) in tables:
            con.execute(f'delete from marts."{table}" where rowid % {modulo} = 0')
        con.execute("checkpoint")


def marts_tables(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]


def copy_project(dest: Path) -> Path:
    """Copy the dbt project (every *-path of dbt_project.yml, profiles.yml, python/) to
    ``dest``, without target/, logs/, data or databases; return ``dest``."""
    config = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    items = {"dbt_project.yml", "profiles.yml", "python", "packages.yml"}
    for key, value in config.items():
        if key.endswith("-paths"):
            items.update(value)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.duckdb", "*.duckdb.wal")
    for item in sorted(items):
        source = REPO / item
        if source.is_dir():
            shutil.copytree(source, dest / item, ignore=ignore)
        elif source.is_file():
            (dest / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / item)
    return dest


def run_xdr(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m xdr_warehouse run`` in a project copy, as `make run` does."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("XDR_", "DBT_"))}
    clean.update(env)
    clean["PYTHONPATH"] = str(project / "python")
    return subprocess.run(
        [sys.executable, "-m", "xdr_warehouse", "run", *args],
        cwd=project,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,
    )


# --------------------------------------------------------------------------- folders


def _run_quietly(*command: str) -> bool:
    return subprocess.run(command, capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[str]:
    """Make ``folder`` read-only for this process; yield how.

    Not root: chmod 0555. Root ignores permission bits, so: a read-only bind
    mount of the folder onto itself. Yields "" when neither is possible.
    """
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield "chmod"
        finally:
            folder.chmod(mode)
        return
    if not (
        _run_quietly("mount", "--bind", str(folder), str(folder))
        and _run_quietly("mount", "-o", "remount,ro,bind", str(folder))
    ):
        _run_quietly("umount", str(folder))
        yield ""
        return
    try:
        yield "read-only bind mount"
    finally:
        _run_quietly("umount", str(folder))


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str) -> Iterator[bool]:
    """Mount a tmpfs of ``size`` on ``folder`` (root only); yield whether it worked."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _run_quietly(
        "mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)
    ):
        yield False
        return
    try:
        yield True
    finally:
        _run_quietly("umount", str(folder))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command.startswith("read-"):
        source, out, stop, interval, *tables = arguments
        _reader_loop(command, Path(source), Path(out), Path(stop), float(interval), tables)
    elif command == "hang-publish":
        _hang_publish(*arguments[:5], arguments[5:])
    else:
        raise SystemExit(f"unknown command {command}")
