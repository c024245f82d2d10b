"""The dashboard's data access (queries.py): publishes, missing files, bound parameters."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from xdr_warehouse.dashboard import queries
from xdr_warehouse.dashboard.queries import (
    METRICS,
    TOP_CUSTOMERS_COMPUTED_SQL,
    PublishedWarehouse,
    WarehouseUnavailableError,
)

from .conftest import SECOND_PUBLISH, expected
from .dashboard_fixture import FixturePublish, build_fixture_warehouse

DASHBOARD = Path(queries.__file__).parent
#: A table of schema marts, or a select ... from.
SQL = re.compile(r"\bmarts\.[a-z_]+|\bselect\b[\s\S]*\bfrom\b")


def customer_count(warehouse: PublishedWarehouse) -> tuple[str, int]:
    with warehouse.snapshot() as marts:
        return marts.publish.publish_id, int(marts.totals()["customer_count"][0])


def test_an_open_reader_sees_the_next_atomic_publish(tmp_path: Path) -> None:
    published = build_fixture_warehouse(tmp_path / "engagement.duckdb")
    warehouse = PublishedWarehouse(published)
    try:
        assert customer_count(warehouse) == (FixturePublish().publish_id, 300)

        # A publish: a complete new file under a temporary name, renamed onto the path.
        build_fixture_warehouse(tmp_path / ".engagement.duckdb.new", SECOND_PUBLISH)
        os.replace(tmp_path / ".engagement.duckdb.new", published)
        assert customer_count(warehouse) == (SECOND_PUBLISH.publish_id, SECOND_PUBLISH.customers)

        # And back again: each publish is a new inode, so each one is seen.
        build_fixture_warehouse(tmp_path / ".engagement.duckdb.new")
        os.replace(tmp_path / ".engagement.duckdb.new", published)
        assert customer_count(warehouse) == (FixturePublish().publish_id, 300)
    finally:
        warehouse.close()


def test_a_connection_that_is_not_reopened_keeps_the_old_publish(tmp_path: Path) -> None:
    """Why the reader reopens: the connection it holds still reads the replaced file."""
    published = build_fixture_warehouse(tmp_path / "engagement.duckdb")
    with duckdb.connect(str(published), read_only=True) as pinned:
        build_fixture_warehouse(tmp_path / "next.duckdb", SECOND_PUBLISH)
        os.replace(tmp_path / "next.duckdb", published)
        (count,) = pinned.execute("select count(*) from marts.customer_engagement").fetchone()
        assert count == 300


def test_no_file_no_marts_and_a_removed_file_are_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "engagement.duckdb"
    warehouse = PublishedWarehouse(path)
    with pytest.raises(
        WarehouseUnavailableError, match=r"No published warehouse yet at .*make run"
    ):
        customer_count(warehouse)

    duckdb.connect(str(path)).close()
    with pytest.raises(WarehouseUnavailableError, match="has no published marts"):
        customer_count(warehouse)

    build_fixture_warehouse(path)
    assert customer_count(warehouse)[1] == 300
    path.unlink()
    with pytest.raises(WarehouseUnavailableError, match="No published warehouse yet"):
        customer_count(warehouse)

    path.write_text("not a database")
    with pytest.raises(WarehouseUnavailableError, match="Cannot open"):
        customer_count(warehouse)


def test_the_published_file_is_opened_read_only(published_db: Path) -> None:
    warehouse = PublishedWarehouse(published_db)
    try:
        with (
            warehouse.snapshot() as marts,
            pytest.raises(duckdb.Error, match="read-only"),
        ):
            marts.frame("create table marts.scratch (x integer)")
    finally:
        warehouse.close()


@pytest.mark.parametrize("metric", METRICS)
def test_top_10_from_the_mart_equals_the_computed_top_10(published_db: Path, metric: str) -> None:
    """N <= 10 comes from top_customers_by_engagement, N > 10 from customer_engagement:
    the two answers must agree where both exist (same ranks, ties and counts)."""
    warehouse = PublishedWarehouse(published_db)
    try:
        with warehouse.snapshot() as marts:
            from_mart = marts.top_customers(metric, 10)
            computed = marts.frame(TOP_CUSTOMERS_COMPUTED_SQL, (metric, 10))
            eleven = marts.top_customers(metric, 11)
    finally:
        warehouse.close()
    pd.testing.assert_frame_equal(from_mart, computed, check_dtype=False)
    pd.testing.assert_frame_equal(eleven.head(10), from_mart, check_dtype=False)
    assert len(eleven) == 11


def test_bad_metric_or_n_is_refused(published_db: Path) -> None:
    warehouse = PublishedWarehouse(published_db)
    try:
        with warehouse.snapshot() as marts:
            with pytest.raises(ValueError, match="unknown metric"):
                marts.top_customers("session_count", 10)
            for n in (0, 101):
                with pytest.raises(ValueError, match="N must be 1..100"):
                    marts.top_customers("sessions", n)
    finally:
        warehouse.close()


def test_text_from_people_is_bound_not_spliced(published_db: Path) -> None:
    warehouse = PublishedWarehouse(published_db)
    try:
        with warehouse.snapshot() as marts:
            assert marts.top_users("Gaming' or '1' = '1").empty
            assert len(marts.top_users("Gaming")) == 10
    finally:
        warehouse.close()
    assert len(expected(published_db, "select * from marts.top_users_by_application")) == 70


def test_only_queries_py_holds_sql() -> None:
    """Adapting to renamed columns means editing queries.py only."""
    for module in DASHBOARD.glob("*.py"):
        if module.name == "queries.py":
            continue
        strings = [
            node.value.lower()
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        ]
        assert not [s for s in strings if SQL.search(s)], module.name
