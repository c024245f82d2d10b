"""Writing a whole file in each format, and the real export's trailing summary row.

Each writer takes the blocks in order (from ``parallel.map_blocks``, or drawn here for
xlsx), writes them, keeps the exact per-application byte sums and, when asked, ends with
the summary row of their means. Each returns the number of data rows it wrote.
"""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xdr_warehouse.columns import RAW_CSV_HEADER, RAW_NAMES
from xdr_warehouse.generate.formats import gzip_member, parquet_schema, xlsx_columns
from xdr_warehouse.generate.model import APP_COLUMNS
from xdr_warehouse.generate.parallel import map_blocks
from xdr_warehouse.generate.records import BLOCK_SIZE, block_count, generate_block
from xdr_warehouse.generate.tables import Model

XLSX_DATE_FORMAT = "m/d/yyyy\\ h:mm"  # as in the real workbook


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


def write_csv(model: Model, out: BinaryIO, summary_row: bool, compress: bool) -> int:
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


def write_parquet(model: Model, path: Path, summary_row: bool, chunk_size: int) -> int:
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


def write_xlsx(model: Model, path: Path, summary_row: bool) -> int:
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
