"""Hostile inputs on Spark give the outcome they give on DuckDB.

Two kinds of outcome (tests/python/e2e/test_bad_input.py, README "When the
input is bad"):

- **the input can be used**: every record is loaded or quarantined with a
  reason. One folder holds a file for each such case (malformed lines, a
  non-numeric value and the other impossible values, the summary row,
  duplicates and a file delivered twice, a truncated file, CRLF with a BOM,
  gzip, XLSX, Windows-1252 text, reordered and extra columns, MSISDNs in
  scientific notation, a header-only file). It is ingested and built (the
  chain that loads, quarantines and accounts for records, with its tests)
  once on each engine; the quarantine is compared reason by reason (the count
  of each reason, then its rows: file, line, detail, raw line), the load audit
  file by file and the customers' sums row by row.
- **the input cannot be used**: ``xdr run`` exits 1 with one line naming the
  file and the problem, and publishes nothing. These checks run before the
  engine starts (ingest's inspection is shared), so the Spark run must print
  the very line DuckDB prints without landing anything in Spark.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from xdr_warehouse import cli, job
from xdr_warehouse.dbt_runner import run_dbt
from xdr_warehouse.generate import generate_xdr
from xdr_warehouse.settings import Settings
from xdr_warehouse.spark import raw as spark_raw

from conftest import LOAD_CHAIN, Workspace, new_workspace, workspace_settings
from e2e.test_bad_input import COL, COL_DURATION_MS, ENGAGEMENT, with_field, write

pytestmark = pytest.mark.spark

N_RECORDS = 300
#: Every reason the hostile folder must produce (on DuckDB; Spark must match it).
REASONS = (
    "duplicate_record",
    "end_before_start",
    "invalid_value",
    "malformed_line",
    "missing_value",
    "negative_value",
    "percent_out_of_range",
    "summary_row",
)
QUARANTINE = (
    "select source_file, line_number, quarantine_reason, quarantine_detail, raw_line"
    " from marts.xdr_quarantined_records"
)
AUDIT_COLUMNS = (
    "file_name, file_format, read_record_count, loaded_record_count, quarantined_record_count, "
    "malformed_line_count, summary_row_count, invalid_value_count, missing_value_count, "
    "negative_value_count, percent_out_of_range_count, end_before_start_count, "
    "duplicate_record_count, text_reencoded_count, unknown_columns"
)


def lines_of(folder: Path, seed: int) -> list[str]:
    """Header, records and summary row of a generated export (its own records per seed)."""
    path = folder / f"base-{seed}.csv"
    generate_xdr(path, N_RECORDS, seed=seed)
    lines = path.read_text().splitlines()
    path.unlink()
    return lines


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file per usable hostile case (see the module doc)."""
    folder = tmp_path_factory.mktemp("hostile")
    lines = lines_of(folder, 1)
    lines.insert(11, "1,2,3")  # too few fields
    lines.insert(21, lines[5] + ",extra")  # too many fields
    lines.insert(31, '"unterminated,' + lines[6])  # a stray quote
    path = write(folder / "a_malformed.csv", lines)
    with path.open("ab") as handle:  # bytes that are not UTF-8 on a line of the wrong width
        handle.write(b"\xff\xfe not utf-8," + b"1," * 53 + b"1\n")

    lines = lines_of(folder, 2)
    lines[1] = with_field(lines[1], COL["Total UL (Bytes)"], "12abc")  # text in a number
    lines[2] = with_field(lines[2], COL["Gaming DL (Bytes)"], "-5")
    lines[3] = with_field(lines[3], COL_DURATION_MS, "-1000")
    lines[4] = with_field(lines[4], COL["DL TP < 50 Kbps (%)"], "101")
    lines[5] = with_field(lines[5], COL["End"], "4/1/2019 0:00")  # ends before it starts
    lines[6] = with_field(lines[6], COL["Total DL (Bytes)"], "")
    lines[7] = with_field(lines[7], COL["Start"], "2019-13-45 99:99")
    lines[8] = with_field(lines[8], COL["Gaming UL (Bytes)"], "7.5")
    lines[9] = with_field(lines[9], COL["Total DL (Bytes)"], "1_000")
    lines[10] = with_field(lines[10], COL["Total DL (Bytes)"], "inf")
    write(folder / "b_values.csv", lines)

    lines = lines_of(folder, 3)
    write(folder / "c_duplicates.csv", [*lines[:10], lines[5], *lines[10:]])
    write(folder / "d_delivered_again.csv", lines)

    data = "\n".join(lines_of(folder, 4)).encode()
    (folder / "e_truncated.csv").write_bytes(data[: len(data) * 2 // 3])  # cut inside a line

    write(folder / "f_crlf_bom.csv", lines_of(folder, 5), newline="\r\n", bom=True)
    write(folder / "g_gzip.csv.gz", lines_of(folder, 6))
    generate_xdr(folder / "h_excel.xlsx", N_RECORDS, seed=7)

    data = "\n".join(lines_of(folder, 8)).encode().split(b"\n")
    handset = COL["Handset Manufacturer"]
    for number in (3, 4):  # Windows-1252 text in a text field: loaded, counted
        fields = data[number].split(b",")
        fields[handset] = "Société Générale".encode("cp1252")
        data[number] = b",".join(fields)
    (folder / "i_cp1252.csv").write_bytes(b"\n".join(data) + b"\n")

    lines = lines_of(folder, 9)
    write(folder / "j_extra_column.csv", [f"{x},{'Extra Col' if i == 0 else 'x'}"
                                          for i, x in enumerate(lines)])  # fmt: skip
    msisdn = COL["MSISDN/Number"]
    lines = lines_of(folder, 10)
    for i in range(1, len(lines) - 1, 2):
        value = lines[i].split(",")[msisdn]
        if value:
            lines[i] = with_field(lines[i], msisdn, f"{value[0]}.{value[1:]}E+{len(value) - 1:03d}")
    write(folder / "k_msisdn_scientific.csv", lines)
    write(folder / "l_header_only.csv", lines[:1])
    return folder


@pytest.fixture(scope="module")
def duckdb_hostile(hostile_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = new_workspace(tmp_path_factory.mktemp("hostile-duckdb"))
    result = ws.dbt(["build", *LOAD_CHAIN], hostile_folder)
    assert result.success, result.exception
    return ws


@pytest.fixture(scope="module")
def spark_hostile(
    spark: SparkSession, spark_job_settings: Settings, hostile_folder: Path
) -> SparkSession:
    """The same ingest and build on Spark, into an empty catalog of the run's session."""
    job.ingest(spark_job_settings, str(hostile_folder))
    run_dbt(spark_job_settings, ["build"], LOAD_CHAIN)  # DbtError when a model or test fails
    return spark


def spark_rows(spark: SparkSession, sql: str) -> list[tuple]:
    return [tuple(row) for row in spark.sql(sql).collect()]


def normalised(rows: list[tuple]) -> list[tuple]:
    """Rows with lists as tuples, sorted cell by cell by their text (a Spark decimal and
    a DuckDB integer of the same value print alike, and compare equal)."""
    cells = [tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in rows]
    return sorted(cells, key=lambda row: tuple(str(v) for v in row))


def test_the_hostile_folder_gives_every_reason_on_duckdb(duckdb_hostile: Workspace) -> None:
    """The comparison below is not empty: DuckDB quarantines for every reason."""
    reasons = dict(
        duckdb_hostile.query(
            "select quarantine_reason, count(*) from marts.xdr_quarantined_records group by 1"
        )
    )
    assert sorted(reasons) == list(REASONS)
    audit = duckdb_hostile.df(f"select {AUDIT_COLUMNS} from marts.xdr_load_audit")
    assert audit["text_reencoded_count"].sum() >= 3
    assert (audit.set_index("file_name")["loaded_record_count"] > 0).sum() >= 10


@pytest.mark.parametrize("reason", REASONS)
def test_spark_quarantines_what_duckdb_quarantines(
    spark_hostile: SparkSession, duckdb_hostile: Workspace, reason: str
) -> None:
    where = f" where quarantine_reason = '{reason}'"
    expected = normalised(duckdb_hostile.query(QUARANTINE + where))
    got = normalised(spark_rows(spark_hostile, QUARANTINE + where))
    assert len(got) == len(expected)
    assert got == expected


def test_spark_quarantines_nothing_more(
    spark_hostile: SparkSession, duckdb_hostile: Workspace
) -> None:
    count = "select quarantine_reason, count(*) from marts.xdr_quarantined_records group by 1"
    assert Counter(dict(spark_rows(spark_hostile, count))) == Counter(
        dict(duckdb_hostile.query(count))
    )


def test_spark_accounts_for_every_file_as_duckdb_does(
    spark_hostile: SparkSession, duckdb_hostile: Workspace
) -> None:
    sql = f"select {AUDIT_COLUMNS} from marts.xdr_load_audit"
    expected = normalised(duckdb_hostile.query(sql))
    assert len(expected) == 12
    assert normalised(spark_rows(spark_hostile, sql)) == expected
    assert normalised(spark_rows(spark_hostile, ENGAGEMENT)) == normalised(
        duckdb_hostile.query(ENGAGEMENT)
    )


# --- the input cannot be used: the same one line, nothing published, Spark never started ----


def stopping_input(case: str, folder: Path) -> Path:
    lines = lines_of(folder, 11)
    col = COL["Total UL (Bytes)"]
    if case == "empty_file":
        path = folder / "empty.csv"
        path.write_bytes(b"")
    elif case == "missing_column":
        cut = [",".join(f for i, f in enumerate(x.split(",")) if i != col) for x in lines]
        path = write(folder / "missing.csv", cut)
    elif case == "misspelled_column":
        path = write(folder / "misspelled.csv", [with_field(lines[0], col, "Total UL(Bytes)"),
                                                  *lines[1:]])  # fmt: skip
    elif case == "semicolons":
        path = write(folder / "semicolons.csv", [x.replace(",", ";") for x in lines])
    elif case == "utf16":
        path = folder / "utf16.csv"
        path.write_bytes("\n".join(lines).encode("utf-16"))
    elif case == "excel_named_csv":
        generate_xdr(folder / "book.xlsx", 10, seed=11)
        path = folder / "book.csv"
        (folder / "book.xlsx").rename(path)
    else:
        path = folder / "no" / "such.csv"
    return path


STOPPING = (
    "empty_file",
    "missing_column",
    "misspelled_column",
    "semicolons",
    "utf16",
    "excel_named_csv",
    "no_such_file",
)


@pytest.mark.parametrize("case", STOPPING)
def test_unusable_input_stops_with_the_same_line_on_spark(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = stopping_input(case, tmp_path)

    def no_spark(*_: object) -> None:
        raise AssertionError("the Spark raw layer was reached")

    # the check must come before the engine: on Spark, before anything is landed in it
    monkeypatch.setattr(spark_raw, "land", no_spark)
    errors = {}
    for engine in ("duckdb", "spark"):
        settings = workspace_settings(tmp_path / engine, engine=engine)
        code = cli.main(["run", "--skip-report"], settings=replace(settings, input_path=str(path)))
        errors[engine] = capsys.readouterr().err
        assert code == 1, engine
        assert not settings.published_db.exists() and not settings.export_dir.exists(), engine
        assert not settings.build_db.exists(), engine  # DuckDB's raw layer: never opened
    assert errors["spark"] == errors["duckdb"]
    assert errors["spark"].count("\n") == 1 and str(path) in errors["spark"]
