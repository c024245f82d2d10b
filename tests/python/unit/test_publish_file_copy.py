"""The publish of a build's public marts file on small hand-made files (no dbt).

dbt writes the public marts into a DuckDB file of their own, in the published
storage version; the publish copies that file byte for byte (mode ``file``),
drops from the copy what is not a public table, and audits the copy, so a
damaged copy publishes nothing. A file in another storage version, or with
changes still in its WAL, is published table by table instead (mode ``full``).
A table whose rows did not change keeps its Parquet export (a hard link).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse import publish as publish_module
from xdr_warehouse.publish import PublishError, publish

TABLES = ["customers", "summary", "regions"]


def make_marts(path: Path, values: dict[int, int], storage_version: str = "v1.0.0") -> None:
    """A marts file: ``marts.customers`` (one row per msisdn), ``marts.summary`` and
    the fixed ``marts.regions``."""
    path.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as m (storage_version '{storage_version}')")
        con.execute("create schema m.marts")
        con.execute("create table m.marts.customers (msisdn bigint not null, bytes bigint)")
        con.executemany("insert into m.marts.customers values (?, ?)", list(values.items()))
        con.execute("comment on table m.marts.customers is 'one row per customer'")
        con.execute(
            "create table m.marts.summary as select count(*) as customers, sum(bytes) as bytes "
            "from m.marts.customers"
        )
        con.execute("create table m.marts.regions as select * from (values ('north'), ('south'))")


def rows(path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select * from marts.{table} order by all").fetchall()


def relations(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()


def storage_version(path: Path) -> str:
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as f (read_only)")
        return con.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = 'f'"
        ).fetchall()[0][0]


def test_the_marts_file_is_copied_whole_audited_and_only_changed_exports_are_written(
    tmp_path: Path,
) -> None:
    marts, published, exports = tmp_path / "m.duckdb", tmp_path / "bi.duckdb", tmp_path / "pq"
    make_marts(marts, {1: 10, 2: 20, 3: 30})
    first = publish(marts, published, exports, TABLES, build_id="b1")
    assert first.mode == "file"
    make_marts(marts, {1: 10, 2: 25, 9: 90})

    result = publish(marts, published, exports, TABLES, build_id="b2")

    assert result.mode == "file"
    assert storage_version(published) == "v1.0.0+"
    for table in TABLES:
        assert rows(published, table) == rows(marts, table)
    assert relations(published) == [("marts", name) for name in sorted([*TABLES, "publish_info"])]
    with duckdb.connect(str(published), read_only=True) as con:
        recorded = dict(
            con.execute("select table_name, checksum from marts.publish_info").fetchall()
        )
        actual = con.execute(
            "select coalesce(sum(hash(t)), 0)::varchar from marts.customers as t"
        ).fetchone()[0]
        modes = con.execute("select distinct publish_mode from marts.publish_info").fetchall()
        comment = con.execute(
            "select comment from duckdb_tables() where table_name = 'customers'"
        ).fetchall()
    assert recorded["customers"] == actual and modes == [("file",)]
    assert comment == [("one row per customer",)]
    exported = duckdb.execute(
        "select * from read_parquet(?) order by all",
        [str(exports / "current" / "customers.parquet")],
    ).fetchall()
    assert exported == rows(marts, "customers")
    # regions did not change: its export is the first release's file, linked
    old, new = first.release_dir, result.release_dir
    assert (new / "regions.parquet").stat().st_ino == (old / "regions.parquet").stat().st_ino
    assert (new / "customers.parquet").stat().st_ino != (old / "customers.parquet").stat().st_ino


def test_what_is_not_a_public_table_is_dropped_from_the_copy(tmp_path: Path) -> None:
    marts, published, exports = tmp_path / "m.duckdb", tmp_path / "bi.duckdb", tmp_path / "pq"
    make_marts(marts, {1: 10})
    with duckdb.connect(str(marts)) as con:  # what an interrupted build could leave
        con.execute("create table marts.customers__dbt_backup as select 1 as x")
        con.execute("create view marts.some_view as select 1 as x")
        con.execute("create schema scratch")
        con.execute("create table scratch.t as select 1 as x")
    assert storage_version(marts) == "v1.0.0+"

    assert publish(marts, published, exports, TABLES).mode == "file"

    assert relations(published) == [("marts", name) for name in sorted([*TABLES, "publish_info"])]
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_views() where not internal").fetchall() == [
            (0,)
        ]
    assert ("marts", "customers__dbt_backup") in relations(marts)  # the build is untouched


@pytest.mark.parametrize("why", ["another storage version", "changes in its WAL"])
def test_a_file_that_cannot_be_copied_as_it_is_is_published_table_by_table(
    tmp_path: Path, why: str
) -> None:
    marts, published, exports = tmp_path / "m.duckdb", tmp_path / "bi.duckdb", tmp_path / "pq"
    if why == "another storage version":
        make_marts(marts, {1: 10, 2: 20}, storage_version="latest")
        assert storage_version(marts) != "v1.0.0+"
    else:
        make_marts(marts, {1: 10, 2: 20})
        marts.with_name(marts.name + ".wal").write_bytes(b"")

    result = publish(marts, published, exports, TABLES)

    assert result.mode == "full"
    assert storage_version(published) == "v1.0.0+"
    for table in TABLES:
        assert rows(published, table) == rows(marts, table)


def test_a_file_with_much_free_space_is_published_table_by_table_and_compact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish_module, "MAX_FREE_BYTES", 2**20)  # small files here
    marts, published, exports = tmp_path / "m.duckdb", tmp_path / "bi.duckdb", tmp_path / "pq"
    make_marts(marts, {1: 10, 2: 20})
    with duckdb.connect(str(marts)) as con:  # a replaced table leaves free blocks behind
        con.execute(
            "create table marts.old as select range as x, md5(range::varchar) as y "
            "from range(2000000)"
        )
        con.execute("checkpoint")
        con.execute("create table marts.later as select range as x from range(300000)")
        con.execute("checkpoint")
        con.execute("drop table marts.old")
        con.execute("checkpoint")
        total, free = con.execute(
            "select total_blocks, free_blocks from pragma_database_size()"
        ).fetchall()[0]
    assert free > publish_module.MAX_FREE_BLOCK_SHARE * total
    assert free * 2**18 > publish_module.MAX_FREE_BYTES

    assert publish(marts, published, exports, TABLES).mode == "full"

    assert published.stat().st_size < marts.stat().st_size / 2
    for table in TABLES:
        assert rows(published, table) == rows(marts, table)


@pytest.mark.parametrize("damage", ["a value changed", "a row deleted"])
def test_a_damaged_copy_is_caught_by_the_audit_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    marts, published, exports = tmp_path / "m.duckdb", tmp_path / "bi.duckdb", tmp_path / "pq"
    make_marts(marts, {1: 10, 2: 20, 3: 30})
    publish(marts, published, exports, TABLES, build_id="b1")
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    make_marts(marts, {1: 10, 2: 25, 3: 30})
    original = publish_module._write_info_table

    def info_then_damage(con: duckdb.DuckDBPyConnection, *args: object, **kw: object) -> None:
        original(con, *args, **kw)
        target = f"{publish_module._TARGET}.marts.customers"
        if damage == "a value changed":
            con.execute(f"update {target} set bytes = bytes + 1 where msisdn = 2")
        else:
            con.execute(f"delete from {target} where msisdn = 3")

    monkeypatch.setattr(publish_module, "_write_info_table", info_then_damage)
    expected = (
        r"customers rows differ from the build \(checksum\)"
        if damage == "a value changed"
        else "customers has 2 rows, the build 3"
    )
    with pytest.raises(PublishError, match=expected):
        publish(marts, published, exports, TABLES, build_id="b2")

    assert hashlib.sha256(published.read_bytes()).hexdigest() == before
    assert rows(published, "customers") == [(1, 10), (2, 20), (3, 30)]
    assert list(tmp_path.glob(".bi.duckdb*tmp*")) == []
