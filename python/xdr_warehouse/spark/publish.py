"""Publishing a Spark build: the same BI file and Parquet exports as from DuckDB.

BI users keep one contract whatever the engine: ``warehouse/engagement.duckdb``
(schema ``marts``: the public tables, their columns, types and comments) and
the Parquet exports. A Spark build's marts live in Spark's catalog, so:

1. :func:`publish` checks that the Spark warehouse's last build passed and
   built every model (``audit.dbt_builds``, :func:`.build.last_build_problem`);
2. Spark writes each public mart as Parquet files (its executors write them,
   in parallel, nothing goes through the driver) into a folder under the
   scratch folder;
3. :func:`xdr_warehouse.publish.publish` builds the BI file from those files
   (:class:`~xdr_warehouse.publish.ParquetBuild`): DuckDB reads them, casts
   every column to the type of the contract (the models' YAML in dbt's
   manifest: DuckDB types, NOT NULL constraints and descriptions), audits the
   copy, writes the Parquet exports and swaps both in, as for a DuckDB build.
   ``publish_info.engine`` says ``spark``;
4. the Parquet files of step 2 are removed.

Every Spark build is a full build, so it is published in full.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from xdr_warehouse.dbt_runner import DbtError, public_models
from xdr_warehouse.publish import (
    SCHEMA,
    DuckDBLimits,
    ParquetBuild,
    PublishResult,
    _SourceTable,
)
from xdr_warehouse.publish import publish as publish_tables
from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.build import last_build_id, last_build_problem
from xdr_warehouse.spark.session import spark_session


class SparkPublishError(RuntimeError):
    """The Spark build cannot be published; the message is the one line to show."""


def _not_null(column: dict[str, Any], model_constraints: list[dict[str, Any]]) -> bool:
    """Whether the contract makes a column NOT NULL (not_null or primary_key)."""
    kinds = {c.get("type") for c in column.get("constraints", [])}
    if kinds & {"not_null", "primary_key"}:
        return True
    return any(
        c.get("type") == "primary_key" and column["name"] in (c.get("columns") or [])
        for c in model_constraints
    )


def _comment(text: str | None) -> str | None:
    """A description as the DuckDB build's comment (dbt-duckdb's persist_docs keeps it as is)."""
    return text if text else None


def contract_tables(settings: Settings, tables: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The BI contract of each public table, from dbt's manifest: comment and columns."""
    path = settings.target_path / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DbtError(f"{path}: cannot read dbt's manifest ({err}); run dbt build first") from err
    nodes = {
        node["name"]: node
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and node.get("name") in tables
    }
    contract = {}
    for name in tables:
        node = nodes[name]
        columns = tuple(
            (
                column["name"],
                column["data_type"],
                not _not_null(column, node.get("constraints", [])),
                _comment(column.get("description")),
            )
            for column in node["columns"].values()
        )
        contract[name] = _SourceTable(name, _comment(node.get("description")), columns)
    return contract


def export_marts(settings: Settings, tables: list[str] | tuple[str, ...], folder: Path) -> None:
    """Spark writes each public mart as Parquet files into ``folder/<table>/``."""
    spark = spark_session(settings)
    for table in tables:
        spark.table(f"{SCHEMA}.{table}").write.mode("overwrite").parquet(str(folder / table))


def publish(settings: Settings) -> PublishResult:
    """Publish the Spark warehouse's last build (it must have passed): see the module doc."""
    spark = spark_session(settings)
    problem = last_build_problem(spark)
    if problem:
        raise SparkPublishError(
            f"nothing published: {problem}; {settings.published_db} is unchanged"
        )
    tables = public_models(settings)
    contract = contract_tables(settings, tables)
    folder = settings.temp_dir / "spark" / "publish" / uuid.uuid4().hex
    try:
        export_marts(settings, tables, folder)
        return publish_tables(
            ParquetBuild(folder, contract, f"spark:{settings.spark_dir}"),
            settings.published_db,
            settings.export_dir,
            tables,
            storage_version=settings.publish_storage_version,
            parquet_version=settings.parquet_version,
            engine="spark",
            limits=DuckDBLimits(settings.memory_limit, settings.duckdb_threads),
            build_id=last_build_id(spark),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
