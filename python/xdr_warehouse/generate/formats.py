"""One block of records in each output format: CSV text, an Arrow table, xlsx cell values.

The text columns come from the pools of ``tables.Model`` (taken by index) and the numbers
straight from the block's int64 columns, so CSV and Parquet never loop over rows in Python
(xlsx cells are Python values, as openpyxl needs). ``TASKS`` names the block computations a
helper process can do (``parallel.py``): CSV bytes (or a gzip member of them) and the
Parquet table, each with the block's app byte sums.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from xdr_warehouse.columns import RAW_COLUMNS, RAW_NAMES
from xdr_warehouse.generate.model import EPOCH
from xdr_warehouse.generate.primitives import arrow
from xdr_warehouse.generate.records import Block, generate_block
from xdr_warehouse.generate.tables import Model

CSV_BATCH = 8192  # rows per pyarrow CSV batch (the fastest size measured)
GZIP_LEVEL = 1  # level 6 is ~6x slower for ~9% smaller files
EXPONENT_SUFFIXES = pa.array(["E+018", "E+019"])


def _bearer_text(block: Block) -> pa.Array:
    """``1.31144834608449E+019``: 15 significant digits, 14 decimals, 3-digit exponent."""
    digits = pc.cast(arrow(block.bearer_mantissa, block.nulls["Bearer Id"]), pa.string())
    dotted = pc.utf8_replace_slice(digits, start=1, stop=1, replacement=".")
    suffix = EXPONENT_SUFFIXES.take(arrow(block.bearer_exp - 18))
    return pc.binary_join_element_wise(dotted, suffix, "")


def _bearer_float(block: Block) -> np.ndarray:
    """``Bearer Id`` as pandas reads the text (mantissa * 10**(e-14) is correctly rounded)."""
    value = block.bearer_mantissa.astype(np.float64) * np.where(block.bearer_exp == 19, 1e5, 1e4)
    return np.where(block.nulls["Bearer Id"], np.nan, value)


def _text_columns(model: Model, block: Block) -> dict[str, pa.Array]:
    """Start, End, Last Location Name and handset columns as strings (NULL = blank)."""
    start_idx = arrow(block.start_ms // 60_000 - model.minute_offset)
    end_idx = arrow(block.end_ms // 60_000 - model.minute_offset)
    cell = arrow(block.cell, block.nulls["Last Location Name"])
    handset = arrow(block.handset, block.nulls["Handset Type"])
    return {
        "Start": model.minute_pool.take(start_idx),
        "End": model.minute_pool.take(end_idx),
        "Last Location Name": model.cell_pool.take(cell),
        "Handset Manufacturer": model.manufacturer_pool.take(handset),
        "Handset Type": model.type_pool.take(handset),
    }


def _csv_text(model: Model, block: Block) -> bytearray:
    """The block's CSV rows, each *preceded* by a newline (so the file never ends in one)."""
    text = _text_columns(model, block)
    text["Bearer Id"] = _bearer_text(block)
    columns = [
        text[name] if name in text else arrow(block.ints[name], block.nulls.get(name))
        for name in RAW_NAMES
    ]
    table = pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])
    sink = pa.BufferOutputStream()
    options = pcsv.WriteOptions(
        include_header=False, quoting_style="none", eol="\n", batch_size=CSV_BATCH
    )
    pcsv.write_csv(table, sink, options)
    rows = sink.getvalue()  # every row ends with "\n"
    out = bytearray(rows.size)
    out[0:1] = b"\n"
    out[1:] = memoryview(rows)[:-1]
    return out


def _arrow_table(model: Model, block: Block) -> pa.Table:
    """The block as pandas would read it back: float64 numerics, string text columns."""
    text = _text_columns(model, block)
    columns: list[pa.Array] = []
    for name in RAW_NAMES:
        if name in text:
            columns.append(text[name])
        elif name == "Bearer Id":
            columns.append(arrow(_bearer_float(block), block.nulls["Bearer Id"]))
        else:
            columns.append(arrow(block.ints[name].astype(np.float64), block.nulls.get(name)))
    return pa.Table.from_arrays(columns, schema=parquet_schema())


def parquet_schema() -> pa.Schema:
    """pandas-style schema: ``Dur. (ms).1``, float64 numerics, string text."""
    text = {c.raw_name for c in RAW_COLUMNS if c.kind in ("text", "timestamp")}
    return pa.schema([pa.field(n, pa.string() if n in text else pa.float64()) for n in RAW_NAMES])


def xlsx_columns(model: Model, block: Block) -> list[list[object]]:
    """The block's columns as Python values for openpyxl (NULL = None)."""
    text = _text_columns(model, block)
    columns: list[list[object]] = []
    for name in RAW_NAMES:
        mask = block.nulls.get(name)
        if name in ("Start", "End"):
            ms = block.start_ms if name == "Start" else block.end_ms
            stamps = np.datetime64(EPOCH, "s") + (ms // 1000).astype("timedelta64[s]")
            values = stamps.astype(object)
        elif name == "Last Location Name":  # Excel-mangled ids are numeric cells
            numeric = model.cell_numeric[block.cell]
            names = np.array(text[name].to_pylist(), dtype=object)
            values = np.where(
                np.isnan(numeric), names, np.nan_to_num(numeric).astype(np.int64).astype(object)
            )
        elif name in text:
            values = np.array(text[name].to_pylist(), dtype=object)
        elif name == "Bearer Id":
            values = _bearer_float(block).astype(object)
        else:
            values = block.ints[name].astype(object)
        columns.append((np.where(mask, None, values) if mask is not None else values).tolist())
    return columns


def gzip_member(data: bytes | bytearray) -> bytes:
    """``data`` as one complete gzip member (mtime 0, so reproducible)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def _csv_task(model: Model, block: int, compress: bool) -> tuple[bytes | bytearray, dict[str, int]]:
    """One block as CSV text (or a gzip member of it) plus its app byte sums."""
    records = generate_block(model, block)
    data = _csv_text(model, records)
    return (gzip_member(data) if compress else data), records.app_sums()


def _parquet_task(model: Model, block: int, compress: bool) -> tuple[pa.Table, dict[str, int]]:
    """One block as a pandas-style Arrow table plus its app byte sums."""
    del compress  # Parquet compression is the writer's
    records = generate_block(model, block)
    return _arrow_table(model, records), records.app_sums()


TASKS: dict[str, Callable[[Model, int, bool], tuple[object, dict[str, int]]]] = {
    "csv": _csv_task,
    "parquet": _parquet_task,
}
