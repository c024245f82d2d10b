"""Incremental loads: files added one by one give the same warehouse as one load.

The rule (ingest's raw.xdr_files, int_records_loaded, macros/xdr_load.sql): a
file is identified by its absolute path and versioned by its "size:mtime"
signature. A build reads only the file versions of the input not loaded yet; a
file changed or delivered again under the same name is a new version, read
once, and its old version drops out; a file that left the input stays loaded
but drops out of every mart.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from xdr_warehouse.dbt_runner import public_models
from xdr_warehouse.generate import generate_xdr

from conftest import LOAD_CHAIN, Workspace, new_workspace

pytestmark = pytest.mark.slow

#: Columns that describe when something ran, not what the data is.
TIME_COLUMNS = {"modified_at", "published_at", "model_fitted_at"}
LOAD_CHAIN_MARTS = ("customer_engagement", "xdr_load_audit", "xdr_quarantined_records")
STAGED = "intermediate.int_records_loaded"
FILES = "raw.xdr_files"


def build(ws: Workspace, folder: Path, select: list[str] | None = None) -> object:
    result = ws.dbt(["build", *(select or [])], folder)
    assert result.success, result.exception
    return result


def loaded_file_ids(result: object) -> str:
    """The file version ids int_records_loaded read in a build (from its compiled SQL)."""
    for node_result in result.result.results:
        if node_result.node.name == "int_records_loaded":
            sql = node_result.node.compiled_code
            return sql.split("where file_id in (", 1)[1].split(")", 1)[0]
    raise AssertionError("int_records_loaded did not run")


def file_id(ws: Workspace, name: str) -> str:
    """The id of the current version of a file."""
    return str(
        ws.query(f"select file_id from {FILES} where is_current and file_name = '{name}'")[0][0]
    )


def mart(ws: Workspace, table: str) -> pd.DataFrame:
    """A public mart without its time columns, in a canonical row order."""
    columns = [
        name
        for (name,) in ws.query(
            "select column_name from information_schema.columns"
            f" where table_schema = 'marts' and table_name = '{table}' order by ordinal_position"
        )
        if name not in TIME_COLUMNS
    ]
    select = ", ".join(f'"{name}"' for name in columns)
    frame = ws.df(f"select {select} from marts.{table} order by all")
    for column in frame.columns:
        if frame[column].dtype == object:  # lists (unknown_columns) as tuples
            frame[column] = frame[column].map(
                lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
            )
    return frame


def assert_same_marts(left: Workspace, right: Workspace, tables: tuple[str, ...]) -> None:
    for table in tables:
        pd.testing.assert_frame_equal(
            mart(left, table), mart(right, table), check_exact=False, rtol=1e-9, obj=table
        )


def staged_per_file(ws: Workspace) -> dict[str, int]:
    """Records loaded per file version, by file name (the same name counts every version)."""
    rows = ws.query(
        f"select f.file_name, count(*) from {STAGED} as s join {FILES} as f using (file_id)"
        " group by f.file_name"
    )
    return dict(rows)


def staged_identity(ws: Workspace) -> list[tuple]:
    """Per file: row ids, record numbers and a checksum of every staged row."""
    return ws.query(
        f"select file_id, count(*), min(rowid), max(rowid),"
        f" min(record_number), max(record_number), sum(hash(s)) from {STAGED} as s"
        " group by all order by all"
    )


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Three exports cut from one generated file (header on each; the summary row
    stays at the end of the last), with a malformed line in b and, in c, an exact
    copy of a record of a (a duplicate across files)."""
    source = tmp_path_factory.mktemp("source") / "xdr.csv"
    generate_xdr(source, 1_800, seed=11)
    header, *records = source.read_text().splitlines()
    a, b, c = records[:600], records[600:1200], records[1200:]
    b = [*b[:100], "a line,that the reader,cannot parse", *b[100:]]
    c = [*c[:50], a[10], *c[50:]]
    return {"a.csv": [header, *a], "b.csv": [header, *b], "c.csv": [header, *c]}


