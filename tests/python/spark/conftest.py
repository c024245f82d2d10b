"""The one SparkSession of the test run (local mode, loopback only) and its settings.

A JVM hosts one SparkContext, and its catalog and folders are fixed when it
starts: every Spark test of the run shares this session, whose tables,
Derby metastore and scratch folders lie under pytest's tmp dir.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from pyspark.sql import SparkSession

from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.session import spark_session

from conftest import workspace_settings

#: The addresses a listening socket may have: 127.0.0.1, as IPv4 or IPv4-mapped IPv6.
LOOPBACK = ("127.0.0.1", "::ffff:127.0.0.1")


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
