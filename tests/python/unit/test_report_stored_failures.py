"""The rows the warning-level tests stored (schema test_failures of the build database),
counted read-only for the report's data-quality section, on small hand-made build
databases."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse.report.stored_failures import StoredFailures, read_stored_failures

ODD_NAME = 'a test\'s "odd" name'


def make_build_db(path: Path, failures: dict[str, int]) -> Path:
    """A build database with schema marts and one test_failures table per entry."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create table marts.customer_engagement (msisdn bigint)")
        con.execute("insert into marts.customer_engagement values (1), (2), (3)")
        if failures:
            con.execute("create schema test_failures")
        for name, rows in failures.items():
            quoted = '"' + name.replace('"', '""') + '"'
            con.execute(
                f"create table test_failures.{quoted} as "
                f"select range as session_id, 'x' as detail from range({rows})"
            )
    return path


def run_command(command: str) -> int:
    """Run the SQL of a listed `duckdb -readonly DB -c SQL` command; return its row count."""
    program, flag, database, dash_c, sql = shlex.split(command)
    assert (program, flag, dash_c) == ("duckdb", "-readonly", "-c")
    with duckdb.connect(database, read_only=True) as con:
        return len(con.execute(sql).fetchall())


def test_every_table_of_test_failures_is_counted_by_name(tmp_path: Path) -> None:
    build_db = make_build_db(
        tmp_path / "build.duckdb",
        {
            "int_sessions_total_ul_is_the_seven_applications": 0,
            "int_sessions_seconds_column_is_floor_of_ms_column": 7,
        },
    )
    stored = read_stored_failures(build_db)
    assert stored == (
        StoredFailures(build_db, "int_sessions_seconds_column_is_floor_of_ms_column", 7),
        StoredFailures(build_db, "int_sessions_total_ul_is_the_seven_applications", 0),
    )
    first = stored[0]
    assert first.table == "test_failures.int_sessions_seconds_column_is_floor_of_ms_column"
    assert first.command == (
        f"duckdb -readonly {build_db} -c "
        '"select * from test_failures.int_sessions_seconds_column_is_floor_of_ms_column"'
    )
    assert [run_command(s.command) for s in stored] == [7, 0]


def test_the_build_database_is_shown_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "warehouse").mkdir()
    make_build_db(tmp_path / "warehouse" / "build.duckdb", {"t": 2})
    monkeypatch.chdir(tmp_path)
    (stored,) = read_stored_failures(Path("warehouse/build.duckdb"))
    assert stored.command == (
        'duckdb -readonly warehouse/build.duckdb -c "select * from test_failures.t"'
    )
    assert run_command(stored.command) == 2


def test_odd_names_and_paths_are_quoted_so_the_command_still_works(tmp_path: Path) -> None:
    folder = tmp_path / "my builds"
    folder.mkdir()
    build_db = make_build_db(folder / "build.duckdb", {ODD_NAME: 3})
    (stored,) = read_stored_failures(build_db)
    assert stored.rows == 3 and stored.name == ODD_NAME
    assert stored.table == 'test_failures."a test\'s ""odd"" name"'
    assert run_command(stored.command) == 3


def test_no_build_database_or_no_schema_lists_nothing(tmp_path: Path) -> None:
    assert read_stored_failures(None) == ()
    assert read_stored_failures(tmp_path / "missing.duckdb") == ()
    assert read_stored_failures(make_build_db(tmp_path / "build.duckdb", {})) == ()


def test_a_build_database_that_cannot_be_opened_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_duckdb = tmp_path / "build.duckdb"
    not_duckdb.write_text("not a database")
    with caplog.at_level(logging.WARNING):
        assert read_stored_failures(not_duckdb) == ()
    assert f"cannot open {not_duckdb} read-only" in caplog.text


def test_a_build_database_locked_by_a_running_build_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build_db = make_build_db(tmp_path / "build.duckdb", {"t": 1})
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(build_db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        with caplog.at_level(logging.WARNING):
            assert read_stored_failures(build_db) == ()
        assert f"cannot open {build_db} read-only" in caplog.text
    finally:
        writer.communicate("", timeout=30)
    assert [s.rows for s in read_stored_failures(build_db)] == [1]


def test_the_build_database_is_only_read(tmp_path: Path) -> None:
    build_db = make_build_db(tmp_path / "build.duckdb", {"t": 1})
    build_db.chmod(0o444)
    before = build_db.read_bytes()
    assert [s.rows for s in read_stored_failures(build_db)] == [1]
    assert build_db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb"]  # no WAL
