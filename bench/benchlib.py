"""Shared pieces of the benchmarks: machine facts, data files, timed subprocesses.

``run_bench.py`` (warehouse vs notebook) and ``bench_incremental.py`` (adding
files to a built warehouse) use these. Every warehouse run gets its own build
database, published file, exports, landing, temp, report, dbt target and log
folders under the run's work folder (:func:`warehouse_env`, checked against
every path setting of :class:`xdr_warehouse.settings.Settings`), so a benchmark
never touches ``warehouse/``, ``logs/`` or ``target/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
# This checkout's package first (the venv may hold an editable install of another one).
if str(REPO / "python") not in sys.path:
    sys.path.insert(0, str(REPO / "python"))

from xdr_warehouse.settings import Settings  # noqa: E402

BIN = Path(sys.executable).parent
DATA_DIR = REPO / "data" / "bench"
RESULTS_DIR = REPO / "bench" / "results"
SEED = 42
#: Bytes per record of the generated files (measured on 10M records), for disk checks.
CSV_BYTES_PER_RECORD = 369
PARQUET_BYTES_PER_RECORD = 193
#: Disk the warehouse needs beside its input, per record (build database, published
#: file, Parquet exports, DuckDB spill), measured on 10M records with headroom.
WORK_BYTES_PER_RECORD = 450
#: Disk of the typed read's scratch table per record (150 bytes measured on 1M), with headroom.
TYPED_READ_BYTES_PER_RECORD = 200


def label(records: int) -> str:
    """150000 -> 150k, 10000000 -> 10m."""
    for factor, suffix in ((1_000_000_000, "b"), (1_000_000, "m"), (1_000, "k")):
        if records >= factor and records % factor == 0:
            return f"{records // factor}{suffix}"
    return str(records)


def free_bytes(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free


def machine() -> dict:
    """CPU model, cores, RAM, software versions and the DuckDB settings of the build profile."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for module in ("duckdb", "dbt.version", "pandas", "sklearn", "numpy"):
        try:
            mod = __import__(module, fromlist=["__version__"])
            version = getattr(mod, "__version__", None) or getattr(mod, "installed", None)
            versions[module.split(".")[0]] = str(version)
        except ImportError:
            pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "duckdb_settings": duckdb_settings(),
    }


def duckdb_settings(env: dict[str, str] | None = None) -> dict:
    """The DuckDB and dbt settings a warehouse run gets, as ``xdr`` resolves them.

    ``xdr`` passes its :class:`Settings` (from the environment) to dbt as
    ``--vars`` and ``--threads``; ``preserve_insertion_order`` is fixed in the
    dev target of profiles.yml.
    """
    settings = Settings.from_env(env, project_dir=REPO)
    return {
        "memory_limit": settings.memory_limit,
        "threads": str(settings.duckdb_threads),
        "temp_directory": str(settings.temp_dir),
        "preserve_insertion_order": str(profile_option("preserve_insertion_order")).lower(),
        "dbt_threads": str(settings.dbt_threads),
        "dbt_target": settings.target,
    }


def typed_read(path: Path, work: Path, records: int) -> dict:
    """The physical reference for staging: DuckDB's own typed reader landing the
    whole file in a table (``read_csv`` with its type detection, or
    ``read_parquet``), with the warehouse's memory limit and threads, in a
    scratch database under ``work`` (removed afterwards). The path is a bound
    parameter. Skipped, with the reason, when the disk cannot hold the table."""
    import duckdb

    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    need = records * TYPED_READ_BYTES_PER_RECORD
    work.mkdir(parents=True, exist_ok=True)
    free = free_bytes(work)
    if free < need:
        reason = f"not enough disk ({need / 1e9:.1f} GB needed, {free / 1e9:.1f} free)"
        print(f"==> plain typed read of {path.name}: skipped, {reason}", flush=True)
        return {"reader": reader, "seconds": None, "rows": None, "skipped": reason}
    settings = Settings.from_env(project_dir=REPO)  # the caller's XDR_* settings
    scratch = work / "typed_read"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    print(f"==> plain typed read of {path.name} ({reader})", flush=True)
    try:
        con = duckdb.connect(
            str(scratch / "read.duckdb"),
            config={
                "memory_limit": settings.memory_limit,
                "threads": settings.duckdb_threads,
                "temp_directory": str(scratch / "tmp"),
            },
        )
        with con:
            started = time.perf_counter()
            con.execute(f"create table records as select * from {reader}(?)", [str(path)])
            seconds = time.perf_counter() - started
            rows = con.execute("select count(*) from records").fetchall()[0][0]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"reader": reader, "seconds": round(seconds, 2), "rows": int(rows)}


