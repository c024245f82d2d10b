"""Every page of the dashboard under Streamlit's AppTest, on a contract-v2 fixture file.

What a page shows (metrics, table cells, messages) is compared with the same
figures computed here from the fixture file's base tables, with SQL or pandas
of the test's own (conftest.expected), not with the app's queries.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from xdr_warehouse.dashboard.views import parse_msisdn
from xdr_warehouse.report.text import MS_PER_HOUR, fmt_bytes, fmt_count, fmt_hours

from .conftest import SECOND_PUBLISH, expected
from .dashboard_fixture import QUARANTINE_REASONS, FixturePublish, build_fixture_warehouse

StartApp = Callable[..., AppTest]

CUSTOMERS_SQL = "select * from marts.customer_engagement"
METRIC_COLUMNS = {
    "sessions": "session_count",
    "duration_ms": "total_duration_ms",
    "traffic_bytes": "total_traffic_bytes",
}


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def charts(app: AppTest) -> list:
    return list(app.get("vega_lite_chart"))


def table(app: AppTest, index: int) -> pd.DataFrame:
    return app.dataframe[index].value.reset_index(drop=True)


def texts(app: AppTest, kind: str) -> list[str]:
    return [element.value for element in getattr(app, kind)]


def top_by_pandas(customers: pd.DataFrame, metric: str, n: int) -> pd.DataFrame:
    """Top N by value desc, MSISDN asc, with the mart's tie columns, in pandas."""
    values = customers[["msisdn", METRIC_COLUMNS[metric]]].set_axis(
        ["msisdn", "metric_value"], axis=1
    )
    values["tie_rank"] = values["metric_value"].rank(method="min", ascending=False)
    values["same_value_customer_count"] = values.groupby("metric_value")["msisdn"].transform("size")
    values["is_tied"] = values["same_value_customer_count"] > 1
    top = values.sort_values(["metric_value", "msisdn"], ascending=[False, True]).head(n)
    top.insert(0, "rank", range(1, len(top) + 1))
    if metric == "duration_ms":
        top["metric_value"] = top["metric_value"] / MS_PER_HOUR
    columns = ["rank", "tie_rank", "msisdn", "metric_value", "same_value_customer_count"]
    return top[[*columns, "is_tied"]].reset_index(drop=True)


def assert_same_table(shown: pd.DataFrame, wanted: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), wanted.reset_index(drop=True), check_dtype=False
    )


# --------------------------------------------------------------------------- overview


def test_overview_shows_the_publish_totals_quality_and_top_10(
    start_app: StartApp, published_db: Path
) -> None:
    app = start_app()

    assert texts(app, "title") == ["Overview"]
    info = expected(
        published_db, "select distinct publish_id, published_at_utc, engine from marts.publish_info"
    )
    assert len(info) == 1
    publish = info.iloc[0]
    (line,) = [text for text in texts(app, "markdown") if text.startswith("Publish")]
    assert publish["publish_id"] in line
    assert f"{publish['published_at_utc']:%Y-%m-%d %H:%M:%S} UTC" in line
    assert f"engine **{publish['engine']}**" in line

    customers = expected(published_db, CUSTOMERS_SQL)
    audit = expected(published_db, "select * from marts.xdr_load_audit")
    assert metrics(app) == {
        "Customers": fmt_count(len(customers)),
        "Sessions": fmt_count(customers["session_count"].sum()),
        "Total traffic": fmt_bytes(customers["total_traffic_bytes"].sum()),
        "Total duration": fmt_hours(customers["total_duration_ms"].sum()),
        "Records read": fmt_count(audit["read_record_count"].sum()),
        "Records loaded": fmt_count(audit["loaded_record_count"].sum()),
        "Records quarantined": fmt_count(audit["quarantined_record_count"].sum()),
        "Unattributed sessions": fmt_count(audit["unattributed_record_count"].sum()),
    }
    assert metrics(app)["Records quarantined"] != "0"

    # Quarantine by reason, counted from the quarantined records themselves.
    quarantined = expected(
        published_db,
        "select quarantine_reason, count(*) as n from marts.xdr_quarantined_records group by all",
    )
    counts = dict(zip(quarantined["quarantine_reason"], quarantined["n"], strict=True))
    reasons = table(app, 0)
    assert list(reasons["quarantine_reason"]) == list(QUARANTINE_REASONS)
    assert list(reasons["record_count"]) == [counts.get(r, 0) for r in QUARANTINE_REASONS]
    assert reasons["description"].notna().all()

    top = table(app, 1)
    assert_same_table(top, top_by_pandas(customers, "sessions", 10))
    assert top["is_tied"].any(), "the fixture should have tied customers"
    assert len(charts(app)) == 1


