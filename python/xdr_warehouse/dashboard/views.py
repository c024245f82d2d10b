"""The dashboard's pages: what each one shows, drawn with Streamlit from the marts.

Each page is a function of one :class:`~xdr_warehouse.dashboard.queries.Marts`
(the queries of one publish); the app picks the page and draws its title. The
numbers come unchanged from the marts, in the units people read: counts with
separators, bytes in decimal units (``fmt_bytes``; tables use Streamlit's
``bytes`` format, also decimal) and durations in hours (the marts keep
milliseconds; tables get ``*_hours`` columns in place of ``*_ms``). The
formatting functions are the report's (``xdr_warehouse.report.text``), so the dashboard and
the HTML report write a number the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from xdr_warehouse.dashboard import charts
from xdr_warehouse.dashboard.queries import MART_TOP_N, MAX_TOP_N, METRICS, Marts
from xdr_warehouse.report.text import (
    METRIC_TITLES,
    MS_PER_HOUR,
    QUARANTINE_REASONS,
    fmt_bytes,
    fmt_count,
    fmt_hours,
)

#: What a table column shows: its label and kind (how its numbers are written).
COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("Rank", "count"),
    "tie_rank": ("Rank with ties", "count"),
    "usage_rank": ("Rank", "count"),
    "msisdn": ("MSISDN", "msisdn"),
    "same_value_customer_count": ("Customers with this value", "count"),
    "is_tied": ("Tied", "flag"),
    "quarantine_reason": ("Reason", "text"),
    "description": ("Meaning", "text"),
    "record_count": ("Records", "count"),
    "application": ("Application", "text"),
    "dl_bytes": ("DL", "bytes"),
    "ul_bytes": ("UL", "bytes"),
    "total_bytes": ("DL + UL", "bytes"),
    "total_dl_bytes": ("DL", "bytes"),
    "total_ul_bytes": ("UL", "bytes"),
    "unattributed_bytes": ("of it without MSISDN", "bytes"),
    "traffic_share": ("Share of traffic", "share"),
    "user_count": ("Users", "count"),
    "session_count": ("Sessions", "count"),
    "is_top_application": ("Top 3", "flag"),
    "cluster_id": ("Cluster", "count"),
    "engagement_level": ("Engagement", "text"),
    "customer_count": ("Customers", "count"),
    "customer_share": ("Share of customers", "share"),
    "sessions_min": ("Sessions min", "count"),
    "sessions_avg": ("Sessions avg", "decimal"),
    "sessions_max": ("Sessions max", "count"),
    "duration_hours_min": ("Hours min", "decimal"),
    "duration_hours_avg": ("Hours avg", "decimal"),
    "duration_hours_max": ("Hours max", "decimal"),
    "traffic_bytes_min": ("Traffic min", "bytes"),
    "traffic_bytes_avg": ("Traffic avg", "bytes"),
    "traffic_bytes_max": ("Traffic max", "bytes"),
}
#: Label and kind of top_customers' metric_value, per metric.
METRIC_VALUE_COLUMNS: dict[str, tuple[str, str]] = {
    "sessions": ("Sessions", "count"),
    "duration_ms": ("Duration (hours)", "decimal"),
    "traffic_bytes": ("Traffic (DL + UL)", "bytes"),
}
#: Largest MSISDN the look-up accepts: 18 digits always fit a BIGINT.
MSISDN_PATTERN = re.compile(r"\+?[0-9]{1,18}")


def column_config(frame: pd.DataFrame, overrides: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Streamlit column settings (label, number format) for the frame's known columns."""
    config: dict[str, Any] = {}
    for name in frame.columns:
        label, kind = overrides.get(name) or COLUMNS.get(name, (name, "text"))
        if kind == "text":
            config[name] = st.column_config.TextColumn(label)
        elif kind == "flag":
            config[name] = st.column_config.CheckboxColumn(label)
        else:
            number_format = {
                "count": "localized",
                "decimal": "%,.2f",
                "bytes": "bytes",
                "share": "percent",
                "msisdn": "%d",
            }[kind]
            config[name] = st.column_config.NumberColumn(label, format=number_format)
    return config


def show_table(frame: pd.DataFrame, overrides: dict[str, tuple[str, str]] | None = None) -> None:
    """A read-only table without the index, labelled and formatted by column."""
    st.dataframe(
        frame,
        hide_index=True,
        column_config=column_config(frame, overrides or {}),
        width="stretch",
    )


def show_chart(chart: Any) -> None:  # noqa: ANN401 - any Altair chart
    """An Altair chart across the page's (or column's) width."""
    st.altair_chart(chart, width="stretch")


def side_by_side(
    frame: pd.DataFrame,
    chart: Any,  # noqa: ANN401 - any Altair chart
    overrides: dict[str, tuple[str, str]] | None = None,
) -> None:
    """A table on the left, its chart on the right."""
    left, right = st.columns(2)
    with left:
        show_table(frame, overrides)
    with right:
        show_chart(chart)


