"""The SparkSession of the ``spark`` engine: loopback only, its files under warehouse/spark.

:func:`spark_session` creates (or returns) the one SparkSession of the process.
dbt-spark's ``method: session`` (``dbt/adapters/spark/session.py``) calls
``SparkSession.builder.enableHiveSupport().getOrCreate()`` for every statement,
so when this session exists first dbt runs on it: the same master, the same
Hive catalog (the Derby metastore under ``warehouse/spark/metastore``), the
same tables. Only runtime SQL settings of dbt's ``server_side_parameters``
then apply (dbt sets ``spark.sql.ansi.enabled=false``; this session has it too).

Network: the driver listens on 127.0.0.1 only (``spark.driver.host``,
``spark.driver.bindAddress``), the web UI is off, and the JVM inherits
``SPARK_LOCAL_IP=127.0.0.1`` (:meth:`Settings.prepare_spark_environment`); the
test ``tests/python/spark/test_spark_loopback.py`` checks every listening socket.

Files: managed tables go under ``settings.spark_dir`` (``raw.db/``...), the
Derby metastore and ``derby.log`` under ``spark_dir/metastore``, Hive's scratch
folders and Spark's shuffle/spill files under ``temp_dir/spark``; nothing lands
in the working directory or in /tmp.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql import SparkSession

from xdr_warehouse.settings import SPARK_LOOPBACK, Settings

APP_NAME = "xdr-warehouse"


def metastore_dir(settings: Settings) -> Path:
    """The Derby home: ``metastore_db/`` and ``derby.log`` go here."""
    return settings.spark_dir / "metastore"


def scratch_dir(settings: Settings) -> Path:
    """Spark's local dir (shuffle, spill) and Hive's scratch folders."""
    return settings.temp_dir / "spark"


def _java_option(name: str, value: Path | str) -> str:
    """``-Dname=value`` for ``extraJavaOptions`` (Spark splits it on blanks, honouring quotes)."""
    text = str(value)
    if any(c in text for c in "\"'\\"):
        raise ValueError(f"{text}: a Spark folder path cannot hold quotes or backslashes")
    return f'"-D{name}={text}"' if any(c.isspace() for c in text) else f"-D{name}={text}"


def spark_conf(settings: Settings) -> dict[str, str]:
    """Every setting of the session (the ``spark`` output of profiles.yml mirrors them)."""
    scratch = scratch_dir(settings)
    return {
        "spark.master": settings.spark_master,
        "spark.app.name": APP_NAME,
        # loopback only: the driver's RPC, block manager and py4j server; no web UI
        "spark.driver.host": SPARK_LOOPBACK,
        "spark.driver.bindAddress": SPARK_LOOPBACK,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # the catalog dbt-spark asks for (enableHiveSupport), its files under spark_dir
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(settings.spark_dir),
        "spark.driver.extraJavaOptions": _java_option("derby.system.home", metastore_dir(settings)),
        "spark.hadoop.hive.exec.scratchdir": str(scratch / "hive"),
        "spark.hadoop.hive.exec.local.scratchdir": str(scratch / "hive-local"),
        "spark.hadoop.hive.downloaded.resources.dir": str(scratch / "hive-resources"),
        "spark.hadoop.hive.querylog.location": str(scratch / "hive-log"),
        "spark.local.dir": str(scratch / "local"),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.executor.memory": settings.spark_executor_memory,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.sql.session.timeZone": "UTC",
        # TIMESTAMP means TIMESTAMP_NTZ, as in DuckDB: the marts' times are wall-clock
        # times (the export's Start and End, a file's local modification time), the
        # contracts' `timestamp` is that type, and Parquet keeps it unadjusted
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        # what dbt-spark forces on every statement (connections.py), from the start
        "spark.sql.ansi.enabled": "false",
    }


def spark_session(settings: Settings) -> SparkSession:
    """The process's SparkSession, created with :func:`spark_conf` if there is none yet.

    An existing session (one per process) is returned as it is: its master,
    catalog and folders cannot change while its JVM runs.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    settings.prepare_spark_environment()
    for folder in (settings.spark_dir, metastore_dir(settings), scratch_dir(settings)):
        folder.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    _quiet(spark)
    return spark


#: Loggers whose warnings say nothing to a user of ``xdr``: dbt-spark's
#: ``getOrCreate()`` with its runtime settings, on every statement ("Using an
#: existing Spark session"), Hive's note on a setting it does not know, the
#: metastore's note on every table with a TIMESTAMP_NTZ column (stored in Spark's
#: own format: only Spark reads these tables), and the window operator's note
#: on a window without PARTITION BY (application_usage ranks its seven
#: applications that way).
QUIET_LOGGERS = (
    "org.apache.spark.sql.SparkSession",
    "org.apache.spark.sql.classic.SparkSession",
    "org.apache.hadoop.hive.conf.HiveConf",
    "org.apache.spark.sql.execution.datasources.v2.CreateNamespaceExec",
    "org.apache.spark.sql.hive.HiveExternalCatalog",
    "org.apache.spark.sql.execution.window.WindowExec",
)


def _quiet(spark: SparkSession) -> None:
    """Log only errors of :data:`QUIET_LOGGERS` (log4j 2, in the driver JVM)."""
    jvm = spark.sparkContext._jvm
    level = jvm.org.apache.logging.log4j.Level.ERROR
    for name in QUIET_LOGGERS:
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, level)
