"""The raw layer on Spark holds exactly what DuckDB's raw layer reads from the same files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import duckdb
import pytest
from dbt.adapters.spark.session import Connection
from pyspark.sql import SparkSession

from xdr_warehouse.columns import RAW_COLUMNS
from xdr_warehouse.generate import generate_xdr
from xdr_warehouse.ingest import InputFile, inspect_inputs, raw_duckdb
from xdr_warehouse.settings import Settings
from xdr_warehouse.spark import raw
from xdr_warehouse.spark.session import spark_conf

pytestmark = pytest.mark.spark

RECORDS = 2000
FILES_COLUMNS = (
    "file_id, source_file, file_name, file_format, size_bytes, modified_at, file_signature, "
    "header, field_positions, field_count, unknown_columns, reader, read_path, record_count, "
    "is_current"
)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated export in every shape the line reader must get right."""
    folder = tmp_path_factory.mktemp("exports")
    plain = folder / "a_plain.csv"
    generate_xdr(plain, RECORDS, seed=1)
    generate_xdr(folder / "b_gzip.csv.gz", RECORDS, seed=1)
    generate_xdr(folder / "c_pandas.parquet", RECORDS, seed=1)
    data = plain.read_bytes()
    (folder / "d_crlf.csv").write_bytes(data.replace(b"\n", b"\r\n"))
    lines = data.split(b"\n")
    # empty lines in the middle and at the end (a trailing newline after an empty line)
    (folder / "e_empty_lines.csv").write_bytes(
        b"\n".join([*lines[:10], b"", *lines[10:20], b"", b"", *lines[20:], b""]) + b"\n"
    )
    # a Windows-1252 line: ingest lands a re-encoded copy and notes the line
    lines[5] = lines[5] + b"\xe9"
    (folder / "f_cp1252.csv").write_bytes(b"\n".join(lines))
    return folder


@pytest.fixture
def fresh_raw(spark: SparkSession, spark_settings: Settings) -> Settings:
    """An empty raw layer: the file ids start at 1 again, as in a fresh DuckDB."""
    spark.sql(f"drop database if exists {raw.SCHEMA} cascade")
    return spark_settings


