"""A standalone cluster: two workers, executors in processes of their own, loopback only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from xdr_warehouse.spark.cluster import Cluster, standalone_cluster

from .conftest import LOOPBACK, jvm_of, listeners, spark_test_settings

pytestmark = pytest.mark.spark

DRIVER = Path(__file__).with_name("cluster_driver.py")
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"


def executor_of(pid: int) -> psutil.Process:
    """The executor JVM a Python worker process runs under."""
    for parent in psutil.Process(pid).parents():
        if EXECUTOR_CLASS in " ".join(parent.cmdline()):
            return parent
    raise AssertionError(f"process {pid} does not run under an executor")


def test_spark_standalone_cluster_runs_a_job_on_loopback(tmp_path: Path) -> None:
    settings = spark_test_settings(tmp_path)
    folder = tmp_path / "cluster"
    with standalone_cluster(folder, settings) as url:
        cluster = Cluster.load(folder)
        assert cluster is not None and cluster.master_url == url
        assert url.startswith("spark://127.0.0.1:") and cluster.alive_workers() == 2
        master, *workers = [x.process() for x in cluster.processes]
        assert master is not None and len(workers) == 2 and all(workers)
        tree = [master, *workers]
        driver_settings = {
            "project_dir": str(tmp_path),
            "spark_master": url,
            "spark_dir": str(tmp_path / "driver"),
            "temp_dir": str(tmp_path / "tmp"),
            "spark_driver_memory": "512m",
            "spark_executor_memory": settings.spark_executor_memory,
        }
        driver = subprocess.Popen(
            [sys.executable, str(DRIVER), json.dumps(driver_settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=settings.spark_environment(),
        )
        try:
            line = driver.stdout.readline()
            assert line, f"the driver stopped (exit code {driver.wait(timeout=30)})"
            result = json.loads(line)
            driver_process = psutil.Process(result["driver_pid"])
            driver_jvm = jvm_of(driver_process)
            executors = {executor_of(pid) for pid in result["task_pids"]}
            # two executors, one under each worker, none of them the driver
            assert len(executors) == 2
            assert {e.parent().pid for e in executors} == {w.pid for w in workers}
            assert driver_jvm not in executors and driver_process.pid not in result["task_pids"]
            everything = [*tree, driver_process]
            for proc in list(everything):
                everything.extend(proc.children(recursive=True))
            tree = [p for p in everything if p is not driver_process]
            found = listeners(everything)
            listening = {pid for pid, *_ in found}
            assert {master.pid, *(w.pid for w in workers), driver_jvm.pid} <= listening
            assert {e.pid for e in executors} <= listening  # their block managers
            assert [x for x in found if x[2] not in LOOPBACK] == []
        finally:
            driver.stdin.write("\n")
            driver.stdin.close()
            driver.wait(timeout=60)
    # stopped: no master, worker, executor or Python worker left, no state files
    assert [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert Cluster.load(folder) is None
