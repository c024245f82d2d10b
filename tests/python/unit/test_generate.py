"""The synthetic xDR generator: byte format, identities, statistical shape, formats.

The statistical checks run on one 150,000-record file (the real file's size), so the
expected values are DATASET.md's numbers directly.
"""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from xdr_warehouse import cli
from xdr_warehouse.columns import APPLICATIONS, RAW_CSV_HEADER, RAW_NAMES
from xdr_warehouse.generate import GenerationResult, formats, generate_xdr, model, parallel, tables
from xdr_warehouse.generate.records import BLOCK_SIZE

N_STATS = 150_000  # the real file's record count: DATASET.md numbers apply unscaled
SEED = 42
APP_COLUMNS = [col for _, dl, ul in APPLICATIONS for col in (dl, ul)]
SIX_DL = [dl for app, dl, _ in APPLICATIONS if app != "Other"]
SEVEN_UL = [ul for _, _, ul in APPLICATIONS]
#: DATASET.md 3.1 null counts at 150,000 records (those above ~500).
EXPECTED_NULLS = {
    "Bearer Id": 991,
    "MSISDN/Number": 1066,
    "IMSI": 570,
    "IMEI": 572,
    "Last Location Name": 1153,
    "Avg RTT DL (ms)": 27829,
    "Avg RTT UL (ms)": 27812,
    "TCP DL Retrans. Vol (Bytes)": 88146,
    "TCP UL Retrans. Vol (Bytes)": 96649,
    "DL TP < 50 Kbps (%)": 754,
    "DL TP > 1 Mbps (%)": 754,
    "UL TP < 10 Kbps (%)": 792,
    "UL TP > 300 Kbps (%)": 792,
    "HTTP DL (Bytes)": 81474,
    "HTTP UL (Bytes)": 81810,
    "Handset Manufacturer": 572,
    "Handset Type": 572,
    "Nb of sec with 125000B < Vol DL": 97538,
    "Nb of sec with 1250B < Vol UL < 6250B": 92894,
    "Nb of sec with 31250B < Vol DL < 125000B": 93586,
    "Nb of sec with 37500B < Vol UL": 130254,
    "Nb of sec with 6250B < Vol DL < 31250B": 88317,
    "Nb of sec with 6250B < Vol UL < 37500B": 111843,
    "Nb of sec with Vol DL < 6250B": 755,
    "Nb of sec with Vol UL < 1250B": 793,
}
NEVER_NULL = [
    "Start", "Start ms", "End", "End ms", "Dur. (ms)", "Dur. (ms).1",
    "Avg Bearer TP DL (kbps)", "Avg Bearer TP UL (kbps)",
    "Activity Duration DL (ms)", "Activity Duration UL (ms)",
    *APP_COLUMNS, "Total UL (Bytes)", "Total DL (Bytes)",
]  # fmt: skip
BEARER_RE = r"^\d\.\d{14}E\+0\d\d$"
STAMP_RE = r"^\d{1,2}/\d{1,2}/2019 \d{1,2}:\d\d$"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def stats_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationResult]:
    """One 150,000-record raw CSV (generated once for the module)."""
    path = tmp_path_factory.mktemp("gen") / "xdr.csv"
    return path, generate_xdr(path, N_STATS, seed=SEED)


@pytest.fixture(scope="module")
def stats_df(stats_csv: tuple[Path, GenerationResult]) -> pd.DataFrame:
    """The 150k file read the way the notebooks read the real one."""
    return pd.read_csv(stats_csv[0])


