"""A standalone cluster: two workers, executors in processes of their own, loopback only.

The cluster (a master and two workers on free ports of 127.0.0.1) is started
once for the module. On it run, in order:

1. a small driver script (``cluster_driver.py``): two executors, one under
   each worker, ran its tasks, and every socket of the cluster listens on
   127.0.0.1 only;
2. the whole job, ``xdr run`` with ``XDR_ENGINE=spark`` and
   ``XDR_SPARK_MASTER=<the cluster>`` in a process of its own (as
   ``XDR_SPARK_MASTER=spark://127.0.0.1:7077 XDR_ENGINE=spark make run``
   does), on the input of test_spark_build.py: its executors ran tasks under
   both workers, it publishes ``engine = 'spark'``, and every public table
   equals the DuckDB job's (:func:`spark.compare.compare_published`);
3. stopping the cluster leaves no process and no state file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil
import pytest

from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.cluster import Cluster, standalone_cluster

from .compare import compare_published
from .conftest import LOOPBACK, jvm_of, listeners, spark_test_settings
from conftest import REPO

pytestmark = pytest.mark.spark

DRIVER = Path(__file__).with_name("cluster_driver.py")
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"
#: dbt threads of the cluster job (the default of XDR_DBT_THREADS).
CLUSTER_DBT_THREADS = 2
#: The whole job on the cluster took 302 s by hand; a hung job fails the test instead.
JOB_TIMEOUT_S = 1200


@dataclass(frozen=True)
class RunningCluster:
    folder: Path
    url: str
    settings: Settings
    cluster: Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    root = tmp_path_factory.mktemp("spark-cluster")
    settings = spark_test_settings(root)
    folder = root / "cluster"
    with standalone_cluster(folder, settings) as url:
        running = Cluster.load(folder)
        assert running is not None and running.master_url == url
        yield RunningCluster(folder, url, settings, running)


def executor_of(pid: int) -> psutil.Process:
    """The executor JVM a Python worker process runs under."""
    for parent in psutil.Process(pid).parents():
        if EXECUTOR_CLASS in " ".join(parent.cmdline()):
            return parent
    raise AssertionError(f"process {pid} does not run under an executor")


def cluster_processes(cluster: RunningCluster) -> tuple[psutil.Process, list[psutil.Process]]:
    master, *workers = [x.process() for x in cluster.cluster.processes]
    assert master is not None and len(workers) == 2 and all(workers)
    return master, workers


def test_spark_standalone_cluster_runs_a_job_on_loopback(
    cluster: RunningCluster, tmp_path: Path
) -> None:
    assert cluster.url.startswith("spark://127.0.0.1:") and cluster.cluster.alive_workers() == 2
    master, workers = cluster_processes(cluster)
    tree = [master, *workers]
    driver_settings = {
        "project_dir": str(tmp_path),
        "spark_master": cluster.url,
        "spark_dir": str(tmp_path / "driver"),
        "temp_dir": str(tmp_path / "tmp"),
        "spark_driver_memory": "512m",
        "spark_executor_memory": cluster.settings.spark_executor_memory,
    }
    driver = subprocess.Popen(
        [sys.executable, str(DRIVER), json.dumps(driver_settings)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=cluster.settings.spark_environment(),
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
        found = listeners(everything)
        listening = {pid for pid, *_ in found}
        assert {master.pid, *(w.pid for w in workers), driver_jvm.pid} <= listening
        assert {e.pid for e in executors} <= listening  # their block managers
        assert [x for x in found if x[2] not in LOOPBACK] == []
    finally:
        driver.stdin.write("\n")
        driver.stdin.close()
        driver.wait(timeout=60)


def job_environment(settings: Settings) -> dict[str, str]:
    """The environment of ``xdr run`` with ``settings``: one variable per setting.

    ``PYTHONPATH`` makes the job import this checkout's package.
    """
    env = settings.spark_environment()
    for name, variable in Settings.ENV.items():
        value = getattr(settings, name)
        if value is not None:
            env[variable] = str(value)
    env["XDR_PROJECT_DIR"] = str(settings.project_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "python"), env.get("PYTHONPATH", "")])
    return env


def watch_executors(
    job: subprocess.Popen, workers: list[psutil.Process], timeout: float
) -> tuple[dict[int, set[int]], list[tuple[int, str, str, int]]]:
    """Until ``job`` ends: the executor JVMs seen under each worker, and their sockets."""
    seen: dict[int, set[int]] = {w.pid: set() for w in workers}
    sockets: set[tuple[int, str, str, int]] = set()
    deadline = time.monotonic() + timeout
    while job.poll() is None:
        if time.monotonic() > deadline:
            job.kill()
            raise AssertionError(f"xdr run on the cluster took more than {timeout:.0f} s")
        for worker in workers:
            for child in worker.children(recursive=True):
                try:
                    if EXECUTOR_CLASS in " ".join(child.cmdline()):
                        seen[worker.pid].add(child.pid)
                        sockets.update(listeners([child]))
                except psutil.NoSuchProcess:
                    pass
        time.sleep(1)
    return seen, sorted(sockets)


def tasks_run(folder: Path) -> dict[str, int]:
    """Tasks each worker's executors logged (``Running task``), by worker work folder."""
    return {
        worker.name: sum(
            log.read_text(errors="replace").count("Running task ")
            for log in worker.glob("app-*/*/stderr")
        )
        for worker in sorted(folder.glob("worker-*"))
        if worker.is_dir()
    }


