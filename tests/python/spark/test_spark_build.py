"""``xdr run`` on Spark publishes the same BI file as on DuckDB, and only a passing build.

One small generated input (20,000 records in the raw export format) goes through
the whole job on each engine: ingest, ``dbt build`` (on Spark: local mode, the
test run's one SparkSession, two dbt phases around the Python stage, every data
test and unit test), publish and report. The two published files are compared
table by table with :func:`spark.compare.compare_published`: the schema
(names, types, NOT NULL, comments) exactly, integers, texts, booleans and
times exactly, doubles within 1e-9 relative, the ranked lists row by row, the
quarantine and the load audit row by row.

Cluster labels: both engines fit k-means with the same Python code, settings
and seed on the same sample (customers drawn by an MD5 of the MSISDN), so the
fitted model is the same and its id (a digest of the fitted model) too; every
customer is then labelled in SQL by the nearest centroid. The labels are
compared by the adjusted Rand index (indifferent to how the clusters are
numbered; the issue's bar is 0.99), and, since the ids are ordered by
engagement on both engines, also id by id: a difference would show a
customer on a cluster boundary labelled differently, or ids numbered in
another order.

The Spark build is shared by the module (a build takes minutes); the last
test corrupts its raw layer so that one data test fails and checks that the
next run publishes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from pyspark.sql import SparkSession

from xdr_warehouse.settings import Settings
from xdr_warehouse.spark import raw
from xdr_warehouse.spark.build import last_build_problem

from .compare import compare_published
from .conftest import run_job

pytestmark = pytest.mark.spark

#: The data test the corrupted raw layer makes fail (tests/dbt/).
FAILING_TEST = "assert_every_line_of_every_file_was_read"


@pytest.fixture(scope="module")
def spark_run(spark_job_settings: Settings, small_csv: Path) -> Settings:
    """``xdr run`` on Spark into an empty Spark catalog (the test run's session and folders)."""
    assert run_job(spark_job_settings, small_csv) == 0
    return spark_job_settings


def published(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_spark_job_publishes_what_duckdb_publishes(
    spark_run: Settings, duckdb_run: Settings
) -> None:
    comparison = compare_published(duckdb_run.published_db, spark_run.published_db)
    assert comparison.problems == []
    assert comparison.adjusted_rand_index is not None
    assert comparison.adjusted_rand_index >= 0.99

    info = "select distinct engine, publish_mode from marts.publish_info"
    assert published(duckdb_run.published_db, info) == [("duckdb", "file")]
    assert published(spark_run.published_db, info) == [("spark", "full")]
    tables = "select table_name, row_count from marts.publish_info order by table_name"
    spark_tables = published(spark_run.published_db, tables)
    assert spark_tables == published(duckdb_run.published_db, tables)
    assert len(spark_tables) == 10
    assert dict(spark_tables)["customer_engagement"] > 1_000

    # the same fitted model, and every customer in the same engagement-ordered cluster
    models = "select distinct cluster_model_id from marts.customer_clusters"
    assert published(spark_run.published_db, models) == published(duckdb_run.published_db, models)
    labels = "select msisdn, cluster_id, engagement_level from marts.customer_clusters order by 1"
    spark_labels = published(spark_run.published_db, labels)
    assert spark_labels == published(duckdb_run.published_db, labels)
    assert {level for _, _, level in spark_labels} == {"low", "medium", "high"}

    # the report was written from the file Spark published
    assert (spark_run.report_dir / "engagement_report.html").stat().st_size > 10_000


def test_spark_reads_the_parquet_exports_duckdb_wrote(
    spark: SparkSession, duckdb_run: Settings
) -> None:
    """The exports are Parquet format v2 (DELTA_BINARY_PACKED integers): Spark's
    vectorized reader gets every row and value of the published file."""
    tables = ("customer_application_traffic", "customer_clusters")
    for table in tables:
        path = duckdb_run.export_dir / "current" / f"{table}.parquet"
        described = published(duckdb_run.published_db, f"describe marts.{table}")
        columns = [row[0] for row in described]
        frame = spark.read.parquet(str(path))
        assert frame.columns == columns
        key = ", ".join(columns)
        expected = published(
            duckdb_run.published_db, f"select {key} from marts.{table} order by {key}"
        )
        rows = [tuple(row) for row in frame.orderBy(*columns).collect()]
        assert len(rows) > 1_000 and rows == expected, table


def test_the_comparison_sees_a_difference(
    spark_run: Settings, duckdb_run: Settings, tmp_path: Path
) -> None:
    """compare_published is not blind: one count, one double and one label changed."""
    tampered = tmp_path / "tampered.duckdb"
    shutil.copyfile(spark_run.published_db, tampered)
    tampered.chmod(0o644)
    with duckdb.connect(str(tampered)) as con:
        con.execute(
            "update marts.customer_engagement set session_count = session_count + 1 "
            "where msisdn = (select min(msisdn) from marts.customer_engagement)"
        )
        con.execute(
            "update marts.engagement_cluster_summary set avg_value = avg_value * (1 + 1e-6) "
            "where cluster_id = 0"
        )
        con.execute(
            "update marts.customer_clusters set cluster_id = (cluster_id + 1) % 3 "
            "where msisdn in (select msisdn from marts.customer_clusters order by msisdn "
            "limit 300)"
        )
    comparison = compare_published(duckdb_run.published_db, tampered)
    text = "\n".join(comparison.problems)
    assert "customer_engagement.session_count: 1 rows differ" in text
    assert "engagement_cluster_summary.avg_value" in text
    assert comparison.adjusted_rand_index is not None
    assert comparison.adjusted_rand_index < 0.99


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_failing_data_test_publishes_nothing(
    spark: SparkSession, spark_run: Settings, small_csv: Path, capsys: pytest.CaptureFixture
) -> None:
    """Ingest says the file has one record more than the build reads: a data test fails."""
    before = file_digest(spark_run.published_db)
    rows = spark.table(raw.VERSIONS).collect()
    corrupted = [row.asDict() | {"record_count": row.record_count + 1} for row in rows]
    frame = spark.createDataFrame(corrupted, raw.VERSIONS_SCHEMA)
    frame.write.mode("overwrite").insertInto(raw.VERSIONS)
    capsys.readouterr()

    assert run_job(spark_run, small_csv) == 1

    err = capsys.readouterr().err
    assert FAILING_TEST in err
    assert "nothing was published" in err
    assert file_digest(spark_run.published_db) == before
    problem = last_build_problem(spark)
    assert problem is not None
    assert FAILING_TEST in problem