def profile_option(name: str, target: str = "dev") -> object:
    """A ``config_options`` value of a target of profiles.yml, as written there."""
    import yaml

    profiles = yaml.safe_load((REPO / "profiles.yml").read_text())
    outputs = profiles["xdr_warehouse"]["outputs"]
    return (outputs.get(target) or {}).get("config_options", {}).get(name, "?")


def ensure_input(records: int, fmt: str, data_dir: Path = DATA_DIR) -> Path:
    """The generated file for ``records`` (seed fixed), generated when missing."""
    from xdr_warehouse.generate import generate_xdr

    path = data_dir / f"xdr_{label(records)}.{fmt}"
    if path.exists():
        return path
    need = records * (CSV_BYTES_PER_RECORD if fmt == "csv" else PARQUET_BYTES_PER_RECORD)
    if free_bytes(data_dir) < need * 1.05:
        raise SystemExit(
            f"not enough disk for {path} ({need / 1e9:.1f} GB needed, "
            f"{free_bytes(data_dir) / 1e9:.1f} GB free); use --format parquet or free space"
        )
    print(f"==> generating {records:,} records into {path} ...", flush=True)
    result = generate_xdr(path, records, seed=SEED, fmt=fmt)
    print(f"    {result.n_rows_written:,} rows in {result.seconds:.0f} s", flush=True)
    return path


