"""Bad input: every record is loaded or quarantined with a reason, errors are one
line that names the file and the problem, and nothing crashes."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from xdr_warehouse.columns import RAW_CSV_HEADER
from xdr_warehouse.generate import generate_xdr
from xdr_warehouse.ingest import XdrInputError

from conftest import LOAD_CHAIN, REPO, Workspace, new_workspace

pytestmark = pytest.mark.slow

N_RECORDS = 300
ENGAGEMENT = (
    "select msisdn, session_count, total_duration_ms, total_traffic_bytes"
    " from marts.customer_engagement order by msisdn"
)
COL = {name: i for i, name in enumerate(RAW_CSV_HEADER)}
COL_DURATION_S, COL_DURATION_MS = 5, 28  # the first and the second "Dur. (ms)"


@pytest.fixture(scope="module")
def base_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Header, 300 records and the summary row of a generated export, as text lines."""
    path = tmp_path_factory.mktemp("base") / "base.csv"
    generate_xdr(path, N_RECORDS, seed=3)
    return path.read_text().splitlines()


@pytest.fixture(scope="module")
def base_build(base_lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The warehouse built on the clean file, to compare the variants with."""
    root = tmp_path_factory.mktemp("base_build")
    path = write(root / "clean.csv", base_lines)
    ws = new_workspace(root / "dbt")
    build(ws, path)
    return ws


def write(path: Path, lines: list[str], newline: str = "\n", bom: bool = False) -> Path:
    data = (newline.join(lines) + newline).encode()
    if bom:
        data = b"\xef\xbb\xbf" + data
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def with_field(line: str, column: int, value: str) -> str:
    fields = line.split(",")
    fields[column] = value
    return ",".join(fields)


def build(ws: Workspace, xdr_path: Path | str, select: list[str] = LOAD_CHAIN) -> None:
    result = ws.dbt(["build", *select], xdr_path)
    assert result.success, result.exception


def audit(ws: Workspace) -> pd.DataFrame:
    return ws.df("select * from marts.xdr_load_audit order by file_name").set_index("file_name")


def quarantined(ws: Workspace) -> list[tuple]:
    return ws.query(
        "select line_number, quarantine_reason from marts.xdr_quarantined_records"
        " order by line_number"
    )


def run_cli(ws: Workspace, xdr_path: str, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = ws.cli(["run", "--skip-report"], xdr_path)
    return code, capsys.readouterr().err


# --- the input cannot be used: one line, non-zero exit, before any model runs ---------------


@pytest.mark.parametrize("spec", ["no/such/file.csv", "no/such/folder/*.csv"])
def test_missing_input_stops_before_any_model(
    workspace: Workspace, capsys: pytest.CaptureFixture, spec: str
) -> None:
    code, err = run_cli(workspace, spec, capsys)
    assert code == 1
    assert err.count("\n") == 1 and spec in err and "XDR_PATH" in err
    assert not workspace.build_db.exists()  # dbt never started


@pytest.mark.parametrize(
    ("header_name", "hint"), [(None, ""), ("Total UL(Bytes)", "(found 'Total UL(Bytes)')")]
)
def test_missing_or_misspelled_column_names_file_and_column(
    workspace: Workspace,
    base_lines: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    header_name: str | None,
    hint: str,
) -> None:
    col = COL["Total UL (Bytes)"]
    if header_name is None:  # the column is missing altogether
        lines = [",".join(f for i, f in enumerate(x.split(",")) if i != col) for x in base_lines]
    else:
        lines = [with_field(base_lines[0], col, header_name), *base_lines[1:]]
    path = write(tmp_path / "export.csv", lines)

    code, err = run_cli(workspace, str(path), capsys)
    assert code == 1
    assert err.count("\n") == 1
    assert str(path) in err and "'Total UL (Bytes)'" in err and hint in err
    assert not workspace.build_db.exists()

    # `xdr ingest` (the step before dbt) stops with the same message, landing nothing.
    with pytest.raises(XdrInputError, match=r"missing required column\(s\) 'Total UL \(Bytes\)'"):
        workspace.ingest(path)
    assert not workspace.build_db.exists()


# --- the input can be used: every record loaded or quarantined ------------------------------


def test_extra_and_reordered_columns_load(
    workspace: Workspace, base_build: Workspace, base_lines: list[str], tmp_path: Path
) -> None:
    order = list(reversed(range(len(RAW_CSV_HEADER))))
    # The two "Dur. (ms)" headers are told apart by position only: keep their order.
    first, second = order.index(COL_DURATION_S), order.index(COL_DURATION_MS)
    order[first], order[second] = order[second], order[first]
    lines = []
    for i, line in enumerate(base_lines):
        fields = line.split(",")
        lines.append(",".join([fields[j] for j in order] + ["Extra Col" if i == 0 else "x"]))
    build(workspace, write(tmp_path / "reordered.csv", lines))
    assert workspace.query(ENGAGEMENT) == base_build.query(ENGAGEMENT)
    row = audit(workspace).iloc[0]
    assert list(row["unknown_columns"]) == ["Extra Col"]
    assert row["loaded_record_count"] == N_RECORDS


def test_header_only_builds_empty_marts(
    workspace: Workspace, base_lines: list[str], tmp_path: Path
) -> None:
    build(workspace, write(tmp_path / "empty.csv", base_lines[:1]), select=[])  # full build
    assert workspace.query("select count(*) from marts.customer_engagement") == [(0,)]
    assert workspace.query("select count(*) from marts.customer_clusters") == [(0,)]
    assert workspace.query(
        "select read_record_count, loaded_record_count, quarantined_record_count"
        " from marts.xdr_load_audit"
    ) == [(0, 0, 0)]


def test_malformed_lines_are_quarantined_with_their_line_number(
    workspace: Workspace, base_build: Workspace, base_lines: list[str], tmp_path: Path
) -> None:
    lines = list(base_lines)
    # insert after records so every original record keeps loading (line numbers 1-based)
    lines.insert(11, "1,2,3")  # too few fields -> line 12
    lines.insert(21, base_lines[5] + ",extra")  # too many fields -> line 22
    lines.insert(31, '"unterminated,' + base_lines[6])  # broken quoting, 56 fields -> line 32
    path = write(tmp_path / "broken.csv", lines)
    with path.open("ab") as handle:  # non-UTF-8 bytes on the last line -> line 306
        handle.write(b"\xff\xfe not utf-8," + b"1," * 53 + b"1\n")

    build(workspace, path)
    got = quarantined(workspace)
    assert (12, "malformed_line") in got and (22, "malformed_line") in got
    assert (32, "malformed_line") in got
    # the non-UTF-8 line is decoded as Windows-1252 and checked like any record
    assert (305, "summary_row") in got and (306, "invalid_value") in got
    assert len(got) == 5
    row = audit(workspace).iloc[0]
    assert row["read_record_count"] == N_RECORDS + 1 + 4
    assert row["read_record_count"] == row["loaded_record_count"] + row["quarantined_record_count"]
    assert row["loaded_record_count"] == N_RECORDS
    assert row["text_reencoded_count"] == 1
    details = dict(
        workspace.query(
            "select line_number, quarantine_detail from marts.xdr_quarantined_records"
            " where quarantine_reason = 'malformed_line'"
        )
    )
    assert details == {
        12: "expected 55 comma-separated fields, found 3",
        22: "expected 55 comma-separated fields, found 56",
        32: "expected 55 comma-separated fields, found 56",
    }
    assert workspace.query(ENGAGEMENT) == base_build.query(ENGAGEMENT)


def test_impossible_values_are_quarantined_with_a_reason(
    workspace: Workspace, base_lines: list[str], tmp_path: Path
) -> None:
    lines = list(base_lines)
    lines[1] = with_field(lines[1], COL["Total UL (Bytes)"], "12abc")  # text in a number
    lines[2] = with_field(lines[2], COL["Gaming DL (Bytes)"], "-5")  # negative bytes
    lines[3] = with_field(lines[3], COL_DURATION_MS, "-1000")  # negative duration
    lines[4] = with_field(lines[4], COL["DL TP < 50 Kbps (%)"], "101")  # percent > 100
    lines[5] = with_field(lines[5], COL["End"], "4/1/2019 0:00")  # ends before it starts
    lines[6] = with_field(lines[6], COL["Total DL (Bytes)"], "")  # required value empty
    lines[7] = with_field(lines[7], COL["Start"], "2019-13-45 99:99")  # not a timestamp
    lines[8] = with_field(lines[8], COL["Gaming UL (Bytes)"], "7.5")  # not a whole number
    build(workspace, write(tmp_path / "values.csv", lines))
    assert quarantined(workspace) == [
        (2, "invalid_value"),
        (3, "negative_value"),
        (4, "negative_value"),
        (5, "percent_out_of_range"),
        (6, "end_before_start"),
        (7, "missing_value"),
        (8, "invalid_value"),
        (9, "invalid_value"),
        (302, "summary_row"),
    ]
    detail = workspace.query(
        "select quarantine_detail from marts.xdr_quarantined_records where line_number = 2"
    )
    assert detail == [("not a valid value: Total UL (Bytes)",)]
    row = audit(workspace).iloc[0]
    assert row["loaded_record_count"] == N_RECORDS - 8
    assert row["invalid_value_count"] == 3 and row["negative_value_count"] == 2


def test_duplicates_and_a_file_delivered_twice_count_once(
    workspace: Workspace, base_build: Workspace, base_lines: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "deliveries"
    folder.mkdir()
    lines = list(base_lines)
    lines.insert(10, base_lines[5])  # record 5 again, as line 11
    write(folder / "a_day1.csv", lines)
    write(folder / "b_day1_again.csv", base_lines)  # the same export delivered twice
    build(workspace, folder)
    assert workspace.query(ENGAGEMENT) == base_build.query(ENGAGEMENT)
    table = audit(workspace)
    assert table.loc["a_day1.csv", "duplicate_record_count"] == 1
    assert table.loc["b_day1_again.csv", "duplicate_record_count"] == N_RECORDS
    assert table["loaded_record_count"].sum() == N_RECORDS
    assert (11, "duplicate_record") in quarantined(workspace)


def test_crlf_bom_and_gzip_read_exactly_like_the_plain_file(
    workspace: Workspace, base_lines: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "variants"
    folder.mkdir()
    write(folder / "a_plain.csv", base_lines)
    write(folder / "b_crlf.csv", base_lines, newline="\r\n")
    write(folder / "c_bom.csv", base_lines, bom=True)
    write(folder / "d_gzip.csv.gz", base_lines)
    build(workspace, folder)
    table = audit(workspace)
    assert table.loc["a_plain.csv", "loaded_record_count"] == N_RECORDS
    # the variants' records have the very same field text, so they are duplicates
    for name in ["b_crlf.csv", "c_bom.csv", "d_gzip.csv.gz"]:
        assert table.loc[name, "read_record_count"] == N_RECORDS + 1, name
        assert table.loc[name, "duplicate_record_count"] == N_RECORDS, name
        assert table.loc[name, "summary_row_count"] == 1, name


def test_msisdn_in_scientific_or_float_form_is_the_same_customer(
    workspace: Workspace, base_build: Workspace, base_lines: list[str], tmp_path: Path
) -> None:
    col = COL["MSISDN/Number"]
    lines = [base_lines[0]]
    for i, line in enumerate(base_lines[1:-1]):
        msisdn = line.split(",")[col]
        if msisdn and i % 2 == 0:
            digits = len(msisdn) - 1
            msisdn = f"{msisdn[0]}.{msisdn[1:]}E+{digits:03d}"  # Excel: 3.3664962239E+010
        elif msisdn:
            msisdn = msisdn + ".0"  # pandas: 33664962239.0
        lines.append(with_field(line, col, msisdn))
    lines.append(base_lines[-1])
    build(workspace, write(tmp_path / "reexport.csv", lines))
    assert workspace.query(ENGAGEMENT) == base_build.query(ENGAGEMENT)


def test_locked_build_database_is_one_clear_line(
    workspace: Workspace, base_lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = write(tmp_path / "ok.csv", base_lines)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True);"
            " time.sleep(120)",
            str(workspace.build_db),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        code, err = run_cli(workspace, str(path), capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    assert err.count("\n") == 1
    assert str(workspace.build_db) in err and f"PID {holder.pid}" in err
