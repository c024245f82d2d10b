"""The raw column spec is written twice, in Python and in a dbt macro: they must agree."""

from __future__ import annotations

import re
from pathlib import Path

from xdr_warehouse.columns import APPLICATIONS, RAW_COLUMNS, RAW_CSV_HEADER

REPO = Path(__file__).resolve().parents[3]


def macro_columns() -> list[tuple[str, str, str]]:
    text = (REPO / "macros" / "xdr_columns.sql").read_text()
    body = text.split("macro xdr_raw_columns()")[1].split("endmacro")[0]
    return re.findall(r'\["([^"]+)", "([^"]+)", "([^"]+)"\]', body)


def test_macro_and_python_specs_agree() -> None:
    assert macro_columns() == [(c.raw_name, c.name, c.kind) for c in RAW_COLUMNS]
    assert len(RAW_COLUMNS) == 55


def test_csv_header_is_the_exported_one(reference_dir: Path) -> None:
    header = ",".join(RAW_CSV_HEADER)
    assert header.count("Dur. (ms)") == 2
    sample = reference_dir / "xdr_raw_csv_head10.csv"
    assert sample.read_text().splitlines()[0] == header


def test_application_columns_are_raw_columns() -> None:
    names = {c.raw_name for c in RAW_COLUMNS}
    assert [a for a, _, _ in APPLICATIONS] == [
        "Social Media",
        "Google",
        "Email",
        "Youtube",
        "Netflix",
        "Gaming",
        "Other",
    ]
    for _, dl, ul in APPLICATIONS:
        assert dl in names and ul in names


#: Where the official field dictionary names a column differently from the export's header.
DICTIONARY_NAMES = {
    "Bearer Id": "bearer id",
    "Dur. (ms)": "Dur. (s)",  # the first duration column holds seconds, as the dictionary says
    "Youtube DL (Bytes)": "YouTube DL (Bytes)",
    "Youtube UL (Bytes)": "YouTube UL (Bytes)",
    "Other DL (Bytes)": "Other DL",
    "Other UL (Bytes)": "Other UL",
}


def test_every_column_is_in_the_field_dictionary(reference_dir: Path) -> None:
    import openpyxl

    workbook = openpyxl.load_workbook(reference_dir / "Field Descriptions.xlsx", read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    described = {row[0]: row[1] for row in rows[1:] if row and row[0]}
    for column in RAW_COLUMNS:
        name = DICTIONARY_NAMES.get(column.raw_name, column.raw_name)
        assert described.get(name), f"{column.raw_name!r} has no description in the dictionary"
    assert "(in ms)" in described["Dur. (ms).1"] and "(in s)" in described["Dur. (s)"]
    # 56 descriptions for 55 columns: the dictionary also keeps the first duration
    # column's misleading header, "Dur. (ms)", described as milliseconds.
    ours = {DICTIONARY_NAMES.get(c.raw_name, c.raw_name) for c in RAW_COLUMNS}
    assert set(described) - ours == {"Dur. (ms)"}
