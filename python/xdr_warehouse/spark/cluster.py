"""A Spark standalone cluster on this machine: one master and two workers, loopback only.

Started from the pip package's own launcher (``pyspark/bin/spark-class``), so
it needs nothing but Java 17 and the pinned pyspark:

- master: ``spark-class org.apache.spark.deploy.master.Master --host 127.0.0.1
  --port P --webui-port W`` (its REST submission server off);
- two workers: ``spark-class org.apache.spark.deploy.worker.Worker
  spark://127.0.0.1:P --host 127.0.0.1 --cores 1 --memory <executor memory>``,
  each with its own work folder; their executors are child processes of them.

Every process gets :meth:`Settings.spark_environment` (``SPARK_LOCAL_IP=127.0.0.1``:
the web UIs bind to it instead of 0.0.0.0) and runs in its own process group,
so :meth:`Cluster.stop` ends each one with its executors (SIGTERM, then
SIGKILL after a grace period). Logs, work and local folders and the state
(``cluster.json`` and one ``<role>.pid`` per process) go into the folder given.

Two ways to use it:

- :func:`standalone_cluster` (tests): a context manager on free ports that
  yields the master URL and stops everything on exit;
- ``xdr spark-cluster start|status|stop`` (``make spark-cluster``,
  ``make spark-cluster-stop``): the cluster keeps running after ``start``
  returns, in ``warehouse/spark/cluster``, the master on the port of
  ``XDR_SPARK_MASTER`` when that is ``spark://127.0.0.1:<port>``, else 7077,
  its web UI on 8080 (another free port when 8080 is taken); ``stop`` (another
  process) finds it from the pid files and checks that each pid is still the
  process it started (its start time) before signalling it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from xdr_warehouse.settings import SPARK_LOOPBACK, Settings

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
STATE_FILE = "cluster.json"
#: Ports of ``xdr spark-cluster start`` (Spark's defaults; the tests use free ports).
DEFAULT_PORT = 7077
DEFAULT_WEBUI_PORT = 8080
WORKERS = 2
#: JVM start-up takes 10-30 s on this machine; registration follows.
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


class ClusterError(RuntimeError):
    """The cluster did not start or stop; the message says why and where the logs are."""


def spark_home() -> Path:
    """The Spark distribution inside the pyspark package (its ``bin/`` and ``jars/``)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def spark_class() -> Path:
    return spark_home() / "bin" / "spark-class"


def free_port(port: int = 0) -> int:
    """``port`` if it is free on 127.0.0.1 right now (0: any free port), else 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((SPARK_LOOPBACK, port))
        except OSError:
            return 0
        return int(sock.getsockname()[1])


def master_port(settings: Settings) -> int:
    """The port of ``XDR_SPARK_MASTER`` when it names a master on 127.0.0.1, else 7077."""
    prefix = f"spark://{SPARK_LOOPBACK}:"
    if settings.spark_master.startswith(prefix) and settings.spark_master[len(prefix) :].isdigit():
        return int(settings.spark_master[len(prefix) :])
    return DEFAULT_PORT


def cluster_folder(settings: Settings) -> Path:
    """Where ``xdr spark-cluster`` keeps the cluster's logs and state."""
    return settings.spark_dir / "cluster"


