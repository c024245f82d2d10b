"""Find, check and describe the xDR input files before the staging layer reads them.

The staging model reads every file with DuckDB's own readers (``read_csv``,
``read_parquet``). This module does what must happen before that, and fails with
one line a user can act on:

- expand ``XDR_PATH`` (a file, a folder or a glob) into a sorted file list;
- read each file's header and map its columns onto the 55 raw names
  (``Dur. (ms)`` twice in the raw CSV, ``Dur. (ms).1`` in pandas re-exports,
  ``Dur. (ms)_1`` as DuckDB names it), listing unknown extra columns;
- convert ``.xlsx`` workbooks to a cached Parquet file of text cells, because
  DuckDB's own Excel reader needs a download;
- describe each file (size, modification time, signature) so incremental loads
  can tell a new or changed file from one already loaded.
"""

from __future__ import annotations

import difflib
import glob
import gzip
import hashlib
import json
import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from xdr_warehouse.columns import ALIASES, RAW_NAMES

SUFFIX_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
}
HOW_TO_SET = "set XDR_PATH to an xDR export (a file, a folder or a glob), or run `make data`"
DEFAULT_CACHE_DIR = Path("warehouse") / "xlsx_cache"

#: DuckDB read_csv options for the export. No sniffing (the header is read
#: here and passed as `columns`), every field text, and no quote character: the
#: export never quotes, and a stray quote must not make the reader swallow the
#: following lines into one field. A line is always exactly one record.
CSV_OPTIONS = (
    "header=true, auto_detect=false, delim=',', quote='', escape='', "
    "strict_mode=true, null_padding=false, encoding='utf-8', compression='auto'"
)


class XdrInputError(ValueError):
    """An input problem, stated in one line that names the file and what to do."""


@dataclass(frozen=True)
class InputFile:
    """One input file as the staging model needs it."""

    source_file: str
    file_name: str
    file_format: str
    read_path: str
    size_bytes: int
    modified_at: datetime
    file_signature: str
    column_map: dict[str, str]
    unknown_columns: tuple[str, ...]
    header: tuple[str, ...]

    @property
    def read_expression(self) -> str:
        """The DuckDB table function call that reads this file as text columns."""
        path = _sql_string(self.read_path)
        if self.file_format == "csv":
            return f"read_csv({path}, {CSV_OPTIONS}, columns={_varchar_columns(self.header)})"
        return f"read_parquet({path})"


def _sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _varchar_columns(names: tuple[str, ...]) -> str:
    """DuckDB's `columns` argument: every column as VARCHAR, in file order."""
    return "{" + ", ".join(f"{_sql_string(n)}: 'VARCHAR'" for n in names) + "}"


def file_format(path: Path) -> str | None:
    """Return ``csv``, ``parquet`` or ``xlsx`` for a supported file name, else None."""
    name = path.name.lower()
    for suffix, fmt in sorted(SUFFIX_FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


def resolve_input_paths(spec: str) -> list[Path]:
    """Expand a file, folder or glob into the sorted list of supported input files."""
    if not spec or not spec.strip():
        raise XdrInputError(f"XDR_PATH is empty; {HOW_TO_SET}")
    path = Path(spec)
    if path.is_dir():
        candidates = [p for p in path.rglob("*") if p.is_file()]
    elif glob.has_magic(spec):
        candidates = [Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file()]
    elif path.is_file():
        if file_format(path) is None:
            raise XdrInputError(
                f"{spec}: unsupported file type; use .csv, .csv.gz, .parquet or .xlsx"
            )
        return [path]
    else:
        raise XdrInputError(f"{spec}: no such file or folder; {HOW_TO_SET}")
    files = sorted(p for p in candidates if file_format(p) is not None)
    if not files:
        raise XdrInputError(
            f"{spec}: matches no .csv, .csv.gz, .parquet or .xlsx file; {HOW_TO_SET}"
        )
    return files


def _xlsx_cell_text(value: object) -> str | None:
    """Render one Excel cell as the text the raw CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    text = str(value)
    return text if text != "" else None


def convert_xlsx(path: Path, cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """Convert the first sheet of a workbook to a cached Parquet file of text columns.

    The header row keeps its names, a repeated name gets DuckDB's ``_1`` suffix.
    The cache key is the file's size and modification time, so an edited
    workbook is converted again.
    """
    import openpyxl

    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    target = cache_dir / f"{path.stem}-{key[:16]}.parquet"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise XdrInputError(f"{path}: the first sheet is empty (no header row)")
        names = _dedupe_names([str(h) if h is not None else "" for h in header])
        columns: list[list[str | None]] = [[] for _ in names]
        for row in rows:
            for i in range(len(names)):
                columns[i].append(_xlsx_cell_text(row[i]) if i < len(row) else None)
    finally:
        workbook.close()
    table = pa.table(
        {n: pa.array(c, type=pa.string()) for n, c in zip(names, columns, strict=True)}
    )
    tmp = target.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    return target


def _dedupe_names(names: list[str]) -> list[str]:
    """Rename repeated header names the way DuckDB does (``name_1``, ``name_2``...)."""
    seen: dict[str, int] = {}
    result = []
    for position, raw_name in enumerate(names):
        name = raw_name or f"column{position:02d}"  # DuckDB's name for an empty header
        if name in seen:
            seen[name] += 1
            result.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            result.append(name)
    return result


def read_csv_header(path: Path) -> list[str]:
    """The header line of a CSV (plain or gzip, UTF-8 with or without BOM), split on commas.

    Repeated names get DuckDB's suffixes (the second ``Dur. (ms)`` becomes
    ``Dur. (ms)_1``), so they are the names the reader's `columns` argument uses.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            first = handle.readline(1 << 20)
    except (OSError, EOFError) as err:
        raise XdrInputError(f"{path}: cannot be read: {err}") from err
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise XdrInputError(f"{path}: the header line is not UTF-8 text") from err
    if not line.strip():
        raise XdrInputError(f"{path}: the first line is empty; expected the 55-column header")
    return _dedupe_names(line.split(","))


