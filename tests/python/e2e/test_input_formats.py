"""The warehouse reads the export as users have it: the raw CSV, the real sample
rows, pandas re-exports, Parquet, gzip, the original XLSX, folders and globs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from xdr_warehouse.generate import generate_xdr

from conftest import LOAD_CHAIN, Workspace, new_workspace

pytestmark = pytest.mark.slow

ENGAGEMENT = (
    "select msisdn, session_count, total_duration_ms, total_dl_bytes, total_ul_bytes"
    " from marts.customer_engagement order by msisdn"
)


def build(ws: Workspace, xdr_path: Path | str) -> None:
    result = ws.dbt(["build", *LOAD_CHAIN], xdr_path)
    assert result.success, result.exception


def test_real_sample_files_load_with_every_value(
    workspace: Workspace, reference_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "real"
    folder.mkdir()
    for name in ["xdr_raw_csv_head10.csv", "xdr_pandas_reexport_5rows.csv", "xdr_xlsx_head8.xlsx"]:
        shutil.copy(reference_dir / name, folder / name)
    build(workspace, folder)

    audit = workspace.df(
        "select file_name, read_record_count, loaded_record_count, quarantined_record_count,"
        " unknown_columns from marts.xdr_load_audit order by file_name"
    ).set_index("file_name")
    assert audit.loc["xdr_raw_csv_head10.csv", "loaded_record_count"] == 10
    assert audit.loc["xdr_pandas_reexport_5rows.csv", "loaded_record_count"] == 5
    assert list(audit.loc["xdr_pandas_reexport_5rows.csv", "unknown_columns"]) == ["column00"]
    assert audit.loc["xdr_xlsx_head8.xlsx", "loaded_record_count"] == 8
    assert (audit["quarantined_record_count"] == 0).all()

    # The workbook's 8 rows are the CSV's first 8: same typed values, seconds added.
    # the staging view reads each file in its order
    typed = (
        "select null, bearer_id::varchar, msisdn, imsi, imei, duration_s, duration_ms,"
        " total_dl_bytes, total_ul_bytes, gaming_dl_bytes, handset_type, started_at"
        " from staging.stg_xdr__records where file_id = (select file_id from"
        " staging.stg_xdr__files where is_current and file_name like '%{}')"
    )
    csv_rows = workspace.query(typed.format("head10.csv"))[:8]
    xlsx_rows = workspace.query(typed.format("head8.xlsx"))
    assert [r[:-1] for r in xlsx_rows] == [r[:-1] for r in csv_rows]
    for csv_row, xlsx_row in zip(csv_rows, xlsx_rows, strict=True):
        assert xlsx_row[-1].replace(second=0) == csv_row[-1]
    first = csv_rows[0]
    assert first[1:4] == ("13114483460844900000", 33664962239, 208201448079117)
    assert first[5:7] == (1823652, 1823652892)

    # The pandas re-export (floats with .0, e+18 ids) reads as exact integers.
    reexport = workspace.query(
        "select msisdn, bearer_id::varchar, duration_ms from staging.stg_xdr__records"
        " where file_id = (select file_id from staging.stg_xdr__files"
        " where is_current and file_name like '%reexport_5rows.csv') limit 1"
    )
    assert reexport == [(33665940740, "7277825663806810000", 86399919)]


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet", "xlsx"])
def test_other_formats_give_the_same_marts_as_csv(
    workspace: Workspace, tmp_path: Path, fmt: str
) -> None:
    csv_path = tmp_path / "x.csv"
    generate_xdr(csv_path, 3_000, seed=11)
    other_path = tmp_path / f"x.{fmt}"
    generate_xdr(other_path, 3_000, seed=11)

    build(workspace, csv_path)
    from_csv = workspace.df(ENGAGEMENT)
    other = new_workspace(tmp_path / "other")
    build(other, other_path)
    pd.testing.assert_frame_equal(other.df(ENGAGEMENT), from_csv)
    audit = other.query(
        "select read_record_count, loaded_record_count, summary_row_count from marts.xdr_load_audit"
    )
    assert audit == [(3_001, 3_000, 1)]


def test_folder_and_glob_read_every_file_once(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    generate_xdr(folder / "day1.csv", 2_000, seed=1)
    generate_xdr(folder / "day2.csv", 3_000, seed=2)
    (folder / "notes.md").write_text("not an export")  # ignored: not a supported file type

    build(workspace, folder)
    by_folder = workspace.df(ENGAGEMENT)
    audit = workspace.query(
        "select file_name, loaded_record_count from marts.xdr_load_audit order by file_name"
    )
    assert audit == [("day1.csv", 2_000), ("day2.csv", 3_000)]
    assert (
        by_folder["session_count"].sum()
        + workspace.query("select sum(unattributed_record_count) from marts.xdr_load_audit")[0][0]
        == 5_000
    )

    glob_ws = new_workspace(tmp_path / "glob")
    build(glob_ws, f"{folder}/day*.csv")
    pd.testing.assert_frame_equal(glob_ws.df(ENGAGEMENT), by_folder)