def show_top_customers(top: pd.DataFrame, metric: str) -> None:
    """Top customers (queries' top_customers) as a table and a bar chart, in the metric's unit."""
    if metric == "duration_ms":
        top = top.assign(metric_value=top["metric_value"] / MS_PER_HOUR)
    label, kind = METRIC_VALUE_COLUMNS[metric]
    chart = charts.bar_chart(
        top, "msisdn", "metric_value", category_title="MSISDN", value_title=label
    )
    side_by_side(top, chart, {"metric_value": (label, kind)})


def metric_row(values: Sequence[tuple[str, str]]) -> None:
    """Headline numbers side by side: (label, value as text)."""
    for column, (label, value) in zip(st.columns(len(values)), values, strict=True):
        column.metric(label, value)


def in_hours(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every ``*duration_ms*`` column as hours (``*duration_hours*``)."""
    renamed = {name: name.replace("duration_ms", "duration_hours") for name in frame.columns}
    hours = frame.rename(columns=renamed)
    for name, new in renamed.items():
        if new != name:
            hours[new] = frame[name] / MS_PER_HOUR
    return hours


def fmt_utc(value: object) -> str:
    """A UTC timestamp of the marts (TIMESTAMP without zone) as text."""
    return f"{pd.Timestamp(value):%Y-%m-%d %H:%M:%S} UTC"


def parse_msisdn(text: str) -> int | None:
    """The MSISDN typed into the look-up, or None when it is not a number.

    Surrounding spaces and a leading ``+`` are allowed; anything else but ASCII
    digits (letters, separators, decimals, signs) is not an MSISDN.
    """
    text = text.strip()
    if not MSISDN_PATTERN.fullmatch(text):
        return None
    return int(text.lstrip("+"))


def overview(marts: Marts) -> None:
    """Landing page: the publish, headline totals, data quality and the top 10."""
    info = marts.publish
    st.markdown(
        f"Publish **{info.publish_id}**, published **{fmt_utc(info.published_at_utc)}** "
        f"by engine **{info.engine or 'unknown'}** ({info.table_count} tables)."
    )
    totals = marts.totals().iloc[0]
    metric_row(
        [
            ("Customers", fmt_count(totals["customer_count"])),
            ("Sessions", fmt_count(totals["session_count"])),
            ("Total traffic", fmt_bytes(totals["total_traffic_bytes"])),
            ("Total duration", fmt_hours(totals["total_duration_ms"])),
        ]
    )

    st.subheader("Data quality")
    audit = marts.load_audit().iloc[0]
    metric_row(
        [
            ("Records read", fmt_count(audit["read_record_count"])),
            ("Records loaded", fmt_count(audit["loaded_record_count"])),
            ("Records quarantined", fmt_count(audit["quarantined_record_count"])),
            ("Unattributed sessions", fmt_count(audit["unattributed_record_count"])),
        ]
    )
    st.caption(
        f"From {fmt_count(audit['file_count'])} input files. Unattributed sessions have no "
        f"MSISDN ({fmt_bytes(audit['unattributed_traffic_bytes'])} of traffic in no "
        f"customer's totals); {fmt_count(audit['no_bearer_id_record_count'])} loaded sessions "
        f"have no Bearer Id; {fmt_count(audit['text_reencoded_count'])} records had text "
        "re-encoded."
    )
    reasons = marts.quarantine_by_reason()
    reasons.insert(1, "description", reasons["quarantine_reason"].map(QUARANTINE_REASONS))
    show_table(reasons, {"record_count": ("Records quarantined", "count")})

    st.subheader("Top 10 customers by sessions")
    show_top_customers(marts.top_customers("sessions", MART_TOP_N), "sessions")


def top_customers(marts: Marts) -> None:
    """The top N customers by one engagement metric, as a table and a bar chart."""
    left, right = st.columns(2)
    metric = left.selectbox("Metric", METRICS, format_func=METRIC_TITLES.get, key="top_metric")
    n = int(
        right.number_input(
            f"Customers (N, 1 to {MAX_TOP_N})",
            min_value=1,
            max_value=MAX_TOP_N,
            value=MART_TOP_N,
            step=1,
            key="top_n",
        )
    )
    top = marts.top_customers(metric, n)
    if top.empty:
        st.info("No customers in this publish.")
        return
    st.caption(
        "Ties are broken by MSISDN (smallest first); 'Rank with ties' gives tied "
        "customers the same rank."
    )
    show_top_customers(top, metric)


def customer_lookup(marts: Marts) -> None:
    """One customer's engagement, traffic per application and cluster, by MSISDN."""
    example = marts.top_customers("sessions", 1)["msisdn"].astype(str).tolist()
    hint = f"e.g. {example[0]}" if example else "digits only"
    text = st.text_input("MSISDN", key="msisdn", placeholder=hint)
    if not text.strip():
        st.info(f"Enter a customer's MSISDN ({hint}).")
        return
    msisdn = parse_msisdn(text)
    if msisdn is None:
        st.error(f"'{text.strip()}' is not an MSISDN: enter its digits only ({hint}).")
        return
    found = marts.customer(msisdn)
    if found.empty:
        st.warning(
            f"MSISDN {msisdn} not found: no customer with this number in publish "
            f"{marts.publish.publish_id}."
        )
        return
    customer = found.iloc[0]
    cluster = customer["cluster_id"]
    metric_row(
        [
            ("Sessions", fmt_count(customer["session_count"])),
            ("Total duration", fmt_hours(customer["total_duration_ms"])),
            ("Cluster", "–" if pd.isna(cluster) else str(int(cluster))),
            ("Engagement level", str(customer["engagement_level"] or "–")),
        ]
    )
    metric_row(
        [
            ("Download (DL)", fmt_bytes(customer["total_dl_bytes"])),
            ("Upload (UL)", fmt_bytes(customer["total_ul_bytes"])),
            ("Total traffic", fmt_bytes(customer["total_traffic_bytes"])),
        ]
    )
    st.caption(
        f"Sessions from {fmt_utc(customer['first_session_started_at'])} to "
        f"{fmt_utc(customer['last_session_ended_at'])}; "
        f"{fmt_count(customer['bearer_id_session_count'])} of them with a Bearer Id. "
        "DL counts the six named applications (the export's Total DL), UL all seven."
    )
    st.subheader("Traffic per application")
    applications = marts.customer_applications(msisdn)
    side_by_side(
        applications,
        charts.bar_chart(
            applications,
            "application",
            "total_bytes",
            category_title="Application",
            value_title="DL + UL (bytes)",
        ),
    )


def clusters(marts: Marts) -> None:
    """Engagement clusters: sizes, metric ranges, the model and the elbow curve."""
    summary = in_hours(marts.cluster_summary())
    if summary.empty:
        st.info("No clusters in this publish (no customers).")
        return
    for model in marts.cluster_model().itertuples():
        st.markdown(
            f"Cluster model **{model.cluster_model_id}**, fitted "
            f"**{fmt_utc(model.model_fitted_at)}**, {model.cluster_count} clusters."
        )
    show_table(summary)
    named = summary.assign(
        cluster=summary["cluster_id"].astype(str) + " " + summary["engagement_level"]
    )
    per_cluster = [
        ("customer_count", "Customers"),
        ("sessions_avg", "Average sessions"),
        ("duration_hours_avg", "Average hours"),
        ("traffic_bytes_avg", "Average traffic (bytes)"),
    ]
    for row in (per_cluster[:2], per_cluster[2:]):
        for column, (value, title) in zip(st.columns(2), row, strict=True):
            with column:
                show_chart(
                    charts.bar_chart(
                        named, "cluster", value, category_title="Cluster", value_title=title
                    )
                )

    st.subheader("Elbow curve")
    elbow = marts.elbow()
    if elbow.empty:
        st.info("No elbow curve in this publish.")
        return
    chosen = elbow[elbow["is_elbow"]]
    first = elbow.iloc[0]
    show_chart(charts.elbow_chart(elbow))
    elbow_k = ", ".join(str(k) for k in chosen["k"]) or "none"
    st.caption(
        f"Elbow ({first['elbow_method']}) at k = {elbow_k}; inertia of k-means on "
        f"{fmt_count(first['sample_size'])} of {fmt_count(first['customer_count'])} customers, "
        f"scaler {first['scaler']}, seed {first['seed']}."
    )


def applications(marts: Marts) -> None:
    """Traffic per application and each application's top users."""
    usage = marts.application_usage()
    if usage.empty:
        st.info("No application traffic in this publish.")
        return
    show_table(usage.drop(columns=["display_order"]))
    show_chart(
        charts.bar_chart(
            usage,
            "application",
            "total_bytes",
            category_title="Application",
            value_title="DL + UL (bytes)",
            highlight="is_top_application",
        )
    )
    st.subheader("Top users of an application")
    names = usage.sort_values("display_order")["application"].tolist()
    application = st.selectbox("Application", names, key="application")
    show_table(marts.top_users(application))


@dataclass(frozen=True)
class Page:
    """One page of the dashboard: its address (``?page=slug``), title and content."""

    slug: str
    title: str
    render: Callable[[Marts], None]


PAGES: tuple[Page, ...] = (
    Page("overview", "Overview", overview),
    Page("top-customers", "Top customers", top_customers),
    Page("customer", "Customer look-up", customer_lookup),
    Page("clusters", "Clusters", clusters),
    Page("applications", "Applications", applications),
)


def choose_page() -> Page:
    """The page picked in the sidebar; ``?page=<slug>`` in the address opens one."""
    titles = [page.title for page in PAGES]
    requested = st.query_params.get("page", PAGES[0].slug)
    start = next((i for i, page in enumerate(PAGES) if page.slug == requested), 0)
    title = st.sidebar.radio("Page", titles, index=start, key="page")
    page = PAGES[titles.index(title)]
    st.query_params["page"] = page.slug
    return page