def read_parquet_header(path: Path) -> list[str]:
    """The column names of a Parquet file (from its footer, without reading data)."""
    con = duckdb.connect()
    try:
        return list(con.sql("select * from read_parquet(?) limit 0", params=[str(path)]).columns)
    except duckdb.Error as err:
        first_line = str(err).strip().splitlines()[0]
        raise XdrInputError(f"{path}: cannot be read as Parquet: {first_line}") from err
    finally:
        con.close()


def map_columns(source: str, header: list[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Map the raw column names onto a file's header.

    Returns ``{raw name: name in the file}`` and the unknown extra columns. Raises
    XdrInputError naming the file and every missing column (with a close match
    from the header when there is one).
    """
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for name in header:
        canonical = ALIASES.get(name, name)
        if canonical in RAW_NAMES and canonical not in mapping:
            mapping[canonical] = name
        else:
            unknown.append(name)
    missing = [name for name in RAW_NAMES if name not in mapping]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, unknown, n=1, cutoff=0.8)
            hints.append(f"'{name}'" + (f" (found '{close[0]}')" if close else ""))
        raise XdrInputError(
            f"{source}: missing required column(s) {', '.join(hints)}; "
            f"the file must have the 55 columns of the xDR export"
        )
    return mapping, tuple(unknown)


def inspect_file(path: Path, cache_dir: Path = DEFAULT_CACHE_DIR) -> InputFile:
    """Check one file's header and describe it for the staging model."""
    fmt = file_format(path)
    if fmt is None:
        raise XdrInputError(f"{path}: unsupported file type; use .csv, .csv.gz, .parquet or .xlsx")
    if not os.access(path, os.R_OK):
        raise XdrInputError(f"{path}: file is not readable (check its permissions)")
    stat = path.stat()
    if stat.st_size == 0:
        raise XdrInputError(f"{path}: file is empty (not even a header line)")
    read_path = convert_xlsx(path, cache_dir) if fmt == "xlsx" else path
    header = read_csv_header(path) if fmt == "csv" else read_parquet_header(read_path)
    column_map, unknown = map_columns(str(path), header)
    return InputFile(
        source_file=str(path.resolve()),
        file_name=path.name,
        file_format=fmt,
        read_path=str(Path(read_path).resolve()),
        size_bytes=stat.st_size,
        modified_at=datetime.fromtimestamp(stat.st_mtime),
        file_signature=f"{stat.st_size}:{stat.st_mtime_ns}",
        column_map=column_map,
        unknown_columns=unknown,
        header=tuple(header),
    )


def inspect_inputs(spec: str, cache_dir: Path = DEFAULT_CACHE_DIR) -> list[InputFile]:
    """Resolve ``spec`` and check every file; the first problem raises XdrInputError."""
    return [inspect_file(path, cache_dir) for path in resolve_input_paths(spec)]


def manifest_table(files: list[InputFile]) -> pa.Table:
    """One row per input file, as the ``stg_xdr__files`` model stores it."""
    return pa.table(
        {
            "source_file": pa.array([f.source_file for f in files], pa.string()),
            "file_name": pa.array([f.file_name for f in files], pa.string()),
            "file_format": pa.array([f.file_format for f in files], pa.string()),
            "read_path": pa.array([f.read_path for f in files], pa.string()),
            "read_expression": pa.array([f.read_expression for f in files], pa.string()),
            "size_bytes": pa.array([f.size_bytes for f in files], pa.int64()),
            "modified_at": pa.array([f.modified_at for f in files], pa.timestamp("us")),
            "file_signature": pa.array([f.file_signature for f in files], pa.string()),
            "column_map": pa.array([json.dumps(f.column_map) for f in files], pa.string()),
            "unknown_columns": pa.array(
                [list(f.unknown_columns) for f in files], pa.list_(pa.string())
            ),
        }
    )
