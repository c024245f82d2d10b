"""The raw layer on Spark: what dbt's sources read when the engine is ``spark``.

The counterpart of :mod:`xdr_warehouse.ingest.raw_duckdb`, with the same
relations in database ``raw`` of the Spark catalog (the Hive metastore of
:mod:`xdr_warehouse.spark.session`, tables under ``warehouse/spark/raw.db``):

- ``raw.xdr_files``: one row per version of an input file, the same columns
  and meaning as DuckDB's (``is_current`` marks the current input);
- ``raw.xdr_line_notes``: lines the pre-scan re-encoded or found too long;
- ``raw.xdr_lines``: one row per data line of every current text export:
  ``file_id``, ``field_positions``, ``field_count``, ``line`` (NULL for an
  empty line, as DuckDB gives) and ``line_number`` (header = 1);
- ``raw.xdr_parquet_rows``: one row per row of every current Parquet export:
  ``file_id``, ``record_number`` and the 55 columns under their staging names,
  numbers as DOUBLE, everything else as STRING, matched by position;
- ``audit.applied_file_versions``: dbt's source ``build_state``, created empty
  as on DuckDB; it stays empty, since every Spark build is a full build.

Why Parquet tables, not views over the files: a temporary view lives in one
SparkSession (dbt-spark ``method: session`` in the same process would see it,
a ``dbt`` started by hand or a Thrift server would not), and ``raw.xdr_lines``
cannot be a temporary view at all: temporary views have no database, and a
global temporary view lives in ``global_temp``. And exact line numbers take
a count of the lines in each block of the file first (:func:`_lines_of`),
which no view does. So ingest copies each file version once into a managed Parquet table
partitioned by ``file_id`` (``raw.xdr_line_store``, ``raw.xdr_parquet_store``):
a table in the metastore is visible to every session and process, its files
can be read by executors of a standalone cluster (same machine here; on a
real cluster the warehouse folder must be shared storage), and a version
already stored is not copied again. The versions that are no longer current
are dropped, so the store holds the current input only, as DuckDB's views do.

Spark has no transactions over Parquet tables, so nothing is rewritten in
place that an interrupted ingest could lose: file versions and notes are only
appended (``raw.xdr_file_versions``, ``raw.xdr_line_notes``; a file id is
never reused, even after a crash between the two), the current set is the
small table ``raw.xdr_current_files``, and ``raw.xdr_files``, ``raw.xdr_lines``
and ``raw.xdr_parquet_rows`` are views joining them; their SQL is fixed text.

Every value from outside (paths, names, headers) goes to Spark through the
DataFrame API (``spark.read.text(path)``, ``createDataFrame``), never through
SQL text; the engine reads the landing link (``InputFile.read_path``, a hex
name), never the user's path.

Lines: ``spark.read.text`` splits on ``\\n``, ``\\r\\n`` and a lone ``\\r``
(Hadoop's LineReader: ``\\r\\n`` is one line end, the ``\\r`` does not stay in
the line), which is what DuckDB's reader does with the ``new_line`` ingest
found, so ``InputFile.new_line`` is not needed here (the ``lineSep`` option
would split on exactly one sequence: ``\\r\\n`` would keep a lone ``\\n`` inside
a line, where DuckDB splits). One difference: DuckDB, told ``new_line='\\r\\n'``,
drops the character after a lone ``\\r``; Spark keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
)

from xdr_warehouse.columns import RAW_COLUMNS
from xdr_warehouse.ingest.files import XdrInputError
from xdr_warehouse.ingest.inputs import NUMERIC_KINDS, InputFile
from xdr_warehouse.ingest.raw_duckdb import LandedFile, assign_file_ids, note_rows
from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.session import spark_session
from xdr_warehouse.sql import quote_spark_identifier

SCHEMA = "raw"
AUDIT_SCHEMA = "audit"
APPLIED = f"{AUDIT_SCHEMA}.applied_file_versions"
VERSIONS = f"{SCHEMA}.xdr_file_versions"
CURRENT = f"{SCHEMA}.xdr_current_files"
NOTES = f"{SCHEMA}.xdr_line_notes"
LINE_STORE = f"{SCHEMA}.xdr_line_store"
PARQUET_STORE = f"{SCHEMA}.xdr_parquet_store"

#: ``raw.xdr_files`` without ``is_current`` (the view adds it).
VERSIONS_SCHEMA = StructType(
    [
        StructField("file_id", IntegerType(), False),
        StructField("source_file", StringType(), False),
        StructField("file_name", StringType(), False),
        StructField("file_format", StringType(), False),
        StructField("size_bytes", LongType(), False),
        StructField("modified_at", TimestampNTZType(), False),
        StructField("file_signature", StringType(), False),
        StructField("header", ArrayType(StringType(), False), False),
        StructField("field_positions", ArrayType(IntegerType(), False), False),
        StructField("field_count", IntegerType(), False),
        StructField("unknown_columns", ArrayType(StringType(), False), False),
        StructField("reader", StringType(), False),
        StructField("read_path", StringType(), False),
        StructField("record_count", LongType(), True),
        StructField("ingested_at", TimestampNTZType(), False),
    ]
)
CURRENT_SCHEMA = StructType([StructField("file_id", IntegerType(), False)])
APPLIED_SCHEMA = CURRENT_SCHEMA
NOTES_SCHEMA = StructType(
    [
        StructField("file_id", IntegerType(), False),
        StructField("line_number", LongType(), False),
        StructField("note", StringType(), False),
        StructField("detail", StringType(), False),
        StructField("raw_text", StringType(), True),
    ]
)
#: The stores: the partition column (file_id) comes last, as Spark stores it.
LINE_STORE_SCHEMA = StructType(
    [
        StructField("line_number", LongType(), False),
        StructField("line", StringType(), True),
        StructField("file_id", IntegerType(), False),
    ]
)


def _raw_type(kind: str) -> DataType:
    return DoubleType() if kind in NUMERIC_KINDS else StringType()


PARQUET_STORE_SCHEMA = StructType(
    [
        StructField("record_number", LongType(), False),
        *(StructField(c.name, _raw_type(c.kind), True) for c in RAW_COLUMNS),
        StructField("file_id", IntegerType(), False),
    ]
)

_VERSION_COLUMNS = ", ".join(f"versions.{f.name}" for f in VERSIONS_SCHEMA.fields)
_PARQUET_COLUMNS = ", ".join(f"store.{quote_spark_identifier(c.name)}" for c in RAW_COLUMNS)
VIEWS = {
    "xdr_files": f"""
        select {_VERSION_COLUMNS}, current_files.file_id is not null as is_current
        from {VERSIONS} as versions
        left join {CURRENT} as current_files on versions.file_id = current_files.file_id
    """,
    "xdr_lines": f"""
        select store.file_id, files.field_positions, files.field_count, store.line,
            store.line_number
        from {LINE_STORE} as store
        inner join {SCHEMA}.xdr_files as files on store.file_id = files.file_id
        where files.is_current
    """,
    "xdr_parquet_rows": f"""
        select store.file_id, store.record_number, {_PARQUET_COLUMNS}
        from {PARQUET_STORE} as store
        left semi join {CURRENT} as current_files on store.file_id = current_files.file_id
    """,
}


def _columns_ddl(schema: StructType) -> str:
    return ", ".join(
        f"{quote_spark_identifier(field.name)} {field.dataType.simpleString()}" for field in schema
    )


def create_raw_layer(spark: SparkSession) -> None:
    """Create database ``raw``, its (empty) tables and its views when they are missing,
    and dbt's (empty) source ``build_state``."""
    spark.sql(f"create database if not exists {SCHEMA}")
    spark.sql(f"create database if not exists {AUDIT_SCHEMA}")
    tables = [
        (APPLIED, APPLIED_SCHEMA, ""),
        (VERSIONS, VERSIONS_SCHEMA, ""),
        (CURRENT, CURRENT_SCHEMA, ""),
        (NOTES, NOTES_SCHEMA, ""),
        (LINE_STORE, LINE_STORE_SCHEMA, " partitioned by (file_id)"),
        (PARQUET_STORE, PARQUET_STORE_SCHEMA, " partitioned by (file_id)"),
    ]
    for name, schema, partitioning in tables:
        columns = _columns_ddl(schema)
        spark.sql(f"create table if not exists {name} ({columns}) using parquet{partitioning}")
    for name, select in VIEWS.items():
        spark.sql(f"create or replace view {SCHEMA}.{name} as {select}")