@dataclass(frozen=True)
class ClusterProcess:
    """One JVM of the cluster: its role, pid and start time (which tells a reused pid)."""

    role: str
    pid: int
    create_time: float

    def process(self) -> psutil.Process | None:
        """The running process, or None when it ended (or its pid now names another one)."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 0.01:
                return None
            return None if proc.status() == psutil.STATUS_ZOMBIE else proc
        except psutil.Error:
            return None


def _signal(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group ``pid`` leads, or to ``pid`` alone if it leads none."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _no_proxy_get(url: str, timeout: float = 5.0) -> Any:
    """GET a JSON document from 127.0.0.1 (no proxy from the environment is ever used)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class Cluster:
    """A running standalone cluster."""

    folder: Path
    master_url: str
    webui_url: str
    processes: list[ClusterProcess]
    #: The Popen objects of the processes this Python process started (reaped by stop()).
    children: list[subprocess.Popen] = field(default_factory=list, repr=False)

    def status(self) -> dict[str, Any] | None:
        """The master's JSON status (``/json/``), or None when it does not answer."""
        try:
            return _no_proxy_get(f"{self.webui_url}/json/")
        except (OSError, ValueError):
            return None

    def alive_workers(self) -> int:
        status = self.status() or {}
        return sum(1 for w in status.get("workers", []) if w.get("state") == "ALIVE")

    def running(self) -> list[psutil.Process]:
        """The cluster's JVMs still running."""
        return [p for p in (x.process() for x in self.processes) if p is not None]

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """End the workers (with their executors), then the master; forget the state files.

        Each JVM leads its own process group: SIGTERM goes to the group, SIGKILL
        to whatever is left of it (and of the JVM's child processes) after
        ``timeout`` seconds.
        """
        tree: list[psutil.Process] = []
        for entry in reversed(self.processes):  # workers first, the master last
            proc = entry.process()
            if proc is None:
                continue
            tree.extend([proc, *proc.children(recursive=True)])
            _signal(proc.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=timeout)
        for proc in alive:
            _signal(proc.pid, signal.SIGKILL)
        _, alive = psutil.wait_procs(alive, timeout=timeout)
        for child in self.children:
            child.poll()
        if alive:
            raise ClusterError(f"processes {[p.pid for p in alive]} did not stop")
        for name in [STATE_FILE, *(f"{x.role}.pid" for x in self.processes)]:
            (self.folder / name).unlink(missing_ok=True)

    def save(self) -> None:
        state = {
            "master_url": self.master_url,
            "webui_url": self.webui_url,
            "processes": [asdict(x) for x in self.processes],
        }
        (self.folder / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
        for entry in self.processes:
            (self.folder / f"{entry.role}.pid").write_text(f"{entry.pid}\n")

    @classmethod
    def load(cls, folder: Path) -> Cluster | None:
        """The cluster recorded in ``folder`` (by ``xdr spark-cluster start``), if any."""
        try:
            state = json.loads((folder / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        return cls(
            folder=folder,
            master_url=state["master_url"],
            webui_url=state["webui_url"],
            processes=[ClusterProcess(**x) for x in state["processes"]],
        )


def _spawn(cluster: Cluster, role: str, args: list[str], env: dict[str, str]) -> None:
    """Start ``spark-class ARGS`` in its own process group, its output in ``<role>.log``.

    ``spark-class`` ends with ``exec java ...``, so the pid is the JVM's.
    """
    folder = cluster.folder
    with open(folder / f"{role}.log", "ab") as log:
        proc = subprocess.Popen(
            [str(spark_class()), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            start_new_session=True,
        )
    cluster.children.append(proc)
    cluster.processes.append(ClusterProcess(role, proc.pid, psutil.Process(proc.pid).create_time()))


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_cluster(
    folder: Path,
    settings: Settings,
    port: int = 0,
    webui_port: int = 0,
    workers: int = WORKERS,
    timeout: float = START_TIMEOUT_S,
) -> Cluster:
    """Start a master and ``workers`` workers (1 core each); wait until every worker is ALIVE.

    Port 0 = a free port. The processes keep running when this returns; call
    :meth:`Cluster.stop`. On failure everything started is stopped and
    :class:`ClusterError` names the log to read.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for wanted in (port, webui_port):
        if wanted and not free_port(wanted):
            raise ClusterError(f"port {wanted} of {SPARK_LOOPBACK} is in use (another Spark?)")
    port = port or free_port()
    webui_port = webui_port or free_port()
    env = settings.spark_environment()
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOG_DIR=str(folder / "logs"),
        SPARK_PID_DIR=str(folder),
        SPARK_LOCAL_DIRS=str(folder / "local"),
        # no REST submission server (it would listen on port 6066 of every cluster)
        SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false",
    )
    master_url = f"spark://{SPARK_LOOPBACK}:{port}"
    cluster = Cluster(folder, master_url, f"http://{SPARK_LOOPBACK}:{webui_port}", [])
    master_args = [MASTER_CLASS, "--host", SPARK_LOOPBACK, "--port", str(port)]
    try:
        _spawn(cluster, "master", [*master_args, "--webui-port", str(webui_port)], env)
        for number in range(1, workers + 1):
            work_dir = folder / f"worker-{number}"
            work_dir.mkdir(exist_ok=True)
            worker_args = [
                WORKER_CLASS, master_url,
                "--host", SPARK_LOOPBACK,
                "--cores", "1",
                "--memory", settings.spark_executor_memory,
                "--webui-port", "0",
                "--work-dir", str(work_dir),
            ]  # fmt: skip
            _spawn(cluster, f"worker-{number}", worker_args, env)
        cluster.save()
        deadline = time.monotonic() + timeout
        while cluster.alive_workers() < workers:
            for entry in cluster.processes:
                if entry.process() is None:
                    log = folder / f"{entry.role}.log"
                    raise ClusterError(
                        f"the Spark {entry.role} stopped at start-up ({log}: {_log_tail(log)})"
                    )
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{cluster.alive_workers()} of {workers} Spark workers registered with "
                    f"{master_url} within {timeout:.0f} s; see the logs in {folder}"
                )
            time.sleep(0.5)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextmanager
def standalone_cluster(folder: Path, settings: Settings) -> Iterator[str]:
    """A master and two workers on free loopback ports; yields the master URL, then stops them."""
    cluster = start_cluster(folder, settings)
    try:
        yield cluster.master_url
    finally:
        cluster.stop()


def command(settings: Settings, action: str) -> str:
    """``xdr spark-cluster start|status|stop``: the line to print (ClusterError on failure)."""
    folder = cluster_folder(settings)
    cluster = Cluster.load(folder)
    if cluster is not None and not cluster.running():
        for name in folder.glob("*.pid"):
            name.unlink()
        (folder / STATE_FILE).unlink(missing_ok=True)
        cluster = None
    if action == "start":
        if cluster is not None:
            return f"already running: {cluster.master_url} (web UI {cluster.webui_url})"
        webui_port = free_port(DEFAULT_WEBUI_PORT)  # 8080, or any free port
        cluster = start_cluster(folder, settings, master_port(settings), webui_port)
        return (
            f"started {cluster.master_url} with {WORKERS} workers (web UI {cluster.webui_url}, "
            f"logs in {folder}); use it with XDR_SPARK_MASTER={cluster.master_url}"
        )
    if action == "stop":
        if cluster is None:
            return "not running"
        cluster.stop()
        return f"stopped {cluster.master_url}"
    if cluster is None:
        return "not running"
    return (
        f"{cluster.master_url}: {cluster.alive_workers()} workers alive, "
        f"{len(cluster.running())} of {len(cluster.processes)} processes running "
        f"(web UI {cluster.webui_url})"
    )
