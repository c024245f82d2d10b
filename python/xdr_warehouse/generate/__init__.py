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

Records are produced in fixed blocks of ``BLOCK_SIZE`` with one RNG stream per block, so
the CSV/xlsx bytes do not depend on ``chunk_size`` (it only sets Parquet row groups).
Large files are shared between this process and a helper process (``map_blocks``); that
does not change the bytes either. Memory stays at a few blocks (plus one Parquet row group).
"""

from __future__ import annotations

import os
import re
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xdr_warehouse.columns import RAW_CSV_HEADER, RAW_NAMES
from xdr_warehouse.generate.formats import gzip_member, parquet_schema, xlsx_columns
from xdr_warehouse.generate.model import (
    APP_COLUMNS,
    MAX_RECORDS,
)
from xdr_warehouse.generate.parallel import map_blocks
from xdr_warehouse.generate.records import BLOCK_SIZE, block_count, generate_block
from xdr_warehouse.generate.tables import Model

__all__ = ["FORMATS", "GenerationResult", "generate_xdr", "infer_format"]

FORMATS: tuple[str, ...] = ("csv", "csv.gz", "parquet", "xlsx")
#: Most data rows an xlsx sheet can hold (1,048,576 rows minus the header).
XLSX_MAX_ROWS = 1_048_575
XLSX_DATE_FORMAT = "m/d/yyyy\\ h:mm"  # as in the real workbook


@dataclass(frozen=True)
class GenerationResult:
    """What ``generate_xdr`` wrote."""

    path: Path
    n_records: int
    n_rows_written: int  # data rows incl. the summary row (header excluded)
    fmt: str
    seconds: float


def _summary_means(sums: dict[str, int], n_records: int) -> dict[str, float]:
    """Exact column means (correctly rounded to float)."""
    return {c: float(Fraction(sums[c], n_records)) for c in APP_COLUMNS}


def _format_mean(value: float) -> str:
    """A mean as Excel/pandas print it: up to 15 significant digits, no exponent."""
    return np.format_float_positional(float(f"{value:.15g}"), trim="-")


def _summary_csv(means: dict[str, float]) -> bytes:
    """The trailing summary row: only the 14 app columns, holding their means."""
    fields = [_format_mean(means[name]) if name in means else "" for name in RAW_NAMES]
    return ("\n" + ",".join(fields)).encode()


def _add_sums(total: dict[str, int], part: dict[str, int]) -> None:
    """Accumulate per-application byte sums."""
    for column, value in part.items():
        total[column] += value


# ============================================================================ writers


def _write_csv(model: Model, out: BinaryIO, summary_row: bool, compress: bool) -> int:
    """Header, rows and summary row. Compressed output is one gzip member per block."""
    wrap = gzip_member if compress else bytes
    out.write(wrap(",".join(RAW_CSV_HEADER).encode()))
    sums = dict.fromkeys(APP_COLUMNS, 0)
    for data, block_sums in map_blocks(model, "csv", compress):
        out.write(data)
        _add_sums(sums, block_sums)
    if summary_row:
        out.write(wrap(_summary_csv(_summary_means(sums, model.n_records))))
    return model.n_records + int(summary_row)


def _write_parquet(model: Model, path: Path, summary_row: bool, chunk_size: int) -> int:
    """Row groups of ``chunk_size`` records (rounded to whole blocks), then the summary row."""
    schema = parquet_schema()
    per_group = max(1, round(chunk_size / BLOCK_SIZE))
    sums = dict.fromkeys(APP_COLUMNS, 0)
    text = [f.name for f in schema if f.type == pa.string()]
    with pq.ParquetWriter(path, schema, compression="snappy", use_dictionary=text) as writer:
        group: list[pa.Table] = []
        for table, block_sums in map_blocks(model, "parquet"):
            group.append(table)
            _add_sums(sums, block_sums)
            if len(group) == per_group:
                writer.write_table(pa.concat_tables(group), row_group_size=per_group * BLOCK_SIZE)
                group = []
        if group:
            writer.write_table(pa.concat_tables(group), row_group_size=per_group * BLOCK_SIZE)
        if summary_row:
            means = _summary_means(sums, model.n_records)
            writer.write_table(
                pa.Table.from_pydict({n: [means.get(n)] for n in RAW_NAMES}, schema=schema)
            )
    return model.n_records + int(summary_row)


def _write_xlsx(model: Model, path: Path, summary_row: bool) -> int:
    """The Excel export (openpyxl write-only), normalised to be byte-reproducible.

    openpyxl only accepts rows, so this one writer appends row by row (small files only).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(list(RAW_CSV_HEADER))
    dates = (RAW_NAMES.index("Start"), RAW_NAMES.index("End"))
    sums = dict.fromkeys(APP_COLUMNS, 0)
    for b in range(block_count(model)):
        block = generate_block(model, b)
        for row in zip(*xlsx_columns(model, block), strict=True):
            cells = list(row)
            for i in dates:
                cells[i] = WriteOnlyCell(ws, value=cells[i])
                cells[i].number_format = XLSX_DATE_FORMAT
            ws.append(cells)
        _add_sums(sums, block.app_sums())
    if summary_row:
        means = _summary_means(sums, model.n_records)
        ws.append([means.get(name) for name in RAW_NAMES])
    wb.save(path)
    _normalise_zip(path, datetime(2019, 5, 1))
    return model.n_records + int(summary_row)


def _normalise_zip(path: Path, stamp: datetime) -> None:
    """Rewrite an xlsx with fixed entry times and core.xml dates (openpyxl stamps "now")."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + iso, data)
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, data)


# ============================================================================ public API


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
                rows = _write_csv(model, out, summary_row, compress=fmt == "csv.gz")
        elif fmt == "parquet":
            rows = _write_parquet(model, tmp, summary_row, chunk_size)
        else:
            rows = _write_xlsx(model, tmp, summary_row)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return GenerationResult(path, n_records, rows, fmt, time.perf_counter() - began)