def write(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def one_by_one(
    parts: dict[str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Workspace, Workspace, Path]:
    """The same folder loaded file by file (workspace 1) and all at once (workspace 2)."""
    root = tmp_path_factory.mktemp("one_by_one")
    folder = root / "input"
    stepwise = new_workspace(root / "stepwise")
    for i, (name, lines) in enumerate(parts.items()):
        write(folder, name, lines)
        last = i == len(parts) - 1
        build(stepwise, folder, None if last else LOAD_CHAIN)
    at_once = new_workspace(root / "at_once")
    build(at_once, folder)
    return stepwise, at_once, folder


def test_loading_files_one_by_one_gives_the_same_marts_as_all_at_once(
    one_by_one: tuple[Workspace, Workspace, Path],
) -> None:
    stepwise, at_once, _ = one_by_one
    assert_same_marts(stepwise, at_once, public_models(at_once.settings))
    # the loaded records themselves are the same: numbers, lines, hashes, statuses
    columns = "f.file_name, record_number, line_number, record_hash, record_status"
    query = f"select {columns} from {STAGED} join {FILES} as f using (file_id) order by all"
    assert stepwise.query(query) == at_once.query(query)
    # the malformed line of b and the copy in c are accounted for in both
    quarantine = stepwise.query(
        "select quarantine_reason, line_number from marts.xdr_quarantined_records"
        " where quarantine_reason in ('malformed_line', 'duplicate_record') order by all"
    )
    assert quarantine == [("duplicate_record", 52), ("malformed_line", 102)]


def test_rerun_without_new_files_reads_nothing_and_changes_nothing(
    one_by_one: tuple[Workspace, Workspace, Path],
) -> None:
    stepwise, _, folder = one_by_one
    before_staged = staged_identity(stepwise)
    before_marts = {t: mart(stepwise, t) for t in public_models(stepwise.settings)}

    result = build(stepwise, folder)

    assert loaded_file_ids(result) == "null"  # no file was read
    assert staged_identity(stepwise) == before_staged  # same rows, same row ids
    for table, frame in before_marts.items():
        pd.testing.assert_frame_equal(mart(stepwise, table), frame, obj=table)


def test_modified_file_is_reloaded_once_and_removed_file_leaves_the_marts(
    parts: dict[str, list[str]], workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "input"
    for name, lines in parts.items():
        write(folder, name, lines)
    build(workspace, folder, LOAD_CHAIN)
    staged_before = staged_per_file(workspace)

    # c.csv delivered again under the same name, with 40 records less and one changed
    header, *records = parts["c.csv"]
    changed = records[:-41] + records[-1:]
    changed[5] = "9" + changed[5]  # another Bearer Id
    path = write(folder, "c.csv", [header, *changed])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    result = build(workspace, folder, LOAD_CHAIN)

    assert loaded_file_ids(result) == file_id(workspace, "c.csv")  # c only
    staged = staged_per_file(workspace)
    # the new version read once; the old one stays loaded but out of every mart
    assert staged == {**staged_before, "c.csv": staged_before["c.csv"] + len(changed)}
    current = workspace.query(
        "select count(*) from intermediate.int_records_current where source_file like '%c.csv'"
    )
    assert current == [(len(changed),)]
    fresh = new_workspace(tmp_path / "fresh")
    build(fresh, folder, LOAD_CHAIN)
    assert_same_marts(workspace, fresh, LOAD_CHAIN_MARTS)

    # b.csv leaves the folder: it stays staged, but no mart counts it any more
    (folder / "b.csv").unlink()
    build(workspace, folder, LOAD_CHAIN)
    assert staged_per_file(workspace) == staged
    files = {
        Path(f).name for (f,) in workspace.query("select source_file from marts.xdr_load_audit")
    }
    assert files == {"a.csv", "c.csv"}
    shutil.rmtree(fresh.root)
    fresh = new_workspace(tmp_path / "fresh_without_b")
    build(fresh, folder, LOAD_CHAIN)
    assert_same_marts(workspace, fresh, LOAD_CHAIN_MARTS)


def test_customer_buckets_give_the_same_customers(
    one_by_one: tuple[Workspace, Workspace, Path],
) -> None:
    """Above var('customer_bucket_sessions') loaded records, int_customers_aggregated
    aggregates the customers in buckets (one statement each): same table."""
    _, at_once, folder = one_by_one
    query = "select * from intermediate.int_customers_aggregated order by msisdn"
    one_pass = at_once.query(query)
    result = at_once.dbt(
        ["run", "--select", "int_customers_aggregated"], folder, customer_bucket_sessions=400
    )
    assert result.success, result.exception
    log = (at_once.settings.log_dir / "dbt.log").read_text()
    assert log.count('insert into "build"."intermediate"."int_customers_aggregated"') >= 4
    assert at_once.query(query) == one_pass
