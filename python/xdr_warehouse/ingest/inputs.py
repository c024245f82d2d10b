"""Inspect each input file: its format, header, column positions and what the engine reads.

:func:`inspect_file` reads a file's header (never its records, except for the
byte pre-scan of text exports) and returns an :class:`InputFile`: everything
the raw layer records about one version of a file. Problems stop ingest with
one line naming the file (:class:`XdrInputError`).

What the engine reads (``read_path``, ``reader``):

- CSV and csv.gz: the file itself as lines, or a cleaned UTF-8 copy in the
  landing folder when the pre-scan found bytes the line reader cannot take
  (:mod:`xdr_warehouse.ingest.prescan`);
- XLSX: a text export of its first sheet written once into the landing folder
  (:mod:`xdr_warehouse.ingest.xlsx`), read as lines;
- Parquet: the file itself, typed, when every numeric xDR column is stored as
  a number; a Parquet file that stores numbers as text is written once as a
  text export and read as lines, so that its text gets the strict checks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from xdr_warehouse.columns import RAW_COLUMNS
from xdr_warehouse.ingest.files import SUPPORTED, XdrInputError, file_format, resolve_input_paths
from xdr_warehouse.ingest.headers import map_columns, read_parquet_header, read_text_header
from xdr_warehouse.ingest.prescan import LineNote, scan_text, write_clean_copy
from xdr_warehouse.ingest.xlsx import convert_xlsx
from xdr_warehouse.sql import quote_literal

#: DuckDB types a numeric xDR column may have in a Parquet file to be read typed.
NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL",
)  # fmt: skip
NUMERIC_KINDS = ("integer", "percent")


@dataclass(frozen=True)
class InputFile:
    """One version of one input file, as the raw layer records it."""

    source_file: str
    file_name: str
    file_format: str
    size_bytes: int
    modified_at: datetime
    file_signature: str
    header: tuple[str, ...]
    #: 1-based position of each of the 55 raw columns in the file's fields.
    field_positions: tuple[int, ...]
    unknown_columns: tuple[str, ...]
    #: ``lines`` (text, split in SQL) or ``parquet`` (typed columns).
    reader: str
    #: The file the engine reads: the input itself or a converted copy.
    read_path: Path
    new_line: str = "\n"
    #: Data lines (text) or rows (Parquet) the file holds: every one must be read.
    record_count: int | None = None
    notes: tuple[LineNote, ...] = ()

    @property
    def version_key(self) -> tuple[str, str]:
        return self.source_file, self.file_signature


def _landing_name(path: Path, signature: str) -> str:
    """A name made of hex digits for one version of a file (never the file's own name)."""
    return hashlib.sha1(f"{path.resolve()}:{signature}".encode()).hexdigest()[:20]


def _converted_path(landing_dir: Path, path: Path, signature: str, suffix: str) -> Path:
    return landing_dir / "converted" / f"{_landing_name(path, signature)}{suffix}"


def landing_link(landing_dir: Path, path: Path, signature: str, fmt: str) -> Path:
    """A symlink with a safe name to ``path``: what every DuckDB or Spark read opens.

    DuckDB reads a path as a glob pattern (``*``, ``?``, ``[``), and paths end
    up in SQL text in a few places; the engines therefore never see the name
    of an input file, only this link's hex name in the landing folder.
    """
    link = landing_dir / "links" / f"{_landing_name(path, signature)}.{fmt}"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(link.name + ".tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(path.resolve(), tmp)
        os.replace(tmp, link)
    return link


def _parquet_rows(path: Path) -> int:
    con = duckdb.connect()
    try:
        return int(
            con.execute(
                "select coalesce(sum(num_rows), 0) from parquet_file_metadata(?)", [str(path)]
            ).fetchall()[0][0]
        )
    finally:
        con.close()


def _parquet_as_text(path: Path, target: Path) -> Path:
    """Write a Parquet file as a comma-separated text export (no quoting), once."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    con = duckdb.connect()
    try:
        # COPY takes no parameters: both paths are quoted by the one quoting function
        con.execute(
            f"copy (select * from read_parquet({quote_literal(str(path))})) "
            f"to {quote_literal(str(tmp))} (format csv, header true, delimiter ',', quote '', "
            "escape '')"
        )
    finally:
        con.close()
    os.replace(tmp, target)
    return target


def inspect_file(path: Path, landing_dir: Path) -> InputFile:
    """Check one file's header and describe it for the raw layer."""
    fmt = file_format(path)
    if fmt is None:
        raise XdrInputError(f"{path}: unsupported file type; use {SUPPORTED}")
    if not os.access(path, os.R_OK):
        raise XdrInputError(f"{path}: file is not readable (check its permissions)")
    stat = path.stat()
    if stat.st_size == 0:
        raise XdrInputError(f"{path}: file is empty (not even a header line)")
    signature = file_signature(stat)
    new_line = "\n"
    notes: tuple[LineNote, ...] = ()
    if fmt == "parquet":
        link = landing_link(landing_dir, path, signature, fmt)
        header, types = read_parquet_header(link)
        positions, unknown = map_columns(str(path), header)
        numeric_ok = all(
            types[position - 1].startswith(NUMERIC_TYPES)
            for column, position in zip(RAW_COLUMNS, positions, strict=True)
            if column.kind in NUMERIC_KINDS
        )
        if numeric_ok:
            reader, read_path, records = "parquet", link, _parquet_rows(link)
        else:
            reader = "lines"
            read_path = _parquet_as_text(
                link, _converted_path(landing_dir, path, signature, ".csv")
            )
            records = scan_text(read_path).data_lines
    else:
        if fmt == "xlsx":
            read_path = convert_xlsx(path, _converted_path(landing_dir, path, signature, ".csv"))
        else:
            read_path = path
        text_header = read_text_header(read_path)
        header, new_line = text_header.names, text_header.new_line
        positions, unknown = map_columns(str(path), header)
        scan = scan_text(read_path)
        if scan.needs_copy:
            copy = _converted_path(landing_dir, path, signature, ".csv")
            scan = write_clean_copy(read_path, copy, new_line)
            read_path = copy
        elif fmt != "xlsx":
            read_path = landing_link(landing_dir, path, signature, fmt)
        reader, records, notes = "lines", scan.data_lines, scan.notes
    return InputFile(
        source_file=str(path.resolve()),
        file_name=path.name,
        file_format=fmt,
        size_bytes=stat.st_size,
        modified_at=datetime.fromtimestamp(stat.st_mtime),
        file_signature=signature,
        header=tuple(header),
        field_positions=positions,
        unknown_columns=unknown,
        reader=reader,
        read_path=Path(read_path).absolute(),
        new_line=new_line,
        record_count=records,
        notes=notes,
    )


def inspect_inputs(
    spec: str,
    landing_dir: Path,
    known: Mapping[tuple[str, str], InputFile] | None = None,
) -> list[InputFile]:
    """Resolve ``spec`` and check every file; the first problem raises XdrInputError.

    A file whose version (resolved path, size and modification time) is in
    ``known`` (landed by an earlier ingest) is taken from there, not read again.
    """
    files = []
    for path in resolve_input_paths(spec):
        landed = known.get(_version_key(path)) if known else None
        if landed is not None and os.access(path, os.R_OK):
            files.append(landed)
        else:
            files.append(inspect_file(path, landing_dir))
    return files


def file_signature(stat: os.stat_result) -> str:
    """A file version's signature: ``size:mtime_ns``."""
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _version_key(path: Path) -> tuple[str, str]:
    """(source_file, file_signature) of ``path`` as :func:`inspect_file` records them
    (no signature when the file cannot be read: inspect_file names the problem)."""
    try:
        return str(path.resolve()), file_signature(path.stat())
    except OSError:
        return str(path.resolve()), ""
