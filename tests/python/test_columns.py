"""The raw column spec is written twice, in Python and in a dbt macro: they must agree."""

from __future__ import annotations

import re
from pathlib import Path

from xdr_warehouse.columns import APPLICATIONS, RAW_COLUMNS, RAW_CSV_HEADER

REPO = Path(__file__).resolve().parents[2]


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