@dataclass
class Measured:
    """One timed subprocess: wall time, peak RSS of its process tree, output."""

    returncode: int | None
    wall_s: float
    peak_rss_bytes: int
    timed_out: bool
    stdout: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    samples: int = 0
    rss_trace: list[tuple[float, int]] = field(default_factory=list)
    started_epoch: float = 0.0
    peak_at_s: float = 0.0

    @property
    def peak_rss_gb(self) -> float:
        return self.peak_rss_bytes / 2**30


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants (bytes)."""
    total = 0
    try:
        processes = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in processes:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_measured(
    cmd: list[str],
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    interval: float = 0.2,
    log_path: Path | None = None,
    echo: bool = True,
    preexec_fn=None,  # noqa: ANN001 - callable run in the child before exec
) -> Measured:
    """Run ``cmd``, sampling the RSS of its process tree every ``interval`` seconds."""
    load_before = os.getloadavg()
    started_epoch = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=preexec_fn,
    )
    ps = psutil.Process(proc.pid)
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        log = open(log_path, "w") if log_path else None  # noqa: SIM115 - closed below
        try:
            for line in proc.stdout:
                lines.append(line)
                if log:
                    log.write(line)
                    log.flush()
                if echo:
                    print("   |" + line.rstrip("\n"), flush=True)
        finally:
            if log:
                log.close()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    peak = 0
    peak_at = 0.0
    samples = 0
    trace: list[tuple[float, int]] = []
    timed_out = False
    while proc.poll() is None:
        rss = tree_rss(ps)
        samples += 1
        now = time.perf_counter() - start
        if rss > peak:
            peak, peak_at = rss, now
        if not trace or now - trace[-1][0] >= 1.0:
            trace.append((round(now, 1), rss))
        if timeout is not None and now > timeout:
            timed_out = True
            for child in ps.children(recursive=True):
                child.kill()
            proc.kill()
            break
        time.sleep(interval)
    proc.wait()
    wall = time.perf_counter() - start
    thread.join(timeout=10)
    return Measured(
        returncode=proc.returncode,
        wall_s=wall,
        peak_rss_bytes=peak,
        timed_out=timed_out,
        stdout="".join(lines),
        load_before=load_before,
        load_after=os.getloadavg(),
        samples=samples,
        rss_trace=trace,
        started_epoch=started_epoch,
        peak_at_s=round(peak_at, 1),
    )


#: Settings fields that are not outputs of a run (the project, the default input's folder).
NOT_OUTPUTS = {"project_dir", "data_dir"}


def warehouse_env(work: Path, xdr_path: Path, **extra: str) -> dict[str, str]:
    """Environment of a warehouse run on ``xdr_path`` whose every output lies under ``work``.

    DuckDB engine, dbt's default target; XDR_MEMORY_LIMIT and the thread counts
    stay as the caller's environment sets them. Raises when a path setting of
    :class:`Settings` would still point outside ``work`` (a setting added to the
    package since this was written).
    """
    env = dict(os.environ)
    for name in ("DBT_TARGET", "DBT_LOG_PATH", "DBT_PROFILES_DIR", "DBT_PROJECT_DIR"):
        env.pop(name, None)
    python_path = [str(REPO / "python"), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        {
            "XDR_PROJECT_DIR": str(REPO),
            "XDR_ENGINE": "duckdb",
            "XDR_PATH": str(xdr_path),
            "XDR_BUILD_DB": str(work / "build.duckdb"),
            "XDR_PUBLISHED_DB": str(work / "engagement.duckdb"),
            "XDR_EXPORT_DIR": str(work / "parquet"),
            "XDR_REPORT_DIR": str(work / "report"),
            "XDR_LANDING_DIR": str(work / "landing"),
            "XDR_TEMP_DIR": str(work / "tmp"),
            "XDR_LOG_DIR": str(work / "logs"),
            "XDR_SPARK_DIR": str(work / "spark"),  # unused on DuckDB, but never warehouse/
            "DBT_TARGET_PATH": str(work / "target"),
            "PYTHONPATH": os.pathsep.join(python_path),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    settings = Settings.from_env(env)
    outside = [
        f"{f.name}={getattr(settings, f.name)}"
        for f in fields(settings)
        if f.type == "Path"
        and f.name not in NOT_OUTPUTS
        and not getattr(settings, f.name).resolve().is_relative_to(work.resolve())
    ]
    if outside:
        raise SystemExit(f"benchlib.warehouse_env: outputs outside {work}: {', '.join(outside)}")
    return env


#: dbt's saved parse of the project, in the target folder.
PARSE_FILE = "partial_parse.msgpack"


def reset_work(work: Path) -> None:
    """Remove a previous run's build database and outputs (the input stays).

    dbt's saved parse of the project (``target/partial_parse.msgpack``) stays, as
    in a deployed warehouse, whose target folder persists from one daily run to
    the next: dbt then reads the parse back instead of parsing every file (4 s).
    """
    saved = work / "target" / PARSE_FILE
    parse = saved.read_bytes() if saved.exists() else None
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if parse is not None:
        saved.parent.mkdir()
        saved.write_bytes(parse)


def prepare_parse(env: Mapping[str, str]) -> None:
    """Parse the project with the run's settings before the measured run (untimed: a
    deployed warehouse parsed today's project the day before). dbt reads the saved
    parse back and reparses only the files changed since, none when the project did
    not change."""
    code = (
        "from xdr_warehouse.dbt_runner import run_dbt\n"
        "from xdr_warehouse.settings import Settings\n"
        "run_dbt(Settings.from_env(), ['parse'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=dict(env), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"dbt parse failed before the benchmark run:\n{done.stderr[-2000:]}")


def dbt_parse_kind(log_dir: Path) -> str:
    """``partial`` when the last dbt command of ``log_dir/dbt.log`` reused the saved
    parse, ``full`` when it parsed every file."""
    try:
        text = (log_dir / "dbt.log").read_text(errors="replace")
    except OSError:
        return "unknown"
    start = text.rfind("Running with dbt=")
    if start < 0:
        return "unknown"
    last = text[start:]
    if "Unable to do partial parsing" in last:  # logged at level info
        return "full"
    # "Partial parsing enabled" is a debug line; dbt.log is at level info unless
    # XDR_DBT_LOG_LEVEL=debug, and prepare_parse saved a parse before the run
    return "partial"


STEP_RE = re.compile(r"^\s{4}(.+): done in ([0-9.]+) s$", re.M)
#: ``xdr run`` step names (python/xdr_warehouse/cli.py) -> the short names used here.
STEP_NAMES = (
    ("ingest", "ingest"),  # "ingest <input>": check the input files and land them
    ("generate", "generate"),  # only when XDR_PATH is unset (never in a benchmark)
    ("dbt build", "dbt build"),  # "dbt build on duckdb (models and tests)"
    ("publish", "publish"),  # "publish the BI database and Parquet exports"
    ("write the report", "report"),
)


def cli_steps(stdout: str) -> dict[str, float]:
    """The ``xdr run`` step durations printed as ``    <step>: done in X s``."""
    steps = {}
    for name, seconds in STEP_RE.findall(stdout):
        for prefix, short in STEP_NAMES:
            if name.startswith(prefix):
                name = short
                break
        steps[name] = float(seconds)
    return steps


#: Which dbt nodes make up which stage of the main job (seeds count as staging,
#: the on-run-start/end hooks as "hooks"; every other model is "marts").
STAGING_MODELS = {"stg_xdr__files", "stg_xdr__records", "int_records_loaded"}
CLUSTERING_MODELS = {
    "clustering_fit_sample",
    "clustering_elbow_sample",
    "engagement_cluster_model",
    "engagement_elbow_curve",
    "customer_clusters",
    "engagement_cluster_summary",
    "engagement_elbow",
}
STAGES = ("staging", "marts", "clustering", "tests", "hooks")


def unknown_stage_models(manifest: Path) -> list[str]:
    """Names in STAGING_MODELS / CLUSTERING_MODELS that dbt's manifest has no model of
    (a renamed model would otherwise silently move to "marts")."""
    data = json.loads(manifest.read_text())
    models = {n["name"] for n in data["nodes"].values() if n["resource_type"] == "model"}
    return sorted((STAGING_MODELS | CLUSTERING_MODELS) - models)


def _interval(result: dict) -> tuple[float, float] | None:
    from datetime import datetime

    times = [
        (t["started_at"], t["completed_at"])
        for t in result.get("timing") or []
        if t.get("started_at") and t.get("completed_at")
    ]
    if not times:
        return None
    start = min(datetime.fromisoformat(a.replace("Z", "+00:00")) for a, _ in times)
    end = max(datetime.fromisoformat(b.replace("Z", "+00:00")) for _, b in times)
    return start.timestamp(), end.timestamp()


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, current = 0.0, None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    if current is not None:
        total += current[1] - current[0]
    return total


def stage_of(uid: str) -> str | None:
    """The stage of a dbt node (None for exposures, which dbt lists but does not run)."""
    kind, _, name = uid.split(".", 2)
    name = name.split(".")[0] if kind in ("model", "seed") else name
    if kind in ("test", "unit_test"):
        return "tests"
    if kind == "operation":
        return "hooks"
    if kind == "seed" or name in STAGING_MODELS:
        return "staging"
    if name in CLUSTERING_MODELS:
        return "clustering"
    if kind == "model":
        return "marts"
    return None


def nodes_running_at(run_results: Path, epoch: float) -> list[str]:
    """The dbt nodes whose run interval contains the given time."""
    data = json.loads(run_results.read_text())
    running = []
    for result in data["results"]:
        interval = _interval(result)
        if interval and interval[0] <= epoch <= interval[1]:
            running.append(
                result["unique_id"].split(".")[-1 if "test" not in result["unique_id"] else 2]
            )
    return running


def dbt_stages(run_results: Path) -> dict:
    """Per-stage wall time from run_results.json: the union of the stage's node
    intervals. dbt runs 2 nodes at once (threads), so stages can overlap (tests
    run beside models) and their sum can exceed the dbt build's wall time."""
    data = json.loads(run_results.read_text())
    intervals: dict[str, list[tuple[float, float]]] = {stage: [] for stage in STAGES}
    node_seconds = dict.fromkeys(intervals, 0.0)
    nodes = []
    for result in data["results"]:
        uid = result["unique_id"]
        stage = stage_of(uid)
        if stage is None:
            continue
        seconds = float(result["execution_time"])
        node_seconds[stage] += seconds
        interval = _interval(result)
        if interval:
            intervals[stage].append(interval)
        nodes.append(
            {
                "node": uid,
                "seconds": round(seconds, 3),
                "status": result.get("status"),
                "rows_affected": (result.get("adapter_response") or {}).get("rows_affected"),
            }
        )
    nodes.sort(key=lambda n: -n["seconds"])
    return {
        "stages": {k: round(_union_seconds(v), 2) for k, v in intervals.items()},
        "node_seconds": {k: round(v, 2) for k, v in node_seconds.items()},
        "dbt_elapsed_s": round(float(data["elapsed_time"]), 2),
        "nodes": nodes,
    }


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
