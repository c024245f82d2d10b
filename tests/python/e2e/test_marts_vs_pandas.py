"""End to end: dbt build on a generated raw-format file, every mart checked
against an independent pandas computation on the same file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xdr_warehouse.columns import APPLICATIONS

from conftest import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw(generated_csv: Path) -> pd.DataFrame:
    """The generated file read the way the notebooks read the real one."""
    return pd.read_csv(generated_csv)


@pytest.fixture(scope="module")
def sessions(raw: pd.DataFrame) -> pd.DataFrame:
    """Real sessions: every row but the trailing summary row of means."""
    summary = raw["Start"].isna() & raw["Bearer Id"].isna() & raw["Total DL (Bytes)"].isna()
    assert summary.sum() == 1 and summary.iloc[-1]
    return raw[~summary].copy()


@pytest.fixture(scope="module")
def customers(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per-customer engagement computed with pandas."""
    attributed = sessions.dropna(subset=["MSISDN/Number"]).copy()
    attributed["msisdn"] = attributed["MSISDN/Number"].astype("int64")
    attributed["traffic"] = attributed["Total DL (Bytes)"] + attributed["Total UL (Bytes)"]
    grouped = attributed.groupby("msisdn").agg(
        session_count=("Start", "size"),
        bearer_id_session_count=("Bearer Id", "count"),
        total_duration_ms=("Dur. (ms).1", "sum"),
        total_dl_bytes=("Total DL (Bytes)", "sum"),
        total_ul_bytes=("Total UL (Bytes)", "sum"),
        total_traffic_bytes=("traffic", "sum"),
    )
    return grouped.astype("int64").reset_index().sort_values("msisdn", ignore_index=True)


def test_customer_engagement_equals_pandas(
    built_warehouse: Workspace, customers: pd.DataFrame
) -> None:
    got = built_warehouse.df(
        "select msisdn, session_count, bearer_id_session_count, total_duration_ms,"
        " total_dl_bytes, total_ul_bytes, total_traffic_bytes"
        " from marts.customer_engagement order by msisdn"
    ).astype("int64")
    assert len(got) == len(customers) > 1000
    pd.testing.assert_frame_equal(got, customers, check_dtype=False)


def expected_top(frame: pd.DataFrame, value: str, n: int = 10) -> list[tuple[int, int]]:
    """Top n (msisdn, value) by value descending, ties by msisdn ascending."""
    ordered = frame.sort_values([value, "msisdn"], ascending=[False, True]).head(n)
    return list(zip(ordered["msisdn"].tolist(), ordered[value].tolist(), strict=True))


@pytest.mark.parametrize(
    ("metric", "column"),
    [
        ("sessions", "session_count"),
        ("duration_ms", "total_duration_ms"),
        ("traffic_bytes", "total_traffic_bytes"),
    ],
)
def test_top_customers_equal_pandas(
    built_warehouse: Workspace, customers: pd.DataFrame, metric: str, column: str
) -> None:
    got = built_warehouse.query(
        "select rank, msisdn, metric_value from marts.top_customers_by_engagement"
        f" where metric = '{metric}' order by rank"
    )
    assert [r[0] for r in got] == list(range(1, 11))
    assert [(r[1], r[2]) for r in got] == expected_top(customers, column)


