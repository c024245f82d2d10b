"""The incremental publish on small hand-made build databases (no dbt): the patched
file equals the build, and its audit reads the file as written, so a wrong patch
publishes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse import publish as publish_module
from xdr_warehouse.publish import PublishDelta, PublishError, publish

TABLES = ["customers", "summary"]


def make_build(path: Path, values: dict[int, int]) -> None:
    """A build database: ``marts.customers`` (one row per msisdn) and ``marts.summary``."""
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.customers (msisdn bigint not null, bytes bigint)")
        con.executemany("insert into marts.customers values (?, ?)", list(values.items()))
        con.execute(
            "create table marts.summary as select count(*) as customers, sum(bytes) as bytes "
            "from marts.customers"
        )


def rows(path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select * from marts.{table} order by all").fetchall()


def publish_twice(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Publish a build in full, then change customer 2, add customer 9 and remove 3."""
    build, published, exports = tmp_path / "build.duckdb", tmp_path / "bi.duckdb", tmp_path / "pq"
    make_build(build, {1: 10, 2: 20, 3: 30})
    assert publish(build, published, exports, TABLES, build_id="b1").mode == "full"
    make_build(build, {1: 10, 2: 25, 9: 90})
    return build, published, exports


DELTA = PublishDelta(base_build_id="b1", keys={"customers": "msisdn"}, changed=[2, 3, 9])


def test_an_incremental_publish_equals_the_build_and_says_which_tables_changed(
    tmp_path: Path,
) -> None:
    build, published, exports = publish_twice(tmp_path)

    result = publish(build, published, exports, TABLES, build_id="b2", delta=DELTA)

    assert result.mode == "incremental"
    for table in TABLES:
        assert rows(published, table) == rows(build, table)
    # the recorded checksum is the whole table's, as written
    with duckdb.connect(str(published), read_only=True) as con:
        recorded = dict(
            con.execute("select table_name, checksum from marts.publish_info").fetchall()
        )
        actual = con.execute(
            "select coalesce(sum(hash(t)), 0)::varchar from marts.customers as t"
        ).fetchone()[0]
    assert recorded["customers"] == actual
    exported = duckdb.execute(
        "select * from read_parquet(?) order by all",
        [str(exports / "current" / "customers.parquet")],
    ).fetchall()
    assert exported == rows(build, "customers")


@pytest.mark.parametrize(
    "wrong", ["no rows inserted", "wrong values inserted", "a copied table changed"]
)
def test_a_wrong_patch_is_caught_by_the_audit_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrong: str
) -> None:
    build, published, exports = publish_twice(tmp_path)
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    if wrong == "no rows inserted":
        # the changed customers are deleted but their new rows never inserted
        def patch(con: duckdb.DuckDBPyConnection, target: str, source: str, key: str) -> None:
            con.execute(f"delete from {target} where {key} in (select key from xdr_changed_keys)")

        monkeypatch.setattr(publish_module, "_replace_changed_rows", patch)
        expected = "customers has 1 rows, the build 3"
    elif wrong == "wrong values inserted":
        # as many rows as the build's, but not the build's values: only the hash tells
        original_replace = publish_module._replace_changed_rows

        def patch_wrong(con: duckdb.DuckDBPyConnection, target: str, source: str, key: str) -> None:
            original_replace(con, target, source, key)
            con.execute(f"update {target} set bytes = bytes + 1 where {key} = 2")

        monkeypatch.setattr(publish_module, "_replace_changed_rows", patch_wrong)
        expected = r"customers rows differ from the build \(checksum\)"
    else:
        # the whole-copied table is written with a wrong value
        original = publish_module._write_info_table

        def info_then_damage(con: duckdb.DuckDBPyConnection, *args: object, **kw: object) -> None:
            original(con, *args, **kw)
            con.execute(f"update {publish_module._TARGET}.marts.summary set bytes = bytes + 1")

        monkeypatch.setattr(publish_module, "_write_info_table", info_then_damage)
        expected = r"summary rows differ from the build \(checksum\)"

    with pytest.raises(PublishError, match=expected):
        publish(build, published, exports, TABLES, build_id="b2", delta=DELTA)

    assert hashlib.sha256(published.read_bytes()).hexdigest() == before
    assert rows(published, "customers") == [(1, 10), (2, 20), (3, 30)]