def _version_row(item: LandedFile, now: datetime) -> tuple:
    file = item.file
    return (
        item.file_id,
        file.source_file,
        file.file_name,
        file.file_format,
        file.size_bytes,
        file.modified_at,
        file.file_signature,
        list(file.header),
        list(file.field_positions),
        len(file.header),
        list(file.unknown_columns),
        file.reader,
        str(file.read_path),
        file.record_count,
        now,
    )


def _register(spark: SparkSession, files: Sequence[InputFile]) -> list[LandedFile]:
    """Give every file version an id, appending the versions (and notes) not seen before."""
    versions = spark.table(VERSIONS).select("file_id", "source_file", "file_signature")
    known = {(row.source_file, row.file_signature): row.file_id for row in versions.collect()}
    # a crash between appending notes and versions leaves notes of an unused id: skip it too
    last_note_id = spark.table(NOTES).agg(sf.max("file_id")).first()[0] or 0
    landed = assign_file_ids(files, known, max([*known.values(), last_note_id]) + 1)
    new = [item for item in landed if item.is_new]
    if new:
        notes = note_rows(new)
        if notes:
            spark.createDataFrame(notes, NOTES_SCHEMA).write.insertInto(NOTES)
        now = datetime.now()
        rows = [_version_row(x, now) for x in new]
        spark.createDataFrame(rows, VERSIONS_SCHEMA).write.insertInto(VERSIONS)
    return landed