# --------------------------------------------------------------------------- top customers


def test_top_customers_follow_the_metric_and_n(start_app: StartApp, published_db: Path) -> None:
    customers = expected(published_db, CUSTOMERS_SQL)
    app = start_app(page="top-customers")
    assert texts(app, "title") == ["Top customers"]
    assert_same_table(table(app, 0), top_by_pandas(customers, "sessions", 10))
    assert len(charts(app)) == 1

    # An N whose last customer ties with the next one: the MSISDN order decides who is in.
    sessions = customers["session_count"].sort_values(ascending=False).tolist()
    straddling = next(n for n in range(11, 101) if sessions[n - 1] == sessions[n])
    for metric, n in [("sessions", straddling), ("duration_ms", 1), ("traffic_bytes", 100)]:
        app.selectbox(key="top_metric").set_value(metric)
        app.number_input(key="top_n").set_value(n)
        app.run()
        assert not app.exception
        shown = table(app, 0)
        assert len(shown) == n
        assert_same_table(shown, top_by_pandas(customers, metric, n))
        assert len(charts(app)) == 1
    assert app.query_params["page"] == "top-customers"


def test_top_n_is_limited_to_1_to_100(start_app: StartApp) -> None:
    app = start_app(page="top-customers")
    control = app.number_input(key="top_n")
    assert (control.proto.min, control.proto.max, control.value) == (1, 100, 10)


# --------------------------------------------------------------------------- customer look-up


def test_customer_lookup_shows_one_customer(start_app: StartApp, published_db: Path) -> None:
    customer = expected(
        published_db,
        "select * from marts.customer_engagement as e "
        "join marts.customer_clusters as c using (msisdn) "
        "order by e.total_traffic_bytes desc limit 1",
    ).iloc[0]
    msisdn = int(customer["msisdn"])
    app = start_app(page="customer")
    assert texts(app, "title") == ["Customer look-up"]
    assert texts(app, "info"), "an empty look-up asks for an MSISDN"

    app.text_input(key="msisdn").input(f" {msisdn} ").run()
    assert not app.exception
    assert metrics(app) == {
        "Sessions": fmt_count(customer["session_count"]),
        "Total duration": fmt_hours(customer["total_duration_ms"]),
        "Cluster": str(customer["cluster_id"]),
        "Engagement level": customer["engagement_level"],
        "Download (DL)": fmt_bytes(customer["total_dl_bytes"]),
        "Upload (UL)": fmt_bytes(customer["total_ul_bytes"]),
        "Total traffic": fmt_bytes(customer["total_traffic_bytes"]),
    }
    per_application = expected(
        published_db,
        "select application, dl_bytes, ul_bytes, total_bytes "
        "from marts.customer_application_traffic where msisdn = ?",
        [msisdn],
    )
    order = ["Social Media", "Google", "Email", "Youtube", "Netflix", "Gaming", "Other"]
    per_application = per_application.set_index("application").loc[order].reset_index()
    assert_same_table(table(app, 0), per_application)
    assert table(app, 0)["total_bytes"].sum() >= customer["total_ul_bytes"]
    assert len(charts(app)) == 1


