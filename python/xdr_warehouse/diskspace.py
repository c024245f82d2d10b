"""A disk-space estimate for a build, checked before dbt starts.

A 100M-record build writes about 55 GB (build database, DuckDB's spill files,
the new BI file and the Parquet exports) and fails with ``No space left on
device`` after 20 minutes when the disk cannot hold it. ``xdr run`` estimates
the need from the input's size before it starts and prints one warning line
when the free space of the build database's file system is smaller; the build
still runs (the estimate is rough, and an incremental build needs less).

Figures, measured on generated TellCo-shaped data: an input record takes 369
bytes as CSV, 167 as gzipped CSV, 192-203 as Parquet and 335 as XLSX; a built
and published record takes about 340 bytes in the build database, 110 in the
BI file and 90 in the Parquet exports (10M and 100M-record runs), 600 with
room for spilling.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from xdr_warehouse.ingest import InputFile

#: Input bytes per record, by format (``csv.gz`` for gzipped CSV).
INPUT_BYTES_PER_RECORD = {"csv": 369, "csv.gz": 167, "parquet": 192, "xlsx": 335}

#: Disk a full build and publish take per record, spill room included.
DISK_BYTES_PER_RECORD = 600


def estimated_records(files: Iterable[InputFile]) -> int:
    """Records the input files hold, estimated from their sizes and formats."""
    total = 0.0
    for file in files:
        kind = file.file_format
        if kind == "csv" and file.file_name.lower().endswith(".gz"):
            kind = "csv.gz"
        total += file.size_bytes / INPUT_BYTES_PER_RECORD.get(kind, INPUT_BYTES_PER_RECORD["csv"])
    return int(total)


def _existing_folder(path: Path) -> Path:
    """``path`` or its nearest existing parent (the file system it will be on)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_warning(files: Iterable[InputFile], build_db: Path) -> str | None:
    """One warning line when the build database's file system looks too small.

    The need is the estimated records times :data:`DISK_BYTES_PER_RECORD`,
    less what an existing build database already holds (an incremental build
    adds to it). None when the free space is enough.
    """
    need = estimated_records(files) * DISK_BYTES_PER_RECORD
    if build_db.exists():
        need -= build_db.stat().st_size
    folder = _existing_folder(build_db.parent)
    free = shutil.disk_usage(folder).free
    if need <= free:
        return None
    return (
        f"warning: this build may need about {need / 1e9:,.1f} GB of disk under {folder} "
        f"(build database, spill files, BI file, Parquet exports) and {free / 1e9:,.1f} GB "
        "are free; free some space or set XDR_BUILD_DB and XDR_TEMP_DIR to a larger disk"
    )