@contextmanager
def _fixed_splits(spark: SparkSession) -> Iterator[None]:
    """Keep the split of a file into read tasks the same for the two passes of
    :func:`_lines_of`: Spark derives it from the cores of the executors, which
    may still be joining a standalone cluster."""
    key = "spark.sql.files.minPartitionNum"
    before = spark.conf.get(key, None)
    spark.conf.set(key, str(spark.sparkContext.defaultParallelism))
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def _lines_of(spark: SparkSession, file: InputFile) -> tuple[DataFrame, int]:
    """The data lines of a text export with their line numbers, and how many there are.

    Spark reads a file in blocks (one task each; a gzip file is one block),
    each block's lines in file order. A first pass counts the lines of each
    block (a few rows to the driver); the second numbers each line: lines in
    the blocks before it, plus its place in its block. The header (line 1) is
    dropped; an empty line becomes NULL.
    """
    text = spark.read.text(str(file.read_path))
    lines = text.select(
        sf.col("value").alias("line"),
        sf.col("_metadata.file_block_start").alias("block_start"),
        sf.monotonically_increasing_id().alias("row_id"),
    )
    blocks = (
        lines.groupBy("block_start")
        .agg(sf.count(sf.lit(1)).alias("lines"), sf.min("row_id").alias("first_row_id"))
        .orderBy("block_start")
        .collect()
    )
    offsets = []
    first_line = 1
    for block in blocks:
        offsets.append((block.block_start, first_line - block.first_row_id))
        first_line += block.lines
    offset_frame = spark.createDataFrame(offsets, "block_start long, offset long")
    numbered = (
        lines.join(sf.broadcast(offset_frame), "block_start")
        .select(
            (sf.col("row_id") + sf.col("offset")).alias("line_number"),
            sf.when(sf.col("line") != "", sf.col("line")).alias("line"),
        )
        .where(sf.col("line_number") > 1)
    )
    return numbered, max(first_line - 2, 0)


def _float_text(array: Any) -> Any:
    """A float Arrow array as DuckDB's text of each value (shortest round-trip, ``repr``)."""
    import numpy as np
    import pyarrow as pa

    if array.type == pa.float32():
        values = [None if v is None else str(np.float32(v)) for v in array.to_pylist()]
    else:
        values = [None if v is None else repr(v) for v in array.to_pylist()]
    return pa.array(values, pa.string())


def _with_float_text(columns: frozenset[str]) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """A ``mapInArrow`` function writing the float ``columns`` as text, as DuckDB does.

    DuckDB writes a DOUBLE as the shortest text that reads back as the same
    number, which is Python's ``repr`` (``7.34988305813349e+18``); Spark's cast
    uses Java 17's ``Double.toString``, which sometimes gives more digits
    (``7.3498830581334897E18``): another decimal value for a Bearer Id.
    """

    def convert(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            arrays = [
                _float_text(array) if name in columns else array
                for name, array in zip(batch.schema.names, batch.columns, strict=True)
            ]
            yield pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)

    return convert