@pytest.mark.parametrize("typed", ["abc", "3360000000x", "12.5", "-33600000004", "1e9", "0x1F"])
def test_customer_lookup_says_when_the_input_is_not_a_number(
    start_app: StartApp, typed: str
) -> None:
    app = start_app(page="customer")
    app.text_input(key="msisdn").input(typed).run()
    assert not app.exception
    (message,) = texts(app, "error")
    assert message.startswith(f"'{typed}' is not an MSISDN")
    assert metrics(app) == {}


def test_customer_lookup_says_when_the_msisdn_is_not_found(
    start_app: StartApp, published_db: Path
) -> None:
    unknown = int(
        expected(published_db, "select max(msisdn) + 1 as m from marts.customer_engagement")["m"][0]
    )
    app = start_app(page="customer")
    app.text_input(key="msisdn").input(str(unknown)).run()
    assert not app.exception
    (message,) = texts(app, "warning")
    assert message.startswith(f"MSISDN {unknown} not found")
    assert metrics(app) == {} and not app.dataframe


@pytest.mark.parametrize(
    ("typed", "msisdn"),
    [
        ("33664962239", 33664962239),
        ("  33664962239 ", 33664962239),
        ("+33664962239", 33664962239),
        ("1", 1),
        ("999999999999999999", 999_999_999_999_999_999),
        ("", None),
        ("abc", None),
        ("3366 4962239", None),
        ("33664962239.0", None),
        ("-33664962239", None),
        ("1e10", None),
        ("9999999999999999999", None),  # 19 digits: beyond what a BIGINT surely holds
        ("３３６６", None),  # full-width digits are not ASCII digits
    ],
)
def test_parse_msisdn(typed: str, msisdn: int | None) -> None:
    assert parse_msisdn(typed) == msisdn


# --------------------------------------------------------------------------- clusters


def test_clusters_page_summarises_the_clusters(start_app: StartApp, published_db: Path) -> None:
    app = start_app(page="clusters")
    assert texts(app, "title") == ["Clusters"]

    labelled = expected(
        published_db,
        "select c.cluster_id, c.engagement_level, e.session_count, e.total_duration_ms, "
        "e.total_traffic_bytes from marts.customer_clusters as c "
        "join marts.customer_engagement as e using (msisdn)",
    )
    labelled["duration_hours"] = labelled["total_duration_ms"] / MS_PER_HOUR
    groups = labelled.groupby(["cluster_id", "engagement_level"])
    wanted = groups.size().rename("customer_count").to_frame()
    wanted["customer_share"] = wanted["customer_count"] / len(labelled)
    for name, column in [
        ("sessions", "session_count"),
        ("duration_hours", "duration_hours"),
        ("traffic_bytes", "total_traffic_bytes"),
    ]:
        for statistic in ("min", "avg", "max"):
            wanted[f"{name}_{statistic}"] = groups[column].agg(
                "mean" if statistic == "avg" else statistic
            )
    assert_same_table(table(app, 0), wanted.reset_index())
    assert len(wanted) == 3

    model = expected(
        published_db,
        "select distinct cluster_model_id, model_fitted_at from marts.engagement_cluster_summary",
    ).iloc[0]
    (line,) = [text for text in texts(app, "markdown") if text.startswith("Cluster model")]
    assert model["cluster_model_id"] in line
    assert f"{model['model_fitted_at']:%Y-%m-%d %H:%M:%S} UTC" in line

    elbow_k = expected(published_db, "select k from marts.engagement_elbow where is_elbow")
    (elbow_caption,) = [text for text in texts(app, "caption") if text.startswith("Elbow")]
    assert f"at k = {elbow_k['k'][0]};" in elbow_caption
    specs = [chart.proto.spec for chart in charts(app)]
    assert len(specs) == 5  # customers and three averages per cluster, the elbow curve
    assert sum("is_elbow" in spec for spec in specs) == 1