@pytest.fixture(scope="module")
def records(stats_df: pd.DataFrame) -> pd.DataFrame:
    """The session rows (without the trailing summary row)."""
    return stats_df.iloc[:-1]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CSV with seed 7, the twin of the Parquet/gzip files below."""
    path = tmp_path_factory.mktemp("small") / "xdr.csv"
    generate_xdr(path, 5_000, seed=7)
    return path


def minutes(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, format="%m/%d/%Y %H:%M")


# -------------------------------------------------------------------------- raw format


def test_header_is_the_real_export_header(
    stats_csv: tuple[Path, GenerationResult], reference_dir: Path
) -> None:
    real_header = (reference_dir / "xdr_raw_csv_head10.csv").read_bytes().split(b"\n", 1)[0]
    with open(stats_csv[0], "rb") as fh:
        header = fh.readline().rstrip(b"\n")
    assert header == real_header
    assert header == ",".join(RAW_CSV_HEADER).encode()
    assert header.count(b"Dur. (ms),") == 2


def test_result_and_line_structure(stats_csv: tuple[Path, GenerationResult]) -> None:
    path, result = stats_csv
    assert result == GenerationResult(path, N_STATS, N_STATS + 1, "csv", result.seconds)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data and b'"' not in data
    assert not data.endswith(b"\n"), "like the real sample, no newline after the last line"
    lines = data.split(b"\n")
    assert len(lines) == N_STATS + 2
    assert {line.count(b",") for line in lines} == {54}


def test_field_formats(stats_csv: tuple[Path, GenerationResult]) -> None:
    """Bearer Id / Start / End formats and integers without '.0', checked on every row."""
    con = duckdb.connect()
    con.execute(f"create view raw as select * from read_csv('{stats_csv[0]}', all_varchar=true)")
    integers = [
        name
        for name in con.execute("select * from raw limit 0").description
        if name[0] not in ("Bearer Id", "Start", "End", "Last Location Name")
        and not name[0].startswith("Handset")
    ]
    not_integer = " + ".join(
        f"count(*) filter (where not regexp_full_match(\"{name[0]}\", '^[0-9]+$'))"
        for name in integers
    )
    rows, bad_bearer, bad_start, bad_end, e19, e18, bad_integers = con.execute(
        f"""select
            count(*),
            count(*) filter (where not regexp_full_match("Bearer Id", '{BEARER_RE}')),
            count(*) filter (where not regexp_full_match("Start", '{STAMP_RE}')),
            count(*) filter (where not regexp_full_match("End", '{STAMP_RE}')),
            count(*) filter (where "Bearer Id" like '%E+019'),
            count(*) filter (where "Bearer Id" like '%E+018'),
            {not_integer}
        from raw where "Start" is not null"""
    ).fetchall()[0]
    assert len(integers) == 49
    assert rows == N_STATS
    assert (bad_bearer, bad_start, bad_end, bad_integers) == (0, 0, 0, 0)
    assert e19 > 0.4 * N_STATS and e18 > 0.4 * N_STATS  # bimodal ids


def test_readers_see_the_same_columns_as_on_the_real_sample(
    stats_csv: tuple[Path, GenerationResult], stats_df: pd.DataFrame, reference_dir: Path
) -> None:
    sample = reference_dir / "xdr_raw_csv_head10.csv"
    duck = duckdb.sql(f"select * from read_csv('{stats_csv[0]}', all_varchar=true)")
    duck_real = duckdb.sql(f"select * from read_csv('{sample}', all_varchar=true)")
    assert duck.columns == duck_real.columns
    assert len(duck.columns) == 55 and "Dur. (ms)_1" in duck.columns
    assert duck.shape[0] == N_STATS + 1
    assert list(stats_df.columns) == list(pd.read_csv(sample).columns) == list(RAW_NAMES)
    assert len(stats_df) == N_STATS + 1


def test_sorted_by_start_and_within_april(records: pd.DataFrame) -> None:
    start, end = minutes(records["Start"]), minutes(records["End"])
    assert start.is_monotonic_increasing
    assert start.min() >= datetime(2019, 4, 1) and start.max() < datetime(2019, 4, 30)
    assert end.min() >= datetime(2019, 4, 24) and end.max() < datetime(2019, 5, 2)
    assert records["Start ms"].between(0, 999).all() and records["End ms"].between(0, 999).all()


# -------------------------------------------------------------------------- identities


def test_totals_identities_on_every_row(records: pd.DataFrame) -> None:
    assert (records[SIX_DL].sum(axis=1) == records["Total DL (Bytes)"]).all()
    assert (records[SEVEN_UL].sum(axis=1) == records["Total UL (Bytes)"]).all()
    assert (records[SIX_DL + ["Other DL (Bytes)"]].sum(axis=1) != records["Total DL (Bytes)"]).all()


def test_duration_identities_on_every_row(records: pd.DataFrame) -> None:
    ms = records["Dur. (ms).1"].astype(np.int64)
    assert (records["Dur. (ms)"].astype(np.int64) == ms // 1000).all()
    # Start/End are truncated to the minute, so they bound the true duration within 60 s
    minute_gap = (minutes(records["End"]) - minutes(records["Start"])).dt.total_seconds()
    assert (minute_gap - ms / 1000).abs().max() < 60
    # the millisecond offsets agree with the exact duration modulo one second
    assert ((records["Start ms"] + ms - records["End ms"]) % 1000 == 0).all()


def test_summary_row_holds_the_app_means(stats_df: pd.DataFrame, records: pd.DataFrame) -> None:
    summary = stats_df.iloc[-1]
    assert summary[APP_COLUMNS].notna().all()
    assert summary.drop(APP_COLUMNS).isna().all()
    expected = records[APP_COLUMNS].mean()
    np.testing.assert_allclose(summary[APP_COLUMNS].astype(float), expected, rtol=1e-3)
    assert records[NEVER_NULL].notna().all().all()


def test_without_summary_row(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    result = generate_xdr(path, 300, summary_row=False)
    assert result.n_rows_written == 300
    df = pd.read_csv(path)
    assert len(df) == 300 and df["Start"].notna().all()


# ------------------------------------------------------------------ statistical shape


def test_customers(records: pd.DataFrame) -> None:
    sessions = records["MSISDN/Number"].dropna().value_counts()
    assert 0.69 <= len(sessions) / N_STATS <= 0.73
    assert 12 <= sessions.max() <= 30
    assert 1.30 <= sessions.mean() <= 1.50
    assert 0.65 <= sessions.std() <= 0.95
    assert 0.5 < (sessions == 1).mean() < 0.8
    assert sessions.quantile(0.75) == 2
    # one SIM and handset per customer
    per_customer = records.dropna(subset=["MSISDN/Number", "IMSI", "IMEI"]).groupby("MSISDN/Number")
    assert (per_customer["IMSI"].nunique() == 1).all()
    assert (per_customer["Handset Type"].nunique() <= 1).all()


def test_identifier_shapes(records: pd.DataFrame) -> None:
    msisdn = records["MSISDN/Number"].dropna().astype(np.int64).astype(str)
    assert msisdn.str.fullmatch(r"33[67]\d{8}").mean() > 0.99
    assert msisdn.str.len().between(11, 15).all()
    imsi = records["IMSI"].dropna().astype(np.int64).astype(str)
    assert imsi.str.len().eq(15).all() and imsi.str.startswith("20820").mean() > 0.99
    assert imsi.str[:3].isin(["204", "208", "214"]).all()
    imei = records["IMEI"].dropna().astype(np.int64)
    assert imei.between(10**11, 10**14).all()
    location = records["Last Location Name"].dropna()
    forms = location.str.fullmatch(r"[A-Z]\d{5}[A-Z]|CELL_208_20_\d{6}_\d|9\.\d{14}E\+015")
    assert forms.all() and location.str.fullmatch(r"[A-Z]\d{5}[A-Z]").mean() > 0.85


def test_null_counts(records: pd.DataFrame) -> None:
    nulls = records.isna().sum()
    for column, expected in EXPECTED_NULLS.items():
        assert abs(nulls[column] - expected) <= 0.15 * expected, (column, nulls[column], expected)
    # overlaps from DATASET.md 3.1: null Bearer Id rows have no location; ids/handset go together
    no_bearer = records["Bearer Id"].isna()
    assert records.loc[no_bearer, "Last Location Name"].isna().all()
    assert (records["IMEI"].isna() == records["Handset Type"].isna()).all()
    assert 400 <= (no_bearer & records["MSISDN/Number"].isna()).sum() <= 720
    dl_tp = records[list(model.DL_TP_COLUMNS)].isna()
    assert dl_tp.all(axis=1).sum() == dl_tp.any(axis=1).sum()


def test_handsets(records: pd.DataFrame) -> None:
    undefined = (records["Handset Type"] == "undefined").sum()
    assert abs(undefined - 8987) <= 0.15 * 8987
    assert (records["Handset Manufacturer"] == "undefined").sum() == undefined
    top = records["Handset Type"].value_counts()
    assert top.index[0] == "Huawei B528S-23A" and 0.11 < top.iloc[0] / N_STATS < 0.15
    makers = records["Handset Manufacturer"].value_counts()
    assert list(makers.index[:3]) == ["Apple", "Samsung", "Huawei"]


def test_durations(records: pd.DataFrame) -> None:
    seconds = records["Dur. (ms)"]
    assert 86000 <= seconds.median() <= 86399
    assert seconds.min() >= 7142
    assert 95_000 <= seconds.mean() <= 115_000
    assert 120_000 <= seconds.quantile(0.75) <= 145_000
    capped = records["Dur. (ms).1"].between(86_399_000, 86_399_999).mean()
    assert 0.25 <= capped <= 0.35
    assert 1.0e6 <= seconds.max() <= 2.5e6


def test_bearer_ids(records: pd.DataFrame) -> None:
    ids = records["Bearer Id"].dropna()
    assert ids.min() >= 6.9e18 and ids.max() <= 1.32e19
    assert (ids > 2**63).mean() > 0.3, "values above int64 max exist"
    assert 0.07 <= ids.duplicated().mean() <= 0.12
    assert 7.34e18 <= ids.median() <= 7.36e18


def test_numeric_ranges(records: pd.DataFrame) -> None:
    for column, (low, high) in model.APP_RANGES.items():
        values = records[column]
        assert values.min() >= low and values.max() <= high, column
        assert abs(values.mean() - (low + high) / 2) < 0.02 * high, column
    numeric = records.drop(
        columns=["Start", "End", "Last Location Name", "Handset Manufacturer", "Handset Type"]
    )
    assert (numeric.min() >= 0).all()
    for names in (model.DL_TP_COLUMNS, model.UL_TP_COLUMNS):
        buckets = records[list(names)].dropna()
        assert buckets.max().max() <= 100 and buckets.sum(axis=1).between(95, 100).all()
    assert records["DL TP < 50 Kbps (%)"].median() == 100
    assert 30 <= records["Avg RTT DL (ms)"].median() <= 60
    assert records["Avg Bearer TP DL (kbps)"].quantile(0.75) > 5000


# -------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate_xdr(a, 20_000, seed=3)
    generate_xdr(b, 20_000, seed=3, chunk_size=1000)
    generate_xdr(c, 20_000, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert not list(tmp_path.glob("*.tmp"))


def test_helper_processes_give_the_same_bytes(
    stats_csv: tuple[Path, GenerationResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BLOCKS", 1)
    monkeypatch.setattr(parallel, "WORKERS", 2)
    path = tmp_path / "parallel.csv"
    generate_xdr(path, N_STATS, seed=SEED)
    assert path.read_bytes() == stats_csv[0].read_bytes()


@pytest.mark.parametrize("suffix", ["csv.gz", "parquet"])
def test_helper_processes_give_the_same_bytes_in_other_formats(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = BLOCK_SIZE + 100  # two blocks
    alone, shared = tmp_path / f"alone.{suffix}", tmp_path / f"shared.{suffix}"
    generate_xdr(alone, n, seed=9)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BLOCKS", 1)
    monkeypatch.setattr(parallel, "WORKERS", 2)
    generate_xdr(shared, n, seed=9)
    assert alone.read_bytes() == shared.read_bytes()


def test_a_failing_helper_is_reported() -> None:
    helper = parallel._start_helper(tables.Model.build(1000, 1), "nope", False, 1, 2)
    try:
        with pytest.raises(RuntimeError, match="helper process failed: KeyError"):
            helper.receive("csv")
    finally:
        helper.stop()


def test_failed_generation_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(model: object, block: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(formats, "generate_block", boom)
    path = tmp_path / "x.csv"
    with pytest.raises(OSError, match="disk full"):
        generate_xdr(path, 1000)
    assert not path.exists() and not Path(str(path) + ".tmp").exists()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate_xdr(tmp_path / "x.json", 10)
    with pytest.raises(ValueError, match="format"):
        generate_xdr(tmp_path / "x.csv", 10, fmt="json")
    with pytest.raises(ValueError, match="xlsx"):
        generate_xdr(tmp_path / "x.xlsx", 1_048_575)
    with pytest.raises(ValueError, match="n_records"):
        generate_xdr(tmp_path / "x.csv", 0)
    with pytest.raises(ValueError, match="seed"):
        generate_xdr(tmp_path / "x.csv", 10, seed=-1)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------ other formats


def test_gzip_is_the_csv_bytes(small_csv: Path, tmp_path: Path) -> None:
    path = tmp_path / "xdr.csv.gz"
    result = generate_xdr(path, 5_000, seed=7)
    assert result.fmt == "csv.gz"
    assert gzip.decompress(path.read_bytes()) == small_csv.read_bytes()
    assert (
        duckdb.sql(f"select count(*) from read_csv('{path}', all_varchar=true)").fetchall()[0][0]
        == 5_001
    )


def test_parquet_is_a_pandas_reexport(small_csv: Path, tmp_path: Path) -> None:
    path = tmp_path / "xdr.parquet"
    result = generate_xdr(path, 5_000, seed=7, chunk_size=2_000)
    assert result.fmt == "parquet" and result.n_rows_written == 5_001
    schema = pq.read_schema(path)
    assert schema.names == list(RAW_NAMES) and "Dur. (ms).1" in schema.names
    text = {"Start", "End", "Last Location Name", "Handset Manufacturer", "Handset Type"}
    assert {str(schema.field(n).type) for n in RAW_NAMES if n not in text} == {"double"}
    assert {str(schema.field(n).type) for n in text} == {"string"}
    parquet, csv = pd.read_parquet(path), pd.read_csv(small_csv)
    assert list(parquet.columns) == list(csv.columns) and len(parquet) == len(csv)
    for column in (
        "Bearer Id",
        "MSISDN/Number",
        "Dur. (ms).1",
        "Total DL (Bytes)",
        "HTTP DL (Bytes)",
        *APP_COLUMNS,
    ):
        np.testing.assert_array_equal(
            parquet[column].to_numpy(float), csv[column].to_numpy(float), column
        )
    for column in text:
        assert parquet[column].fillna("<null>").tolist() == csv[column].fillna("<null>").tolist()
    assert (parquet["Handset Type"] == "undefined").any()


def test_xlsx_is_the_excel_export(tmp_path: Path, reference_dir: Path) -> None:
    path = tmp_path / "xdr.xlsx"
    assert generate_xdr(path, 500, seed=7).n_rows_written == 501
    sheet = openpyxl.load_workbook(path).active
    real = openpyxl.load_workbook(reference_dir / "xdr_xlsx_head8.xlsx").active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header == [c.value for c in next(real.iter_rows(max_row=1))] == list(RAW_CSV_HEADER)
    first = next(sheet.iter_rows(min_row=2, max_row=2))
    assert (
        isinstance(first[1].value, datetime) and first[1].number_format == real["B2"].number_format
    )
    df = pd.read_excel(path)
    assert df.shape == (501, 55)
    start = df["Start"].iloc[:-1]
    assert pd.api.types.is_datetime64_any_dtype(start) and (start.dt.second != 0).any()
    summary = df.iloc[-1]
    assert summary[APP_COLUMNS].notna().all()
    # pandas turns blank cells of the object-typed Bearer Id column into "" (as on the real xlsx)
    assert summary.drop([*APP_COLUMNS, "Bearer Id"]).isna().all() and summary["Bearer Id"] in (
        "",
        None,
    )
    # the same records as the CSV of the same seed
    csv = pd.read_csv(generate_xdr(tmp_path / "twin.csv", 500, seed=7).path)
    assert (start.dt.strftime("%-m/%-d/%Y %-H:%M") == csv["Start"].iloc[:-1]).all()
    np.testing.assert_array_equal(
        df["Total DL (Bytes)"].to_numpy(float), csv["Total DL (Bytes)"].to_numpy(float)
    )


def test_xlsx_is_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    generate_xdr(a, 200, seed=1)
    generate_xdr(b, 200, seed=1)
    assert a.read_bytes() == b.read_bytes()


# --------------------------------------------------------------------------------- CLI


def test_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``xdr generate`` is the generator's command line."""
    monkeypatch.chdir(tmp_path)  # the command writes logs/xdr.log in the working directory
    out = tmp_path / "cli.parquet"
    assert cli.main(["generate", "--records", "1000", "--seed", "5", "--out", str(out)]) == 0
    assert "1,001 rows written (parquet)" in capsys.readouterr().out
    assert pq.read_metadata(out).num_rows == 1001
    assert cli.main(["generate", "--records", "10", "--out", str(tmp_path / "x.txt")]) == 1
    assert "cannot infer the format" in capsys.readouterr().err
