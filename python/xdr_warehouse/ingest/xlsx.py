"""Convert an Excel workbook (the original ``.xlsx`` export) into a text export.

DuckDB's own Excel reader needs a download and Spark has none, so ingest
writes the first sheet once as a comma-separated text file in the landing
folder, cell by cell as the raw CSV export would write it, and the build reads
that like any CSV. Row r of the sheet is line r of the text (the header is row
1), so line numbers point at the sheet's rows. Trailing empty rows (a common
formatting artefact) are left out; an empty row between records stays an empty
line and is quarantined as ``malformed_line``. A cell holding a comma cannot be
written without quoting, which the export never uses: its row gets an extra
field and is quarantined as ``malformed_line`` too.
"""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path

from xdr_warehouse.ingest.files import XdrInputError


def cell_text(value: object) -> str:
    """One cell as the text the raw CSV export would hold ('' for an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    return str(value).replace("\r", " ").replace("\n", " ")


def convert_xlsx(path: Path, target: Path) -> Path:
    """Write the first sheet of ``path`` as a text export at ``target`` (kept when it exists)."""
    import openpyxl

    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a broken workbook
        raise XdrInputError(f"{path}: cannot be read as an Excel workbook: {err}") from err
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or all(cell is None for cell in header):
            raise XdrInputError(f"{path}: the first sheet is empty (no header row)")
        width = len(header)
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            out.write(",".join(cell_text(cell) for cell in header) + "\n")
            pending_empty = 0
            for row in rows:
                cells = [cell_text(row[i] if i < len(row) else None) for i in range(width)]
                cells += [cell_text(extra) for extra in row[width:] if extra is not None]
                if not any(cells):
                    pending_empty += 1
                    continue
                out.write("\n" * pending_empty + ",".join(cells) + "\n")
                pending_empty = 0
            out.flush()
            os.fsync(out.fileno())
    finally:
        workbook.close()
    os.replace(tmp, target)
    return target
