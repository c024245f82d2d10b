"""Deterministic generator of synthetic TellCo xDR files in the real export's formats.

``generate_xdr`` writes ``n_records`` session records (plus, by default, the trailing
summary row of the real file) as one of:

- ``csv`` / ``csv.gz``: byte-for-byte the raw export's format. Header = the 55 names of
  ``RAW_CSV_HEADER`` (``Dur. (ms)`` twice); ``Bearer Id`` as ``1.31144834608449E+019``
  (15 significant digits, 14 decimals always, 3-digit exponent); ``Start``/``End`` as
  ``M/D/YYYY H:MM`` (seconds truncated); integers without ``.0``; NULL = empty field; no
  quoting; LF line ends and, like the real sample, **no newline after the last line**.
  ``csv.gz`` is the same bytes gzip-compressed, as a series of gzip members (one per
  block, mtime 0; gzip, pandas and DuckDB read them as one stream).
- ``parquet``: what pandas gives after ``read_csv`` of that file: ``Dur. (ms).1``, every
  numeric column float64 (NaN for NULL), ``Start``/``End``/location/handset as strings.
- ``xlsx``: the original Excel export: numeric cells, ``Start``/``End`` as real datetimes
  with seconds, blanks empty (at most 1,048,575 data rows).

The same (n_records, seed, format) always gives the same bytes: records are drawn in
fixed blocks of ``records.BLOCK_SIZE``, each with its own RNG stream, so neither
``chunk_size`` (it only sets Parquet row groups) nor the helper process that computes part
of a large file changes them. Memory stays at a few blocks (plus one Parquet row group).

Where each concern lives:

- ``model.py``: the real export's statistical model as constants (``docs/dataset.md``).
- ``primitives.py``: keyed hashing, sampling and numpy-to-Arrow building blocks.
- ``tables.py``: the per-file sampling tables and text pools (``Model``).
- ``records.py``: drawing one block of records from the seed and the record index.
- ``formats.py``: a block as CSV text, an Arrow table or xlsx cells.
- ``parallel.py``: sharing the blocks with a helper process, in order.
- ``writers.py``: the CSV/csv.gz, Parquet and xlsx writers and the summary row.
- this file: the public API (``generate_xdr``, ``GenerationResult``, ``FORMATS``,
  ``infer_format``). The command line is ``xdr generate`` (``xdr_warehouse.cli``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from xdr_warehouse.generate.model import MAX_RECORDS
from xdr_warehouse.generate.tables import Model
from xdr_warehouse.generate.writers import write_csv, write_parquet, write_xlsx

__all__ = ["FORMATS", "GenerationResult", "generate_xdr", "infer_format"]

FORMATS: tuple[str, ...] = ("csv", "csv.gz", "parquet", "xlsx")
#: Most data rows an xlsx sheet can hold (1,048,576 rows minus the header).
XLSX_MAX_ROWS = 1_048_575


@dataclass(frozen=True)
class GenerationResult:
    """What ``generate_xdr`` wrote."""

    path: Path
    n_records: int
    n_rows_written: int  # data rows incl. the summary row (header excluded)
    fmt: str
    seconds: float


def infer_format(path: str | Path) -> str:
    """The format implied by a file name (``.csv``, ``.csv.gz``, ``.parquet``, ``.xlsx``)."""
    name = str(path).lower()
    for fmt in sorted(FORMATS, key=len, reverse=True):
        if name.endswith("." + fmt):
            return fmt
    raise ValueError(f"cannot infer the format of {path!s}: use one of {', '.join(FORMATS)}")


def generate_xdr(
    path: str | Path,
    n_records: int,
    seed: int = 42,
    fmt: str | None = None,
    chunk_size: int = 1_000_000,
    summary_row: bool = True,
) -> GenerationResult:
    """Write ``n_records`` synthetic xDR records to ``path`` and return what was written.

    The same (n_records, seed, fmt) always gives the same bytes. ``chunk_size`` only sets
    the Parquet row-group size (rounded to blocks of ``BLOCK_SIZE``). The file appears
    atomically: it is written to ``path + '.tmp'`` and then renamed.
    """
    fmt = fmt or infer_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not 1 <= n_records <= MAX_RECORDS:
        raise ValueError(f"n_records must be in 1..{MAX_RECORDS:,}, got {n_records}")
    if fmt == "xlsx" and n_records + int(summary_row) > XLSX_MAX_ROWS:
        raise ValueError(f"xlsx holds at most {XLSX_MAX_ROWS:,} data rows; use csv or parquet")
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    began = time.perf_counter()
    model = Model.build(n_records, seed)
    try:
        if fmt in ("csv", "csv.gz"):
            with open(tmp, "wb") as out:
                rows = write_csv(model, out, summary_row, compress=fmt == "csv.gz")
        elif fmt == "parquet":
            rows = write_parquet(model, tmp, summary_row, chunk_size)
        else:
            rows = write_xlsx(model, tmp, summary_row)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return GenerationResult(path, n_records, rows, fmt, time.perf_counter() - began)