def duckdb_raw(files: list[InputFile]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    raw_duckdb.land(con, files)
    return con


def duckdb_lines(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(file_id, line_number, line) of DuckDB's raw.xdr_lines, numbered in the order read."""
    numbered, seen = [], {}
    for file_id, line in con.execute("select file_id, line from raw.xdr_lines").fetchall():
        seen[file_id] = seen.get(file_id, 1) + 1  # the header is line 1
        numbered.append((file_id, seen[file_id], line))
    return sorted(numbered)


def spark_lines(spark: SparkSession) -> list[tuple]:
    rows = spark.sql("select file_id, line_number, line from raw.xdr_lines").collect()
    return sorted(tuple(row) for row in rows)


def same_value(a: object, b: object) -> bool:
    both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return a == b or both_nan


def test_spark_raw_layer_equals_duckdb(
    spark: SparkSession, fresh_raw: Settings, export_dir: Path
) -> None:
    files = inspect_inputs(str(export_dir), fresh_raw.landing_dir)
    assert {f.new_line for f in files} == {"\n", "\r\n"}
    assert [f.reader for f in files].count("parquet") == 1
    assert any(f.notes for f in files)  # the Windows-1252 line
    # blocks of 64 kB: Spark reads each uncompressed file in about 12 tasks
    spark.conf.set("spark.sql.files.maxPartitionBytes", "65536")
    try:
        landed = raw.land(fresh_raw, files)
        assert spark.read.text(str(files[0].read_path)).rdd.getNumPartitions() >= 10
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert [(x.file_id, x.is_new) for x in landed] == [(i, True) for i in range(1, 7)]
    con = duckdb_raw(files)

    # every data line, numbered, empty lines NULL; the header is not a data line
    expected = duckdb_lines(con)
    actual = spark_lines(spark)
    assert len(actual) == 5 * RECORDS + 1 * 5 + 4 == len(expected)  # + summary rows, empties
    assert actual == expected
    assert sum(1 for _, _, line in actual if line is None) == 4

    described = [(r.col_name, r.data_type) for r in spark.sql("describe raw.xdr_lines").collect()]
    assert described == [
        ("file_id", "int"),
        ("field_positions", "array<int>"),
        ("field_count", "int"),
        ("line", "string"),
        ("line_number", "bigint"),
    ]
    positions = spark.sql(
        "select distinct file_id, field_positions, field_count from raw.xdr_lines"
    )
    assert sorted((r[0], list(r[1]), r[2]) for r in positions.collect()) == sorted(
        con.execute(
            "select distinct file_id, field_positions, field_count from raw.xdr_lines"
        ).fetchall()
    )

    # the Parquet file, row for row, under the staging names
    query = "select * from raw.xdr_parquet_rows order by file_id, record_number"
    spark_rows = spark.sql(query)
    duck = con.execute(query)
    assert spark_rows.columns == [d[0] for d in duck.description]
    assert spark_rows.columns[2:] == [c.name for c in RAW_COLUMNS]
    duck_rows = duck.fetchall()
    assert len(duck_rows) == RECORDS + 1
    for spark_row, duck_row in zip(spark_rows.collect(), duck_rows, strict=True):
        assert all(same_value(a, b) for a, b in zip(spark_row, duck_row, strict=True)), (
            spark_row,
            duck_row,
        )

    # the file registry and the pre-scan's notes
    files_query = f"select {FILES_COLUMNS} from raw.xdr_files order by file_id"
    spark_files = [
        tuple(list(v) if isinstance(v, list) else v for v in row)
        for row in spark.sql(files_query).collect()
    ]
    assert spark_files == [tuple(row) for row in con.execute(files_query).fetchall()]
    notes_query = "select * from raw.xdr_line_notes order by file_id, line_number"
    assert [tuple(r) for r in spark.sql(notes_query).collect()] == con.execute(
        notes_query
    ).fetchall()


def test_spark_land_keeps_ids_and_gives_a_changed_file_a_new_one(
    spark: SparkSession, fresh_raw: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    first, second = folder / "first.csv", folder / "second.csv"
    generate_xdr(first, 50, seed=3)
    generate_xdr(second, 60, seed=4)
    files = inspect_inputs(str(folder), fresh_raw.landing_dir)
    assert [(x.file_id, x.is_new) for x in raw.land(fresh_raw, files)] == [(1, True), (2, True)]
    # the same files again: the same ids, nothing new
    again = inspect_inputs(str(folder), fresh_raw.landing_dir)
    assert [(x.file_id, x.is_new) for x in raw.land(fresh_raw, again)] == [(1, False), (2, False)]
    assert spark.sql("select count(*) from raw.xdr_lines").first()[0] == 50 + 60 + 2

    # second.csv changes: a new version with a new id; its old version is no longer current
    generate_xdr(second, 70, seed=5)
    stat = second.stat()
    os.utime(second, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = inspect_inputs(str(folder), fresh_raw.landing_dir)
    assert [(x.file_id, x.is_new) for x in raw.land(fresh_raw, changed)] == [(1, False), (3, True)]
    current = spark.sql("select file_id, is_current from raw.xdr_files order by file_id").collect()
    assert [tuple(r) for r in current] == [(1, True), (2, False), (3, True)]
    counts = spark.sql("select file_id, count(*) from raw.xdr_lines group by file_id").collect()
    assert sorted(tuple(r) for r in counts) == [(1, 51), (3, 71)]
    expected = duckdb_lines(duckdb_raw(changed))
    assert spark_lines(spark) == [(3 if f == 2 else f, n, line) for f, n, line in expected]

    # dbt-spark's method session, in this process, reads them through this session
    cursor = Connection(server_side_parameters=spark_conf(fresh_raw)).cursor()
    cursor.execute("select file_id, count(*) from raw.xdr_lines group by file_id order by 1")
    assert [tuple(row) for row in cursor.fetchall()] == [(1, 51), (3, 71)]
    assert SparkSession.getActiveSession() is spark

    # the old version's copy is gone; only Parquet-less input: an empty, typed relation
    assert raw._stored_ids(spark, raw.LINE_STORE) == {1, 3}
    parquet_rows = spark.table("raw.xdr_parquet_rows")
    assert parquet_rows.count() == 0
    assert parquet_rows.columns == ["file_id", "record_number", *(c.name for c in RAW_COLUMNS)]


def test_spark_raw_relations_exist_before_any_input(
    spark: SparkSession, fresh_raw: Settings
) -> None:
    assert raw.land(fresh_raw, []) == []
    for name in ("xdr_files", "xdr_line_notes", "xdr_lines", "xdr_parquet_rows"):
        assert spark.table(f"raw.{name}").count() == 0
    assert spark.table("raw.xdr_lines").columns == [
        "file_id", "field_positions", "field_count", "line", "line_number"
    ]  # fmt: skip
