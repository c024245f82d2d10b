"""``xdr build`` on Spark: dbt build in two phases around the Python stage.

dbt-spark runs SQL models, data tests and unit tests on the process's
SparkSession (``method: session``), but no dbt Python model on open-source
Spark (dbt-labs/dbt-spark#415). The two Python models of the DuckDB build,
``engagement_cluster_model`` and ``engagement_elbow_curve``, are therefore
disabled on Spark (dbt_project.yml) and replaced by SQL twins of the same
names (models/marts/engagement/clustering/spark/) that read the tables this
module writes. A build is:

1. **phase 1**: ``dbt build`` of everything the two samples need
   (``+clustering_fit_sample +clustering_elbow_sample``) with the tests whose
   every parent is in it (``--indirect-selection cautious``);
2. **the Python stage**: the fit sample and the elbow sample, each bounded by
   its setting (``cluster_fit_sample_size``, ``elbow_sample_size``), are
   collected to the driver and given to the same functions the DuckDB Python
   models call (:mod:`xdr_warehouse.clustering.stage`), with the same settings
   (read from the twins' config in dbt's manifest, rendered from the same
   vars); the model and the elbow curve are written as tables of database
   ``clustering_stage`` (source ``clustering_stage``);
3. **phase 2**: ``dbt build`` of everything else (``--exclude`` the same
   selection, cautious: a test with a parent on each side runs here). Every
   customer is labelled in SQL by ``customer_clusters`` (nearest centroid of
   the model's scaled features), on the executors: no step collects every
   customer.

Every Spark build is a full build (macro ``should_full_refresh``,
docs/spark.md). Each dbt invocation records a row in ``audit.dbt_builds`` (the
on-run-end macro ``xdr_record_build``); this module adds one for the whole
build, the row ``xdr publish`` checks (:func:`last_build_problem`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
)

from xdr_warehouse.dbt_runner import DbtError, run_dbt, selects_nodes
from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.session import spark_session

log = logging.getLogger("xdr_warehouse")

PROJECT = "xdr_warehouse"
#: What phase 1 builds: the clustering samples and everything upstream of them.
SAMPLES_SELECTION = ("+clustering_fit_sample", "+clustering_elbow_sample")
#: The database the Python stage writes (dbt source ``clustering_stage``).
STAGE_DATABASE = "clustering_stage"
MODEL_TABLE = f"{STAGE_DATABASE}.cluster_models"
ELBOW_TABLE = f"{STAGE_DATABASE}.elbow_curves"
BUILDS_TABLE = "audit.dbt_builds"

BUILDS_SCHEMA = StructType(
    [
        StructField("invocation_id", StringType()),
        StructField("finished_at", TimestampNTZType()),
        StructField("passed", BooleanType()),
        StructField("failed_nodes", StringType()),
        StructField("full_refresh", BooleanType()),
        StructField("whole_project", BooleanType()),
        StructField("full_build", BooleanType()),
    ]
)


@dataclass(frozen=True)
class StageResult:
    """What the Python stage fitted: customers in each sample, the model's id."""

    fit_customers: int
    elbow_customers: int
    cluster_model_id: str
    seconds: float

    def summary(self) -> str:
        return (
            f"python stage: k-means fitted on {self.fit_customers:,} customers "
            f"(model {self.cluster_model_id or 'none'}), elbow on {self.elbow_customers:,}, "
            f"in {self.seconds:.1f} s"
        )


def _check_args(args: Sequence[str]) -> None:
    for arg in args:
        if selects_nodes([arg]):
            raise DbtError(
                f"{arg}: on Spark `xdr build` builds the whole project (two dbt phases around "
                "the Python stage); run `dbt build --target spark` yourself to build a selection"
            )


def _manifest(settings: Settings) -> dict[str, Any]:
    path = settings.target_path / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DbtError(f"{path}: cannot read dbt's manifest ({err})") from err


