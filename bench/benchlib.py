"""Shared pieces of the benchmarks: machine facts, data files, timed subprocesses.

``run_bench.py`` (warehouse vs notebook) and ``bench_incremental.py`` (adding
files to a built warehouse) use these. Every warehouse run gets its own build
database, published file, exports, temp, dbt target and log folders under the
run's work folder, so a benchmark never touches ``warehouse/``.
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
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
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


def duckdb_settings() -> dict:
    """The build target's DuckDB settings as profiles.yml resolves them from the environment."""
    return {
        name: profile_setting(name)
        for name in ("memory_limit", "threads", "temp_directory", "preserve_insertion_order")
    } | {"dbt_threads": resolve(profile_line("threads", "build:"))}


def profile_line(name: str, after: str) -> str:
    """The raw value of ``name`` in the build target of profiles.yml, below ``after``."""
    text = (REPO / "profiles.yml").read_text()
    build = text.split("    build:", 1)[1].split("    published:", 1)[0]
    if after != "build:":
        build = build.split(after, 1)[1]
    match = re.search(rf"^\s*{name}:\s*(.+)$", build, re.M)
    return match.group(1).strip() if match else "?"


def resolve(value: str) -> str:
    """``"{{ env_var('X', 'default') ... }}"`` -> the value of $X or the default."""
    match = re.search(r"env_var\('(\w+)', '([^']*)'\)", value)
    if not match:
        return value.strip('"')
    return os.environ.get(match.group(1), match.group(2))


def profile_setting(name: str) -> str:
    """A DuckDB setting of the build target (config_options), resolved."""
    return resolve(profile_line(name, "config_options:"))


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


def warehouse_env(work: Path, xdr_path: Path, **extra: str) -> dict[str, str]:
    """Environment of a warehouse run whose every output lies under ``work``."""
    env = dict(os.environ)
    env.update(
        {
            "XDR_PATH": str(xdr_path),
            "XDR_BUILD_DB": str(work / "build.duckdb"),
            "XDR_PUBLISHED_DB": str(work / "engagement.duckdb"),
            "XDR_EXPORT_DIR": str(work / "parquet"),
            "XDR_REPORT_DIR": str(work / "report"),
            "XDR_TEMP_DIR": str(work / "tmp"),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def reset_work(work: Path) -> None:
    """Remove a previous run's build database and outputs (the input stays)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)


STEP_RE = re.compile(r"^\s{4}(.+): done in ([0-9.]+) s$", re.M)


def cli_steps(stdout: str) -> dict[str, float]:
    """The ``xdr run`` step durations printed as ``    <step>: done in X s``."""
    steps = {}
    for name, seconds in STEP_RE.findall(stdout):
        if name.startswith("check input"):
            name = "check input"
        elif name.startswith("dbt build"):
            name = "dbt build"
        elif name.startswith("publish"):
            name = "publish"
        elif name.startswith("write the report"):
            name = "report"
        steps[name] = float(seconds)
    return steps


#: Which dbt nodes make up which stage of the main job.
CLUSTERING_MODELS = {"customer_clusters", "engagement_elbow", "engagement_cluster_summary"}
STAGING_MODELS = {"stg_xdr__files", "stg_xdr__records", "applications"}


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


def stage_of(uid: str) -> str:
    kind, _, name = uid.split(".", 2)
    name = name.split(".")[0] if kind in ("model", "seed") else name
    if kind in ("test", "unit_test"):
        return "tests"
    if name in STAGING_MODELS:
        return "staging"
    if name in CLUSTERING_MODELS:
        return "clustering"
    return "marts"


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
    intervals: dict[str, list[tuple[float, float]]] = {
        "staging": [],
        "marts": [],
        "clustering": [],
        "tests": [],
    }
    node_seconds = dict.fromkeys(intervals, 0.0)
    nodes = []
    for result in data["results"]:
        uid = result["unique_id"]
        stage = stage_of(uid)
        seconds = float(result["execution_time"])
        node_seconds[stage] += seconds
        interval = _interval(result)
        if interval:
            intervals[stage].append(interval)
        nodes.append(
            {
                "node": uid,
                "seconds": round(seconds, 3),
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
