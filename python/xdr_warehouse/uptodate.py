"""Whether ``xdr run`` has anything to do: the published release against today's run.

After ``xdr run`` publishes a build, it records in the build database a
fingerprint of what that release was made from (``audit.xdr_run_state``): the
input file versions (path, size and modification time), the project's files
(dbt models, macros, seeds, tests, the dbt and profile configuration, the
Python package) and every setting. The next ``xdr run`` computes the same
fingerprint after ingest; when it is equal, the last dbt build is the published
one and the published file still holds it, there is nothing to build: every
model and test would read exactly the rows they read before. The run then says
so in one line and skips the build and the publish. ``--full-refresh`` or
``--force`` always build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path

import duckdb
import yaml

import xdr_warehouse
from xdr_warehouse.ingest import LandedFile
from xdr_warehouse.settings import Settings

STATE_TABLE = "audit.xdr_run_state"


def _project_parts(project_dir: Path) -> list[Path]:
    """dbt's configuration files, every folder of a ``*-paths`` key of dbt_project.yml
    but the target, and this Python package (dbt's Python models and ingest use it)."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    parts = [project_dir / name for name in ("dbt_project.yml", "profiles.yml", "packages.yml")]
    for key, value in config.items():
        if key.endswith("-paths"):
            parts += [project_dir / folder for folder in value]
    return [*parts, Path(xdr_warehouse.__file__).resolve().parent]


def _project_files(project_dir: Path) -> Iterable[Path]:
    for path in _project_parts(project_dir):
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            )


def fingerprint(settings: Settings, files: Sequence[LandedFile]) -> str:
    """A digest of the input file versions, the project's files and every setting."""
    digest = hashlib.sha256()
    for field in fields(settings):
        digest.update(f"setting {field.name}={getattr(settings, field.name)!r}\n".encode())
    for landed in sorted(files, key=lambda x: x.file.version_key):
        digest.update(f"input {landed.file.version_key!r}\n".encode())
    for path in _project_files(settings.project_dir):
        digest.update(f"file {path}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def published_build_if_current(settings: Settings, digest: str) -> str | None:
    """The id of the published build when it was made from ``digest`` and nothing
    was built since; None when the run has something to do."""
    from xdr_warehouse.publish_plan import last_build_id, published_build

    if settings.engine != "duckdb" or not settings.build_db.exists():
        return None
    try:
        with duckdb.connect(str(settings.build_db), read_only=True) as con:
            state = con.execute(f"select build_id, fingerprint from {STATE_TABLE}").fetchall()
        last = last_build_id(settings)
    except duckdb.Error:  # no state recorded yet (or no build)
        return None
    if len(state) != 1 or state[0] != (last, digest):
        return None
    if not settings.export_dir.exists() or published_build(settings) != last:
        return None
    return last


def report_is_current(settings: Settings) -> bool:
    """Whether the report was written after the published file (so from it)."""
    from xdr_warehouse.report.names import REPORT_FILE

    report = settings.report_dir / REPORT_FILE
    return (
        report.exists()
        and settings.published_db.exists()
        and report.stat().st_mtime_ns >= settings.published_db.stat().st_mtime_ns
    )


def record_published(settings: Settings, digest: str) -> None:
    """Record that the published file holds a build made from ``digest`` (DuckDB
    builds: a Spark build is always built again)."""
    from xdr_warehouse.publish_plan import published_build

    build_id = published_build(settings) if settings.engine == "duckdb" else None
    if build_id is None:
        return
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("create schema if not exists audit")
        con.execute(
            f"create table if not exists {STATE_TABLE}"
            " (build_id varchar, fingerprint varchar, recorded_at timestamp)"
        )
        con.execute("begin")
        con.execute(f"delete from {STATE_TABLE}")
        con.execute(
            f"insert into {STATE_TABLE} values (?, ?, now()::timestamp)", [build_id, digest]
        )
        con.execute("commit")