def published(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_xdr_run_on_the_cluster_publishes_what_duckdb_publishes(
    cluster: RunningCluster,
    small_csv: Path,
    duckdb_run: Settings,
    tmp_path: Path,
) -> None:
    settings = spark_test_settings(
        tmp_path,
        engine="spark",
        input_path=str(small_csv),
        spark_master=cluster.url,
        dbt_threads=CLUSTER_DBT_THREADS,
    )
    _, workers = cluster_processes(cluster)
    before = tasks_run(cluster.folder)
    start = time.monotonic()
    with (tmp_path / "job.out").open("w") as out:
        job = subprocess.Popen(
            [sys.executable, "-m", "xdr_warehouse", "run"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=job_environment(settings),
            cwd=REPO,
        )
        executors, sockets = watch_executors(job, workers, JOB_TIMEOUT_S)
    seconds = time.monotonic() - start
    output = (tmp_path / "job.out").read_text()
    dbt_log = settings.log_dir / "dbt.log"
    assert job.returncode == 0, (
        f"xdr run on the cluster exited {job.returncode} after {seconds:.0f} s: "
        f"{output[-3000:]}\n(dbt log: {dbt_log})"
    )
    print(f"xdr run on the cluster: {seconds:.1f} s")

    # the job's tasks ran in executor processes under both workers (not in the job's JVM)
    assert all(executors.values()), f"executors seen under each worker: {executors}"
    after = tasks_run(cluster.folder)
    ran = {name: after[name] - before.get(name, 0) for name in after}
    assert len(ran) == 2 and all(count > 0 for count in ran.values()), ran
    # every socket the executors listened on was on 127.0.0.1
    assert sockets and [x for x in sockets if x[2] not in LOOPBACK] == []

    info = "select distinct engine from marts.publish_info"
    assert published(settings.published_db, info) == [("spark",)]
    comparison = compare_published(duckdb_run.published_db, settings.published_db)
    assert comparison.problems == []
    assert comparison.adjusted_rand_index is not None
    assert comparison.adjusted_rand_index >= 0.99
    tables = "select table_name, row_count from marts.publish_info order by table_name"
    assert published(settings.published_db, tables) == published(duckdb_run.published_db, tables)


def test_stopping_the_cluster_leaves_nothing_running(cluster: RunningCluster) -> None:
    master, workers = cluster_processes(cluster)
    tree = [master, *workers]
    for proc in list(tree):
        tree.extend(proc.children(recursive=True))
    cluster.cluster.stop()
    # no master, worker, executor or Python worker left, no state files
    assert [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert Cluster.load(cluster.folder) is None