@pytest.fixture(scope="module")
def app_traffic(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per (customer, application) DL, UL, total computed with pandas."""
    attributed = sessions.dropna(subset=["MSISDN/Number"])
    frames = []
    for app, dl, ul in APPLICATIONS:
        part = pd.DataFrame(
            {
                "msisdn": attributed["MSISDN/Number"].astype("int64"),
                "application": app,
                "dl_bytes": attributed[dl],
                "ul_bytes": attributed[ul],
            }
        )
        frames.append(part.groupby(["msisdn", "application"], as_index=False).sum())
    out = pd.concat(frames, ignore_index=True)
    out["total_bytes"] = out["dl_bytes"] + out["ul_bytes"]
    return out.astype({"dl_bytes": "int64", "ul_bytes": "int64", "total_bytes": "int64"})


def test_customer_application_traffic_equals_pandas(
    built_warehouse: Workspace, app_traffic: pd.DataFrame
) -> None:
    got = built_warehouse.df(
        "select msisdn, application, dl_bytes, ul_bytes, total_bytes"
        " from marts.customer_application_traffic order by msisdn, application"
    )
    want = app_traffic.sort_values(["msisdn", "application"], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_top_users_by_application_equal_pandas(
    built_warehouse: Workspace, app_traffic: pd.DataFrame
) -> None:
    for app, _, _ in APPLICATIONS:
        got = built_warehouse.query(
            "select msisdn, total_bytes from marts.top_users_by_application"
            f" where application = '{app}' order by rank"
        )
        want = expected_top(app_traffic[app_traffic["application"] == app], "total_bytes")
        assert got == want, app


def test_application_usage_equals_raw_columns(
    built_warehouse: Workspace, sessions: pd.DataFrame, app_traffic: pd.DataFrame
) -> None:
    got = built_warehouse.df("select * from marts.application_usage").set_index("application")
    unattributed = sessions["MSISDN/Number"].isna()
    totals = {}
    for app, dl, ul in APPLICATIONS:
        total = int(sessions[dl].sum() + sessions[ul].sum())
        totals[app] = total
        row = got.loc[app]
        assert row["total_dl_bytes"] == int(sessions[dl].sum())
        assert row["total_ul_bytes"] == int(sessions[ul].sum())
        assert row["total_bytes"] == total
        assert row["unattributed_bytes"] == int(
            sessions.loc[unattributed, dl].sum() + sessions.loc[unattributed, ul].sum()
        )
        users = app_traffic[(app_traffic["application"] == app) & (app_traffic["total_bytes"] > 0)]
        assert row["user_count"] == len(users)
    ranked = sorted(totals, key=lambda a: -totals[a])
    assert got.sort_values("usage_rank").index.tolist() == ranked
    assert set(got.index[got["is_top_application"]]) == set(ranked[:3])
    assert np.isclose(got["traffic_share"].sum(), 1.0)


def test_load_audit_accounts_for_every_record(
    built_warehouse: Workspace, raw: pd.DataFrame, sessions: pd.DataFrame
) -> None:
    audit = built_warehouse.df("select * from marts.xdr_load_audit")
    assert len(audit) == 1
    row = audit.iloc[0]
    assert row["read_record_count"] == len(raw)
    assert row["loaded_record_count"] == len(sessions)
    assert row["quarantined_record_count"] == 1 == row["summary_row_count"]
    assert row["unattributed_record_count"] == sessions["MSISDN/Number"].isna().sum() > 0
    unattributed = sessions[sessions["MSISDN/Number"].isna()]
    assert row["unattributed_traffic_bytes"] == int(
        unattributed["Total DL (Bytes)"].sum() + unattributed["Total UL (Bytes)"].sum()
    )
    assert row["no_bearer_id_record_count"] == sessions["Bearer Id"].isna().sum()
    assert row["total_identity_mismatch_count"] == 0
    reasons = built_warehouse.query(
        "select quarantine_reason, record_number from marts.xdr_quarantined_records"
    )
    assert reasons == [("summary_row", len(raw))]


def test_staging_casts_raw_text_exactly(built_warehouse: Workspace, generated_csv: Path) -> None:
    """Spot-check the typed staging columns against the raw text of the file."""
    text = pd.read_csv(generated_csv, dtype=str, keep_default_na=False, nrows=200)
    got = built_warehouse.df(  # the view reads the file in its order
        "select bearer_id::varchar as bearer_id, msisdn, duration_s, duration_ms, started_at"
        " from staging.stg_xdr__records limit 200"
    )
    for i, row in got.iterrows():
        raw_row = text.iloc[i]
        assert row["duration_ms"] == int(raw_row["Dur. (ms).1"])
        assert row["duration_s"] == int(raw_row["Dur. (ms)"]) == row["duration_ms"] // 1000
        if raw_row["MSISDN/Number"]:
            assert row["msisdn"] == int(raw_row["MSISDN/Number"])
        if raw_row["Bearer Id"]:
            mantissa, exponent = raw_row["Bearer Id"].split("E+")
            digits = mantissa.replace(".", "")
            expected = int(digits) * 10 ** (int(exponent) - (len(digits) - 1))
            assert int(row["bearer_id"]) == expected
        assert row["started_at"] == pd.to_datetime(raw_row["Start"], format="%m/%d/%Y %H:%M")
