"""Run dbt in-process with the run's settings, and read what dbt wrote about it.

``run_dbt`` calls dbt-core's ``dbtRunner`` from the project folder with the
settings as options (``--target``, ``--threads``, ``--vars``, the target and log
paths), prints one line per model as it finishes, keeps dbt's own console
output (tracebacks included) in ``logs/dbt.log`` and raises :class:`DbtError`
with one line naming what failed.

The manifest (``target/manifest.json``) says which models form the BI
contract (``access: public``); ``run_results.json`` says whether the last build
passed, which ``xdr publish`` checks before it publishes anything.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from xdr_warehouse.progress import Activity, Heartbeat
from xdr_warehouse.settings import Settings

log = logging.getLogger("xdr_warehouse")

#: dbt statuses of a node that passed (a warning passes, it is stored and reported).
PASSED = {"success", "pass", "warn", "no-op"}
#: dbt options that choose the nodes of a command.
SELECTION_OPTIONS = frozenset(
    {"--select", "-s", "--models", "-m", "--exclude", "--selector", "--resource-type",
     "--resource-types", "--exclude-resource-type", "--exclude-resource-types"}
)  # fmt: skip


def selects_nodes(args: Sequence[str]) -> bool:
    """Whether dbt arguments choose nodes themselves (``--select``, ``--exclude``, ...)."""
    return any(arg.split("=", 1)[0] in SELECTION_OPTIONS for arg in args)


class DbtError(RuntimeError):
    """dbt failed; the message is the one line to show."""


def lock_error_in(text: str) -> str | None:
    """A one-line explanation when DuckDB could not lock a database file."""
    match = re.search(r'Could not set lock on file "([^"]+)".*?PID (\d+)', text, re.S)
    if match:
        return (
            f"{match.group(1)} is in use by another process (PID {match.group(2)}); "
            "close that process (a BI tool or a duckdb shell on the build database) and run again"
        )
    return None


class DbtProgress:
    """A dbtRunner callback: one line per model as it finishes, tests counted, and
    what is running now (:meth:`activities`, for a :class:`~xdr_warehouse.progress.Heartbeat`)."""

    def __init__(
        self, out: TextIO, on_start: Mapping[str, Callable[[], None]] | None = None
    ) -> None:
        self.out = out
        #: node name -> what to call when dbt starts that node
        self.on_start = dict(on_start or {})
        self.tests: dict[str, int] = {}
        #: unique_id -> (name, time.monotonic() at its start) of the nodes running now
        self.running: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.heartbeat: Heartbeat | None = None

    def __call__(self, event: Any) -> None:
        name = event.info.name
        if name == "NodeStart":
            node = event.data.node_info
            with self._lock:
                self.running[node.unique_id] = (node.node_name, time.monotonic())
            if node.node_name in self.on_start:
                self.on_start[node.node_name]()
            return
        if name != "NodeFinished":
            return
        node = event.data.node_info
        with self._lock:
            self.running.pop(node.unique_id, None)
        status = str(node.node_status)
        if node.resource_type in ("test", "unit_test"):
            self.tests[status] = self.tests.get(status, 0) + 1
            if status not in {"pass", "success", "skipped"}:
                self._line(f"    {status.upper():<7} {node.resource_type} {node.node_name}")
            return
        seconds = _elapsed(node.node_started_at, node.node_finished_at)
        self._line(
            f"    {status.upper():<7} {node.resource_type} {node.node_name} ({seconds:.1f} s)"
        )

    def activities(self, min_seconds: float = 2.0) -> list[Activity]:
        """The nodes running for at least ``min_seconds``, longest first, with the
        share of its current query DuckDB has done."""
        now = time.monotonic()
        with self._lock:
            running = sorted(self.running.items(), key=lambda item: item[1][1])
        return [
            Activity(name, query_progress(uid), started=started)
            for uid, (name, started) in running
            if now - started >= min_seconds
        ]

    def _line(self, text: str) -> None:
        """One whole line in one write (dbt's threads finish nodes at the same time)."""
        if self.heartbeat is not None:
            self.heartbeat.line(text)
            return
        self.out.write(text + "\n")
        self.out.flush()

    def summary(self) -> str:
        return ", ".join(f"{n} {status}" for status, n in sorted(self.tests.items())) or "none"


def query_progress(unique_id: str) -> float | None:
    """The share (0..1) of its current query done by the node's DuckDB connection, when
    DuckDB can tell (the profile sets ``enable_progress_bar``); None otherwise.

    dbt names each thread's connection after the node it runs; the connection's
    DuckDB cursor answers ``query_progress()`` from any thread (-1: no query).
    Only DuckDB's connections are asked: dbt-spark's ``cursor()`` (``method:
    session``) replaces the connection's cursor, so asking from this thread threw
    away the result of the node's running statement (its ``describe`` then gave
    no rows, or its contract check no columns).
    """
    try:
        from dbt.adapters.factory import FACTORY

        for adapter in list(FACTORY.adapters.values()):
            if adapter.type() != "duckdb":
                continue
            connections = adapter.connections.thread_connections
            for connection in list(connections.values()):
                if connection.name != unique_id or str(connection.state) != "open":
                    continue
                value = connection.handle.cursor().query_progress()
                return value / 100 if value is not None and value >= 0 else None
    except Exception:  # noqa: BLE001 - progress is best effort; it never breaks the build
        return None
    return None


def _elapsed(started: str, finished: str) -> float:
    try:
        return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except (TypeError, ValueError):
        return 0.0


def schema_change_in(message: str) -> str | None:
    """One line for dbt's "schemas on this incremental model are out of sync" error
    (a model's columns changed since the table was built, e.g. after an upgrade)."""
    if "schemas on this incremental model are out of sync" not in message:
        return None

    def columns(label: str) -> str:
        found = re.search(rf"{label}: \[(.*?)\]\n", message)
        names = re.findall(r"column='([^']+)'", found.group(1)) if found else []
        return ", ".join(names) or "none"

    new, gone = columns("Source columns not in target"), columns("Target columns not in source")
    return (
        f"its columns changed since the table was built (new: {new}; gone: {gone}); "
        "rebuild it with `xdr run --full-refresh`"
    )


def _failures(result: Any) -> list[str]:
    failures = []
    for node_result in getattr(getattr(result, "result", None), "results", None) or []:
        status = str(getattr(node_result, "status", "")).lower()
        if status in {"error", "fail", "runtime error"}:
            node = node_result.node
            kind = node.resource_type.value if hasattr(node, "resource_type") else "node"
            message = getattr(node_result, "message", "") or ""
            failures.append(f"{kind} {node.name}: {failure_detail(message) or status}")
    return failures


#: The first line of a DuckDB error: "Out of Memory Error: ...", "Binder Error: ...".
_DUCKDB_ERROR = re.compile(r"^[A-Z][A-Za-z ]* Error: ")


def failure_detail(message: str) -> str | None:
    """The line of a failed node's message that says what went wrong: the schema
    change, else DuckDB's error line (its advice and links follow it), else the last line."""
    lines = [
        line.strip()
        for line in message.splitlines()
        if line.strip() and not line.strip().startswith(">")
    ]
    found = next((line for line in lines if _DUCKDB_ERROR.match(line)), None)
    return schema_change_in(message) or found or (lines[-1] if lines else None)


def failure_summary(result: Any) -> str:
    """Name the dbt nodes that failed (models that errored, tests that failed)."""
    failures = _failures(result)
    if failures:
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        return "; ".join(failures[:3]) + more
    exception = getattr(result, "exception", None)
    if exception is not None:
        text = str(exception)
        return lock_error_in(text) or (text.strip().splitlines() or ["dbt failed"])[-1]
    return "see logs/dbt.log"


def merge_vars(settings: Settings, extra_args: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The settings' dbt vars merged with a ``--vars`` the user passed; the other args."""
    merged: dict[str, Any] = dict(settings.dbt_vars())
    rest: list[str] = []
    args = list(extra_args)
    i = 0
    while i < len(args):
        arg = args[i]
        value = None
        if arg == "--vars" and i + 1 < len(args):
            value, i = args[i + 1], i + 2
        elif arg.startswith("--vars="):
            value, i = arg.split("=", 1)[1], i + 1
        else:
            rest.append(arg)
            i += 1
            continue
        parsed = yaml.safe_load(value) if value.strip() else {}
        if not isinstance(parsed, dict):
            raise DbtError(f"--vars {value!r} is not a YAML mapping such as '{{cluster_k: 4}}'")
        merged.update(parsed)
    return merged, rest


def dbt_command(
    settings: Settings, command: Sequence[str], extra_args: Sequence[str] = ()
) -> list[str]:
    """The full dbt argument list for ``command`` with the settings."""
    variables, rest = merge_vars(settings, extra_args)
    args = [
        *command,
        "--target",
        settings.target,
        "--vars",
        json.dumps(variables),
        "--target-path",
        str(settings.target_path),
        "--log-path",
        str(settings.log_dir),
        "--project-dir",
        str(settings.project_dir),
        "--profiles-dir",
        str(settings.project_dir),
    ]
    if command and command[0] in {"build", "run", "test", "seed", "snapshot"}:
        args += ["--threads", str(settings.dbt_threads)]
    if not any(arg.split("=", 1)[0] == "--log-level-file" for arg in rest):
        args += ["--log-level-file", settings.dbt_log_level]
    return args + rest


@contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def close_duckdb() -> None:
    """Close the build database dbt-duckdb kept open for the whole dbt command.

    The profile sets ``keep_open: true``: the database is opened once per command,
    not once per node (closing it checkpoints, and reopening replays the WAL; on
    a build of 160 nodes that was a third of dbt's time). When dbt returns, this
    closes it, so the publish step, the report and tests in this process can open
    the file. dbt-duckdb's ``close_all_connections`` only forgets the environment,
    so its connection is closed first.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the Spark-only install
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
        DuckDBConnectionManager.close_all_connections()


def run_dbt(
    settings: Settings,
    command: Sequence[str],
    extra_args: Sequence[str] = (),
    out: TextIO | None = None,
    on_start: Mapping[str, Callable[[], None]] | None = None,
) -> Any:
    """Run one dbt command in-process; raise DbtError (one line) when it fails.

    ``on_start`` maps node names to what to call when dbt starts that node."""
    from dbt.cli.main import dbtRunner

    out = out or sys.stdout
    progress = DbtProgress(out, on_start)
    args = dbt_command(settings, command, extra_args)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with (
        _in_folder(settings.project_dir),
        open(settings.log_dir / "dbt-console.log", "a") as console,
        Heartbeat(
            # a node is worth a line once it runs longer than the interval (at most 2 s)
            lambda: progress.activities(min(2.0, settings.progress_seconds)),
            out,
            interval=settings.progress_seconds,
        ) as heartbeat,
        redirect_stdout(console),
        redirect_stderr(console),
    ):
        progress.heartbeat = heartbeat
        try:
            result = dbtRunner(callbacks=[progress]).invoke(args)
        finally:
            close_duckdb()
    progress.heartbeat = None
    if command and command[0] in {"build", "test"}:
        print(f"    tests and unit tests: {progress.summary()}", file=out, flush=True)
    log.info("dbt %s -> success=%s", " ".join(args), result.success)
    if not result.success:
        for failure in _failures(result):
            log.info("  %s", failure)
        lock_error = lock_error_in(str(getattr(result, "exception", "")))
        raise DbtError(lock_error or f"dbt {command[0]} failed: {failure_summary(result)}")
    return result


def _public_nodes(settings: Settings) -> list[dict[str, Any]]:
    path = settings.target_path / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DbtError(f"{path}: cannot read dbt's manifest ({err}); run dbt build first") from err
    nodes = [
        node
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and node.get("access") == "public"
        and node.get("config", {}).get("enabled", True)
    ]
    if not nodes:
        raise DbtError(f"{path}: no public model in dbt's manifest")
    return nodes


def public_models(settings: Settings) -> tuple[str, ...]:
    """The models of the BI contract (``access: public``), from dbt's manifest, sorted."""
    return tuple(sorted(node["name"] for node in _public_nodes(settings)))


def last_build_problem(settings: Settings) -> str | None:
    """Why the build database's last ``dbt build`` may not be published (None: it passed).

    Every ``dbt build`` records its outcome in ``audit.dbt_builds`` of the build
    database (macro xdr_record_build, on-run-end), whoever started it.
    """
    import duckdb

    if not settings.build_db.exists():
        return f"there is no build database {settings.build_db}; run `xdr run` or `xdr build`"
    try:
        with duckdb.connect(str(settings.build_db), read_only=True) as con:
            rows = con.execute(
                "select passed, failed_nodes from audit.dbt_builds"
                " order by finished_at desc limit 1"
            ).fetchall()
    except duckdb.CatalogException:
        rows = []
    except duckdb.Error as err:
        return lock_error_in(str(err)) or f"cannot read {settings.build_db}: {err}"
    if not rows:
        return f"no dbt build has run on {settings.build_db} yet; run `xdr build`"
    passed, failed = rows[0]
    if not passed:
        return f"the last dbt build did not pass: {failed}"
    return None
