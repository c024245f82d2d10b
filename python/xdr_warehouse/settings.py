"""Every setting of a run, read once from the environment and the command line.

:class:`Settings` is built once (``Settings.from_env``), by the ``xdr`` command
or a test, and passed down to ingest, the dbt runner, publish and report. It is
the only module of the package that reads ``os.environ``; nothing writes to it
except :meth:`Settings.prepare_spark_environment`, which sets the variables the
Spark JVM that pyspark starts must inherit (loopback only).
dbt gets the settings it needs as ``--vars`` and options (see
:meth:`Settings.dbt_vars`), so ``profiles.yml`` reads them with ``var()``; its
``env_var()`` fallbacks serve plain ``dbt`` commands typed by hand.

Relative paths are relative to the project folder (the repository root).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from itertools import combinations
from pathlib import Path
from typing import Any

ENGINES = ("duckdb", "spark")
#: Parquet formats of the exports (``parquet_version``): v2 is read by Arrow, pandas,
#: Polars, Spark 3.3+, Trino and DuckDB; v1 for older readers.
PARQUET_VERSIONS = ("v1", "v2")
DEFAULT_PARQUET_VERSION = "v2"

#: The generated default input: records, seed and file.
DEFAULT_RECORDS = 150_000
DEFAULT_SEED = 42

#: The only address Spark may listen on or advertise (master, workers, driver, executors).
SPARK_LOOPBACK = "127.0.0.1"
#: Variables that would point Spark at another installation, another configuration or
#: another address: every Spark process the package starts runs without them.
SPARK_UNSET = (
    "SPARK_HOME",
    "SPARK_CONF_DIR",
    "SPARK_LOCAL_HOSTNAME",
    "SPARK_PUBLIC_DNS",
    "SPARK_MASTER_HOST",
    "PYSPARK_SUBMIT_ARGS",
)


def _project_dir(env: Mapping[str, str]) -> Path:
    configured = env.get("XDR_PROJECT_DIR")
    return Path(configured).resolve() if configured else Path.cwd().resolve()


def _flag(raw: str) -> bool:
    """A yes/no environment variable: 1/true/yes/on or 0/false/no/off."""
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("not a yes/no value: use 1 or 0 (true/false, yes/no, on/off)")


@dataclass(frozen=True)
class Settings:
    """The settings of one run; paths are absolute (resolved against ``project_dir``)."""

    project_dir: Path
    #: Which engine does the work: ``duckdb`` (embedded, the default) or ``spark``.
    engine: str = "duckdb"
    #: The input: a file, a folder or a glob (XDR_PATH); None = the generated default.
    input_path: str | None = None
    build_db: Path = Path("warehouse/build.duckdb")
    #: The public marts' own DuckDB file, which dbt attaches to the build database
    #: (as ``bi``) and the publish copies byte for byte; None: beside the build
    #: database, named after it (``build.duckdb`` -> ``build.marts.duckdb``).
    marts_db: Path | None = None
    published_db: Path = Path("warehouse/engagement.duckdb")
    export_dir: Path = Path("warehouse/parquet")
    report_dir: Path = Path("reports")
    #: Where ingest keeps its links to the input files and converted copies.
    landing_dir: Path = Path("warehouse/landing")
    temp_dir: Path = Path("warehouse/tmp")
    log_dir: Path = Path("logs")
    target_path: Path = Path("target")
    data_dir: Path = Path("data/generated")
    memory_limit: str = "1.5GB"
    duckdb_threads: int = 2
    dbt_threads: int = 2
    #: dbt target: ``dev`` (DuckDB build database) or ``spark``; DBT_TARGET overrides.
    dbt_target: str | None = None
    publish_storage_version: str = "v1.0.0"
    #: Parquet format of the exports: ``v2`` (smaller, faster to write) or ``v1``
    #: (for readers older than Arrow 6 or Spark 3.3).
    parquet_version: str = DEFAULT_PARQUET_VERSION
    #: Spark master for ``engine = spark``: ``local[2]`` or ``spark://127.0.0.1:7077``.
    spark_master: str = "local[2]"
    spark_driver_memory: str = "4g"
    spark_executor_memory: str = "2g"
    #: Partitions of a shuffle (``spark.sql.shuffle.partitions``): Spark's 200 cost
    #: more than the work on one machine; adaptive execution merges small ones.
    spark_shuffle_partitions: int = 8
    #: Spark's folder: the managed tables (``spark.sql.warehouse.dir``), the Derby
    #: metastore (``metastore/``) and the standalone cluster's logs (``cluster/``).
    spark_dir: Path = Path("warehouse/spark")
    dashboard_port: int = 8501
    #: Seconds between the progress lines of a long step in a log or CI (a terminal
    #: gets one line rewritten every second).
    progress_seconds: float = 10.0
    #: Level of ``logs/dbt.log``: ``info`` keeps every node's result and every error;
    #: ``debug`` (dbt's default) adds each SQL statement and costs about 20 ms per node.
    dbt_log_level: str = "info"
    #: Whether ``xdr build``/``xdr run`` on DuckDB run the dbt unit tests too. Their
    #: inputs are fixed fixtures, so dbt advises running them in development and CI
    #: (``make test`` does) and leaving them out of production builds.
    unit_tests: bool = False

    #: Environment variable of each field (those without one are fixed or come from options).
    ENV = {
        "engine": "XDR_ENGINE",
        "input_path": "XDR_PATH",
        "build_db": "XDR_BUILD_DB",
        "marts_db": "XDR_MARTS_DB",
        "published_db": "XDR_PUBLISHED_DB",
        "export_dir": "XDR_EXPORT_DIR",
        "report_dir": "XDR_REPORT_DIR",
        "landing_dir": "XDR_LANDING_DIR",
        "temp_dir": "XDR_TEMP_DIR",
        "log_dir": "XDR_LOG_DIR",
        "target_path": "DBT_TARGET_PATH",
        "memory_limit": "XDR_MEMORY_LIMIT",
        "duckdb_threads": "XDR_DUCKDB_THREADS",
        "dbt_threads": "XDR_DBT_THREADS",
        "dbt_target": "DBT_TARGET",
        "publish_storage_version": "XDR_PUBLISH_STORAGE_VERSION",
        "parquet_version": "XDR_PARQUET_VERSION",
        "spark_master": "XDR_SPARK_MASTER",
        "spark_driver_memory": "XDR_SPARK_DRIVER_MEMORY",
        "spark_executor_memory": "XDR_SPARK_EXECUTOR_MEMORY",
        "spark_shuffle_partitions": "XDR_SPARK_SHUFFLE_PARTITIONS",
        "spark_dir": "XDR_SPARK_DIR",
        "dashboard_port": "XDR_DASHBOARD_PORT",
        "progress_seconds": "XDR_PROGRESS_SECONDS",
        "dbt_log_level": "XDR_DBT_LOG_LEVEL",
        "unit_tests": "XDR_UNIT_TESTS",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``env`` (default: the process environment), then ``overrides``.

        Overrides with the value None are ignored, so command-line options that
        were not given leave the environment's value in place.
        """
        env = os.environ if env is None else env
        project_dir = Path(overrides.pop("project_dir", None) or _project_dir(env)).resolve()
        values: dict[str, Any] = {}
        kinds = {f.name: f.type for f in fields(cls)}
        for name, variable in cls.ENV.items():
            raw = env.get(variable)
            if raw not in (None, ""):
                convert = {"int": int, "float": float, "bool": _flag}.get(str(kinds[name]), str)
                try:
                    values[name] = convert(raw)
                except ValueError as err:
                    raise ValueError(f"{variable}={raw!r}: {err}") from err
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(project_dir=project_dir, **values)
        return settings.resolved()

    def resolved(self) -> Settings:
        """The same settings with every path absolute and the engine checked."""
        if self.engine not in ENGINES:
            raise ValueError(f"XDR_ENGINE={self.engine!r}: use one of {', '.join(ENGINES)}")
        if self.parquet_version not in PARQUET_VERSIONS:
            raise ValueError(
                f"XDR_PARQUET_VERSION={self.parquet_version!r}: use one of "
                f"{', '.join(PARQUET_VERSIONS)}"
            )
        paths = {
            f.name: self.absolute(getattr(self, f.name))
            for f in fields(self)
            if f.type == "Path" and f.name != "project_dir"
        }
        build_db = paths["build_db"]
        marts_db = self.absolute(
            self.marts_db or build_db.with_name(f"{build_db.stem}.marts.duckdb")
        )
        files = {"XDR_BUILD_DB": build_db, "XDR_MARTS_DB": marts_db}
        files["XDR_PUBLISHED_DB"] = paths["published_db"]
        for (name, path), (other, other_path) in combinations(files.items(), 2):
            if path == other_path:
                raise ValueError(f"{name} and {other} are the same file {path}: use three files")
        return replace(self, **paths, marts_db=marts_db)

    def absolute(self, path: Path | str) -> Path:
        """``path`` made absolute against the project folder."""
        path = Path(path)
        return path if path.is_absolute() else self.project_dir / path

    @property
    def target(self) -> str:
        """The dbt target: DBT_TARGET when set, else the engine's (``dev`` or ``spark``)."""
        return self.dbt_target or ("spark" if self.engine == "spark" else "dev")

    @property
    def default_input(self) -> Path:
        """The generated default input file."""
        return self.data_dir / f"xdr_{DEFAULT_RECORDS // 1000}k.csv"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "xdr.log"

    def dbt_vars(self) -> dict[str, str | int]:
        """The settings ``profiles.yml`` and the models read with ``var()``."""
        return {
            "xdr_engine": self.engine,
            "xdr_build_db": str(self.build_db),
            "xdr_marts_db": str(self.marts_db),
            "xdr_publish_storage_version": self.publish_storage_version,
            "xdr_published_db": str(self.published_db),
            "xdr_memory_limit": self.memory_limit,
            "xdr_duckdb_threads": self.duckdb_threads,
            "xdr_temp_dir": str(self.temp_dir),
            "xdr_spark_master": self.spark_master,
            "xdr_spark_warehouse": str(self.spark_dir),
            "xdr_spark_driver_memory": self.spark_driver_memory,
            "xdr_spark_executor_memory": self.spark_executor_memory,
            "xdr_spark_shuffle_partitions": self.spark_shuffle_partitions,
        }

    def spark_environment(self) -> dict[str, str]:
        """The environment of a Spark process the package starts (master, worker, driver).

        This process's environment (PATH, JAVA_HOME...) without :data:`SPARK_UNSET`,
        plus ``SPARK_LOCAL_IP=127.0.0.1`` (Spark otherwise binds its web UIs to
        0.0.0.0 and picks the address of the first network interface) and this
        Python for the Python workers of the executors.
        """
        env = {k: v for k, v in os.environ.items() if k not in SPARK_UNSET}
        env["SPARK_LOCAL_IP"] = SPARK_LOOPBACK
        env["PYSPARK_PYTHON"] = sys.executable
        env["PYSPARK_DRIVER_PYTHON"] = sys.executable
        return env

    def prepare_spark_environment(self) -> None:
        """Make this process's environment the one a Spark driver JVM must inherit.

        The one place that writes ``os.environ``: pyspark starts the driver JVM
        (``spark-submit``) with the current process environment and offers no
        other way to set ``SPARK_LOCAL_IP`` for it. Called by
        :func:`xdr_warehouse.spark.session.spark_session` before the JVM starts;
        sets exactly the variables :meth:`spark_environment` sets or removes.
        """
        wanted = self.spark_environment()
        for name in SPARK_UNSET:
            os.environ.pop(name, None)
        for name in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
            os.environ[name] = wanted[name]
