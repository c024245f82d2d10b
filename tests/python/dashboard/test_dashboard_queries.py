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
    PUBLISH_INFO_SQL,
    TOP_CUSTOMERS_COMPUTED_SQL,
    Marts,
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


#: Every column of schema marts that the dashboard reads (docs/dashboard.md lists them too).
READS: dict[str, set[str]] = {
    "publish_info": {"publish_id", "published_at_utc", "engine", "duckdb_version"},
    "customer_engagement": {
        "msisdn",
        "session_count",
        "bearer_id_session_count",
        "total_duration_ms",
        "total_dl_bytes",
        "total_ul_bytes",
        "total_traffic_bytes",
        "first_session_started_at",
        "last_session_ended_at",
    },
    "top_customers_by_engagement": {
        "metric",
        "rank",
        "tie_rank",
        "msisdn",
        "metric_value",
        "same_value_customer_count",
        "is_tied",
    },
    "customer_clusters": {"msisdn", "cluster_id", "engagement_level"},
    "engagement_cluster_summary": {
        "cluster_id",
        "engagement_level",
        "metric",
        "min_value",
        "max_value",
        "avg_value",
        "customer_count",
        "customer_share",
        "cluster_model_id",
        "model_fitted_at",
    },
    "engagement_elbow": {
        "k",
        "inertia",
        "is_elbow",
        "elbow_method",
        "sample_size",
        "customer_count",
        "distinct_point_count",
        "scaler",
        "seed",
    },
    "customer_application_traffic": {
        "msisdn",
        "application",
        "dl_bytes",
        "ul_bytes",
        "total_bytes",
    },
    "top_users_by_application": {
        "application",
        "rank",
        "tie_rank",
        "msisdn",
        "dl_bytes",
        "ul_bytes",
        "total_bytes",
    },
    "application_usage": {
        "application",
        "display_order",
        "total_dl_bytes",
        "total_ul_bytes",
        "total_bytes",
        "unattributed_bytes",
        "user_count",
        "session_count",
        "traffic_share",
        "usage_rank",
        "is_top_application",
    },
    "xdr_load_audit": {
        "read_record_count",
        "loaded_record_count",
        "quarantined_record_count",
        "summary_row_count",
        "malformed_line_count",
        "invalid_value_count",
        "missing_value_count",
        "negative_value_count",
        "percent_out_of_range_count",
        "end_before_start_count",
        "duplicate_record_count",
        "text_reencoded_count",
        "unattributed_record_count",
        "unattributed_traffic_bytes",
        "no_bearer_id_record_count",
    },
}


def run_every_query(con: duckdb.DuckDBPyConnection) -> None:
    """Each query of queries.py once (both top-N paths), on ``con``'s schema marts."""
    con.execute(PUBLISH_INFO_SQL).fetchall()
    marts = Marts(con, info=None)  # type: ignore[arg-type] - the pages' queries need no publish
    marts.totals()
    marts.load_audit()
    marts.quarantine_by_reason()
    for metric in METRICS:
        marts.top_customers(metric, 5)
        marts.top_customers(metric, 50)
    msisdn = int(marts.top_customers("sessions", 1)["msisdn"][0])
    marts.customer(msisdn)
    marts.customer_applications(msisdn)
    marts.cluster_summary()
    marts.cluster_model()
    marts.elbow()
    marts.application_usage()
    marts.top_users("Gaming")


def test_the_dashboard_reads_exactly_these_columns(published_db: Path) -> None:
    """Hide each column of the fixture's marts in turn (rename it): the queries fail
    exactly for the columns in READS, so READS is what a contract change must keep."""
    with duckdb.connect() as con:
        con.execute("attach ? as published (read_only)", [str(published_db)])
        tables = con.execute(
            "select table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns "
            "where table_catalog = 'published' and table_schema = 'marts' group by table_name"
        ).fetchall()
        con.execute("create schema marts")
        for table, _ in tables:
            con.execute(f"create table marts.{table} as from published.marts.{table}")
        con.execute("detach published")
        run_every_query(con)

        reads: dict[str, set[str]] = {}
        for table, columns in tables:
            for column in columns:
                con.execute(f'alter table marts.{table} rename "{column}" to "{column}_hidden"')
                try:
                    run_every_query(con)
                except duckdb.Error:
                    reads.setdefault(table, set()).add(column)
                con.execute(f'alter table marts.{table} rename "{column}_hidden" to "{column}"')
    assert reads == READS