def _parquet_rows_of(spark: SparkSession, file: InputFile) -> DataFrame:
    """The rows of a Parquet export: record number and the 55 columns, matched by position.

    Numbers become DOUBLE; the other columns STRING, a float stored in one (a
    Bearer Id read by pandas) written as DuckDB writes it (:func:`_float_text`).
    """
    frame = spark.read.parquet(str(file.read_path))
    width = len(frame.columns)
    by_position = frame.select("*", sf.col("_metadata.row_index").alias("xdr_row_index")).toDF(
        *[f"c{i}" for i in range(1, width + 1)], "xdr_row_index"
    )
    types = {f.name: f.dataType for f in by_position.schema.fields}
    as_text: set[str] = set()
    columns = [(sf.col("xdr_row_index") + 1).alias("record_number")]
    for column, position in zip(RAW_COLUMNS, file.field_positions, strict=True):
        source = sf.col(f"c{position}")
        kind = _raw_type(column.kind)
        if kind == StringType() and isinstance(types[f"c{position}"], (FloatType, DoubleType)):
            as_text.add(column.name)
            columns.append(source.alias(column.name))
        else:
            columns.append(source.cast(kind).alias(column.name))
    rows = by_position.select(*columns)
    if not as_text:
        return rows
    schema = StructType(
        [
            StructField(f.name, StringType(), True) if f.name in as_text else f
            for f in rows.schema.fields
        ]
    )
    return rows.mapInArrow(_with_float_text(frozenset(as_text)), schema)


def _stored_ids(spark: SparkSession, store: str) -> set[int]:
    """The file ids a store holds (its partitions: metadata only)."""
    return {int(row[0].split("=", 1)[1]) for row in spark.sql(f"show partitions {store}").collect()}


def _overwrite_partition(spark: SparkSession, rows: DataFrame, store: str, file_id: int) -> None:
    """Write ``rows`` as partition ``file_id`` of ``store``, replacing only that partition."""
    rows.createOrReplaceTempView("xdr_landing_rows")
    try:
        columns = ", ".join(quote_spark_identifier(name) for name in rows.columns)
        spark.sql(
            f"insert overwrite table {store} partition (file_id = {int(file_id)}) "
            f"select {columns} from xdr_landing_rows"
        )
    finally:
        spark.catalog.dropTempView("xdr_landing_rows")


def _store(spark: SparkSession, item: LandedFile) -> None:
    """Copy one file version's lines or rows into its partition of the store."""
    if item.file.reader == "parquet":
        _overwrite_partition(spark, _parquet_rows_of(spark, item.file), PARQUET_STORE, item.file_id)
        return
    with _fixed_splits(spark):
        lines, expected = _lines_of(spark, item.file)
        _overwrite_partition(spark, lines, LINE_STORE, item.file_id)
    stored = spark.table(LINE_STORE).where(sf.col("file_id") == item.file_id).count()
    if stored != expected:
        raise XdrInputError(
            f"{item.file.source_file}: {stored:,} of {expected:,} lines were stored "
            "(did the file change while it was read?); ingest again"
        )


def _drop(spark: SparkSession, store: str, file_ids: set[int]) -> None:
    for file_id in sorted(file_ids):
        spark.sql(f"alter table {store} drop if exists partition (file_id = {int(file_id)})")


def land(settings: Settings, files: Sequence[InputFile]) -> list[LandedFile]:
    """Record ``files`` as the current input and store the versions not stored yet.

    Returns each file with the id of its version, in the order given.
    """
    spark = spark_session(settings)
    create_raw_layer(spark)
    landed = _register(spark, files)
    current = {x.file_id for x in landed}
    for store, reader in ((LINE_STORE, "lines"), (PARQUET_STORE, "parquet")):
        stored = _stored_ids(spark, store)
        for item in landed:
            if item.file.reader == reader and item.file_id not in stored:
                _store(spark, item)
                stored.add(item.file_id)
    rows = [(file_id,) for file_id in sorted(current)]
    spark.createDataFrame(rows, CURRENT_SCHEMA).write.mode("overwrite").insertInto(CURRENT)
    for store in (LINE_STORE, PARQUET_STORE):
        _drop(spark, store, _stored_ids(spark, store) - current)
    return landed