# --------------------------------------------------------------------------- applications


def test_applications_page_shows_usage_and_top_users(
    start_app: StartApp, published_db: Path
) -> None:
    app = start_app(page="applications")
    assert texts(app, "title") == ["Applications"]
    usage = expected(published_db, "select * from marts.application_usage")
    usage = usage.sort_values("usage_rank").drop(columns=["display_order"])
    shown = table(app, 0)
    assert_same_table(shown, usage[list(shown.columns)])
    assert set(shown.columns) == set(usage.columns)
    assert list(shown.loc[shown["is_top_application"], "usage_rank"]) == [1, 2, 3]
    assert len(charts(app)) == 1

    traffic = expected(published_db, "select * from marts.customer_application_traffic")
    for application in ["Social Media", "Gaming", "Email"]:
        app.selectbox(key="application").set_value(application).run()
        assert not app.exception
        users = traffic[traffic["application"] == application]
        users = users.sort_values(["total_bytes", "msisdn"], ascending=[False, True]).head(10)
        top = table(app, 1)
        assert list(top["msisdn"]) == list(users["msisdn"])
        assert list(top["total_bytes"]) == list(users["total_bytes"])
        assert list(top["rank"]) == list(range(1, 11))


# --------------------------------------------------------------------------- no data, bad data

PAGES = ["overview", "top-customers", "customer", "clusters", "applications"]


@pytest.mark.parametrize("page", PAGES)
def test_no_published_file_says_run_make_run(
    start_app: StartApp, tmp_path: Path, page: str
) -> None:
    missing = tmp_path / "warehouse" / "engagement.duckdb"
    app = start_app(db=missing, page=page)
    assert texts(app, "warning") == [
        f"No published warehouse yet at {missing}: run `make run` first."
    ]
    assert len(texts(app, "title")) == 1 and not app.dataframe and not app.metric


@pytest.mark.parametrize("page", PAGES)
def test_a_publish_without_customers_says_so_on_every_page(
    start_app: StartApp, tmp_path: Path, page: str
) -> None:
    empty = build_fixture_warehouse(tmp_path / "engagement.duckdb", FixturePublish(customers=0))
    app = start_app(db=empty, page=page)
    assert not texts(app, "error")
    if page == "overview":
        assert metrics(app)["Customers"] == "0"
    else:
        assert texts(app, "info")


def test_a_file_without_marts_says_so(start_app: StartApp, tmp_path: Path) -> None:
    empty = tmp_path / "engagement.duckdb"
    duckdb.connect(str(empty)).close()
    app = start_app(db=empty)
    (message,) = texts(app, "warning")
    assert message.startswith(f"{empty} has no published marts")
    assert "make run" in message


def test_a_file_with_old_column_names_shows_an_error_not_a_traceback(
    start_app: StartApp, tmp_path: Path
) -> None:
    old = build_fixture_warehouse(tmp_path / "engagement.duckdb")
    with duckdb.connect(str(old)) as con:
        con.execute("alter table marts.application_usage rename session_count to sessions")
    app = start_app(db=old, page="applications")
    (message,) = texts(app, "error")
    assert "session_count" in message and "contract v2" in message


def test_the_app_follows_a_publish(start_app: StartApp, tmp_path: Path) -> None:
    db = build_fixture_warehouse(tmp_path / "engagement.duckdb")
    app = start_app(db=db)
    assert metrics(app)["Customers"] == "300"

    build_fixture_warehouse(tmp_path / "next.duckdb", SECOND_PUBLISH)
    os.replace(tmp_path / "next.duckdb", db)
    app.run()
    assert not app.exception
    assert metrics(app)["Customers"] == fmt_count(SECOND_PUBLISH.customers)
    assert any(SECOND_PUBLISH.publish_id in text for text in texts(app, "markdown"))
