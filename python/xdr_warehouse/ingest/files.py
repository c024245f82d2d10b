"""Which files an input setting names: a file, a folder or a glob.

The first step of ingest, before any byte of a file is read: expand the input
(``XDR_PATH``) into a sorted list of supported files, or fail with one line that
names the path and says what to do.
"""

from __future__ import annotations

import glob
from pathlib import Path

#: File name endings and the format each is read as.
SUFFIX_FORMATS: dict[str, str] = {
    ".csv.gz": "csv.gz",
    ".csv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
}
SUPPORTED = ".csv, .csv.gz, .parquet or .xlsx"
HOW_TO_SET = "set XDR_PATH to an xDR export (a file, a folder or a glob), or run `make data`"


class XdrInputError(ValueError):
    """An input problem, stated in one line that names the file and what to do."""


def file_format(path: Path) -> str | None:
    """``csv``, ``csv.gz``, ``parquet`` or ``xlsx`` for a supported file name, else None."""
    name = path.name.lower()
    for suffix, fmt in SUFFIX_FORMATS.items():  # longest suffix first
        if name.endswith(suffix):
            return fmt
    return None


def resolve_input_paths(spec: str) -> list[Path]:
    """Expand a file, folder or glob into the sorted list of supported input files.

    A folder is searched recursively; hidden files (``.name``) are skipped, as
    are files of other types. A single file must be of a supported type.
    """
    if not spec or not spec.strip():
        raise XdrInputError(f"XDR_PATH is empty; {HOW_TO_SET}")
    path = Path(spec)
    if path.is_dir():
        candidates = [p for p in path.rglob("*") if p.is_file()]
    elif path.is_file():
        if file_format(path) is None:
            raise XdrInputError(f"{spec}: unsupported file type; use {SUPPORTED}")
        return [path]
    elif glob.has_magic(spec):
        candidates = [Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file()]
    else:
        raise XdrInputError(f"{spec}: no such file or folder; {HOW_TO_SET}")
    files = sorted(
        p for p in candidates if file_format(p) is not None and not p.name.startswith(".")
    )
    if not files:
        raise XdrInputError(f"{spec}: matches no {SUPPORTED} file; {HOW_TO_SET}")
    return files