def _node(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    node = manifest.get("nodes", {}).get(f"model.{PROJECT}.{name}")
    if node is None:
        raise DbtError(f"model {name} is not in dbt's manifest (is it enabled on Spark?)")
    return node


def _table_name(node: dict[str, Any]) -> str:
    return f"{node['schema']}.{node.get('alias') or node['name']}"


def _spark_type(arrow_type: pa.DataType) -> DataType:
    """The Spark type of a column of the Python stage's Arrow tables."""
    if pa.types.is_string(arrow_type):
        return StringType()
    if pa.types.is_int32(arrow_type):
        return IntegerType()
    if pa.types.is_int64(arrow_type):
        return LongType()
    if pa.types.is_floating(arrow_type):
        return DoubleType()
    if pa.types.is_boolean(arrow_type):
        return BooleanType()
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is None:
        return TimestampNTZType()
    raise TypeError(f"no Spark type for the Arrow type {arrow_type}")


def spark_frame(spark: SparkSession, table: pa.Table) -> DataFrame:
    """A small Arrow table (a model, an elbow curve) as a Spark DataFrame, types kept."""
    schema = StructType(
        [StructField(f.name, _spark_type(f.type), f.nullable) for f in table.schema]
    )
    return spark.createDataFrame(table.to_pylist(), schema)


def _write_table(spark: SparkSession, table: pa.Table, name: str) -> None:
    spark.sql(f"create database if not exists {STAGE_DATABASE}")
    spark_frame(spark, table).write.mode("overwrite").format("parquet").saveAsTable(name)


def run_python_stage(spark: SparkSession, settings: Settings) -> StageResult:
    """Fit the cluster model and the elbow curve on the samples phase 1 built.

    The same functions and settings as the DuckDB Python models; only the two
    bounded samples come to the driver.
    """
    from xdr_warehouse.clustering import ClusterSettings
    from xdr_warehouse.clustering.stage import cluster_model_table, elbow_curve_table

    start = time.perf_counter()
    manifest = _manifest(settings)
    # the twins carry the Python models' config (_clustering__models.yml), rendered from the vars
    config = _node(manifest, "engagement_cluster_model")["config"]
    cluster_settings = ClusterSettings.from_mapping(config)
    fit_sample = spark.table(_table_name(_node(manifest, "clustering_fit_sample"))).toArrow()
    # every Spark build is a full build: the first (and only) model of this warehouse
    model = cluster_model_table(fit_sample, cluster_settings, version=1, reason="first fit")
    _write_table(spark, model, MODEL_TABLE)
    elbow_sample = spark.table(_table_name(_node(manifest, "clustering_elbow_sample"))).toArrow()
    customers = elbow_sample.column("customer_count")[0].as_py() if elbow_sample.num_rows else 0
    curve = elbow_curve_table(elbow_sample, model, customers, cluster_settings)
    _write_table(spark, curve, ELBOW_TABLE)
    model_id = model.column("cluster_model_id")[0].as_py() if model.num_rows else ""
    return StageResult(
        fit_sample.num_rows, elbow_sample.num_rows, model_id, time.perf_counter() - start
    )


def _invocation_id(settings: Settings) -> str | None:
    try:
        results = json.loads((settings.target_path / "run_results.json").read_text())
    except (OSError, ValueError):
        return None
    return results.get("metadata", {}).get("invocation_id")


def record_build(
    spark: SparkSession, invocation_id: str | None, failure: str | None, full_refresh: bool
) -> None:
    """Append the row of a whole Spark build (both phases and the stage) to audit.dbt_builds."""
    spark.sql("create database if not exists audit")
    spark.sql(
        f"create table if not exists {BUILDS_TABLE} ("
        + ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in BUILDS_SCHEMA)
        + ") using parquet"
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    row = (invocation_id, now, failure is None, failure or "", full_refresh, True, True)
    spark.createDataFrame([row], BUILDS_SCHEMA).write.insertInto(BUILDS_TABLE)


def build(settings: Settings, args: Sequence[str] = ()) -> Any:
    """``dbt build`` of the whole project on Spark, the Python stage between two phases."""
    _check_args(args)
    spark = spark_session(settings)
    full_refresh = "--full-refresh" in args
    selection = ["--indirect-selection", "cautious"]
    invocation_id = None
    try:
        run_dbt(settings, ["build"], [*args, "--select", *SAMPLES_SELECTION, *selection])
        invocation_id = _invocation_id(settings)
        stage = run_python_stage(spark, settings)
        print(f"    {stage.summary()}", flush=True)
        log.info(stage.summary())
        result = run_dbt(settings, ["build"], [*args, "--exclude", *SAMPLES_SELECTION, *selection])
        invocation_id = _invocation_id(settings)
    except Exception as err:
        record_build(spark, invocation_id, str(err).splitlines()[0] if str(err) else repr(err),
                     full_refresh)  # fmt: skip
        raise
    record_build(spark, invocation_id, None, full_refresh)
    return result


def last_build_problem(spark: SparkSession) -> str | None:
    """Why the Spark warehouse's last build may not be published (None: it passed).

    The Spark counterpart of :func:`xdr_warehouse.dbt_runner.last_build_problem`:
    the last row of ``audit.dbt_builds`` must say passed and whole project
    (a phase alone, or a ``dbt build --select`` by hand, is not a build to publish).
    """
    if not spark.catalog.tableExists(BUILDS_TABLE):
        return "no dbt build has run on Spark yet; run `xdr build --engine spark`"
    rows = (
        spark.table(BUILDS_TABLE)
        .orderBy("finished_at", ascending=False)
        .select("invocation_id", "passed", "failed_nodes", "whole_project")
        .take(1)
    )
    if not rows:
        return "no dbt build has run on Spark yet; run `xdr build --engine spark`"
    row = rows[0]
    if not row.passed:
        return f"the last dbt build on Spark did not pass: {row.failed_nodes}"
    if not row.whole_project:
        return (
            "the last dbt build on Spark did not build every model (one phase or a "
            "selection); run `xdr build --engine spark`"
        )
    return None


def last_build_id(spark: SparkSession) -> str | None:
    """The invocation id of the Spark warehouse's last build."""
    if not spark.catalog.tableExists(BUILDS_TABLE):
        return None
    rows = spark.table(BUILDS_TABLE).orderBy("finished_at", ascending=False).take(1)
    return rows[0].invocation_id if rows else None
