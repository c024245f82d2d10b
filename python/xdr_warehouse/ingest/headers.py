"""Read a file's header and map it onto the 55 columns of the xDR export.

The raw CSV has no quoting and a plain comma-separated header in which
``Dur. (ms)`` appears twice (the first holds seconds, the second milliseconds);
pandas re-exports name the second ``Dur. (ms).1`` and may add an unnamed index
column. Columns are matched by name, so their order does not matter, and told
apart by position where the name repeats.

A header that is not a comma-separated xDR header gets a one-line message that
says what the file looks like instead: another separator, a spreadsheet or an
HTML page saved under a ``.csv`` name, UTF-16 text, an empty file.
"""

from __future__ import annotations

import difflib
import gzip
from dataclasses import dataclass
from pathlib import Path

import duckdb

from xdr_warehouse.columns import ALIASES, RAW_NAMES
from xdr_warehouse.ingest.files import XdrInputError

#: The longest header line read (the real one has 1,286 bytes).
MAX_HEADER_BYTES = 1 << 20
#: Separators other exports use, with the words for the message.
OTHER_SEPARATORS = {";": "';' (a European Excel export?)", "\t": "tabs", "|": "'|'"}


@dataclass(frozen=True)
class Header:
    """A file's column names (repeats renamed ``name_1``) and its line ending."""

    names: tuple[str, ...]
    new_line: str = "\n"


def dedupe_names(names: list[str]) -> list[str]:
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


def _first_line(path: Path) -> bytes:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            return handle.readline(MAX_HEADER_BYTES)
    except (OSError, EOFError) as err:
        raise XdrInputError(f"{path}: cannot be read: {err}") from err


def _what_it_looks_like(first: bytes) -> str | None:
    """A phrase for a file that is clearly not a CSV export, from its first bytes."""
    start = first.lstrip()[:64].lower()
    if first.startswith(b"PK\x03\x04"):
        return "is a zip archive (an Excel workbook saved under a .csv name?); rename it to .xlsx"
    if first.startswith(b"\xd0\xcf\x11\xe0"):
        return "is an old Excel (.xls) workbook; save it as .xlsx or CSV"
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "is UTF-16 text; save it as UTF-8 CSV"
    if start.startswith((b"<!doctype html", b"<html", b"<?xml")):
        return "is an HTML or XML page, not a CSV export"
    if first.startswith(b"PAR1"):
        return "is a Parquet file; rename it to .parquet"
    return None


def read_text_header(path: Path) -> Header:
    """The header line of a CSV (plain or gzip; UTF-8 with or without BOM), split on commas."""
    first = _first_line(path)
    if not first.strip():
        raise XdrInputError(f"{path}: the first line is empty; expected the 55-column header")
    looks_like = _what_it_looks_like(first)
    if looks_like:
        raise XdrInputError(f"{path}: {looks_like}")
    new_line = "\r\n" if first.endswith(b"\r\n") else "\n"
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise XdrInputError(
            f"{path}: the header line is not UTF-8 text (byte {err.start + 1}); "
            "save the export as UTF-8"
        ) from err
    names = line.split(",")
    if len(names) == 1:
        for separator, words in OTHER_SEPARATORS.items():
            if line.count(separator) >= 10:
                raise XdrInputError(
                    f"{path}: the header is separated by {words}, not commas; "
                    "export the file with ',' as the separator"
                )
    return Header(tuple(dedupe_names(names)), new_line)


def read_parquet_header(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The column names of a Parquet file and their DuckDB types (from its footer)."""
    con = duckdb.connect()
    try:
        described = con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))",
            [str(path)],
        ).fetchall()
    except duckdb.Error as err:
        first_line = str(err).strip().splitlines()[0]
        raise XdrInputError(f"{path}: cannot be read as Parquet: {first_line}") from err
    finally:
        con.close()
    return tuple(name for name, _ in described), tuple(kind for _, kind in described)


def map_columns(source: str, header: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Where each of the 55 raw columns is in ``header``, and the unknown columns.

    Returns the 1-based position of every raw column (in :data:`RAW_NAMES`
    order) and the header names that are not xDR columns. Raises XdrInputError
    naming the file and every missing column, with a close match from the
    header when there is one.
    """
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for position, name in enumerate(header, start=1):
        canonical = ALIASES.get(name, name)
        if canonical in RAW_NAMES and canonical not in positions:
            positions[canonical] = position
        else:
            unknown.append(name)
    missing = [name for name in RAW_NAMES if name not in positions]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, unknown, n=1, cutoff=0.8)
            hints.append(f"'{name}'" + (f" (found '{close[0]}')" if close else ""))
        raise XdrInputError(
            f"{source}: missing required column(s) {', '.join(hints)}; "
            f"the file must have the 55 columns of the xDR export"
        )
    return tuple(positions[name] for name in RAW_NAMES), tuple(unknown)
