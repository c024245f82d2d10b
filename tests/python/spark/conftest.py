"""The one SparkSession of the test run (local mode, loopback only) and its settings.

A JVM hosts one SparkContext, and its catalog and folders are fixed when it
starts: every Spark test of the run shares this session, whose tables,
Derby metastore and scratch folders lie under pytest's tmp dir.

Also shared by the run: the small generated input of the whole-job tests
(``small_csv``) and the DuckDB job on it (``duckdb_run``), the reference both
the local-mode job (test_spark_build.py) and the cluster job
(test_spark_cluster.py) are compared with.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from pyspark.sql import SparkSession

from xdr_warehouse import cli
from xdr_warehouse.generate import generate_xdr
from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.session import spark_session

from conftest import new_workspace, workspace_settings

#: The addresses a listening socket may have: 127.0.0.1, as IPv4 or IPv4-mapped IPv6.
LOOPBACK = ("127.0.0.1", "::ffff:127.0.0.1")
#: Records of the generated input of the whole-job tests.
RECORDS = 20_000


def spark_test_settings(root: Path, **overrides: object) -> Settings:
    """Settings with every path under ``root`` and small JVMs."""
    return workspace_settings(
        root,
        spark_dir=root / "spark",
        spark_driver_memory="1g",
        spark_executor_memory="512m",
        **overrides,
    )


@pytest.fixture(scope="session")
def spark_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return spark_test_settings(tmp_path_factory.mktemp("spark-session"))


@pytest.fixture(scope="session")
def spark(spark_settings: Settings) -> Iterator[SparkSession]:
    session = spark_session(spark_settings)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_job_settings(
    spark: SparkSession, spark_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings of a Spark job on the run's session, its own files under a new folder;
    the catalog emptied first (every database but ``default`` dropped). One per module."""
    for database in spark.catalog.listDatabases():
        if database.name != "default":
            spark.sql(f"drop database if exists {database.name} cascade")
    # the session's catalog and folders: they are fixed when its JVM starts
    return replace(
        workspace_settings(tmp_path_factory.mktemp("spark-job"), engine="spark"),
        spark_dir=spark_settings.spark_dir,
        temp_dir=spark_settings.temp_dir,
        spark_driver_memory=spark_settings.spark_driver_memory,
        spark_executor_memory=spark_settings.spark_executor_memory,
    )


def listeners(processes: list[psutil.Process]) -> list[tuple[int, str, str, int]]:
    """Every listening TCP socket and bound UDP socket of ``processes``: (pid, kind, ip, port).

    psutil reads /proc/net/tcp, tcp6, udp and udp6 and keeps the sockets whose
    inodes are among the process's open files.
    """
    found = []
    for proc in processes:
        for conn in proc.net_connections(kind="inet"):
            udp = conn.type == socket.SOCK_DGRAM
            if conn.status == psutil.CONN_LISTEN or (udp and conn.laddr):
                kind = "udp" if udp else "tcp"
                found.append((proc.pid, kind, conn.laddr.ip, conn.laddr.port))
    return found


def jvm_of(parent: psutil.Process) -> psutil.Process:
    """The java process among ``parent``'s children (the driver JVM pyspark started)."""
    jvms = [p for p in parent.children(recursive=True) if p.name() == "java"]
    assert len(jvms) == 1, f"expected one driver JVM under {parent.pid}, found {jvms}"
    return jvms[0]


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated input of the whole-job tests: 20,000 records in the raw export format."""
    path = tmp_path_factory.mktemp("spark-build-input") / "xdr.csv"
    generate_xdr(path, RECORDS, seed=7)
    return path


def run_job(settings: Settings, csv: Path) -> int:
    """``xdr run`` on ``csv`` with ``settings``, in this process; returns the exit code."""
    return cli.main(["run"], settings=replace(settings, input_path=str(csv)))


@pytest.fixture(scope="session")
def duckdb_run(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """``xdr run`` on DuckDB on ``small_csv``: what every Spark job is compared with."""
    ws = new_workspace(tmp_path_factory.mktemp("duckdb-build"))
    assert run_job(ws.settings, small_csv) == 0
    return ws.settings
