"""What the report template shows: its sections built from the marts, and the charts.

:func:`report_context` turns the :class:`~xdr_warehouse.report.marts.Marts` into
the dict the template ``templates/report.html.j2`` is rendered with (tables of
formatted values, the sentences of :mod:`~xdr_warehouse.report.text`) and the
list of :class:`Chart` objects (PNG bytes from :mod:`~xdr_warehouse.report.charts`)
to embed and to write beside the report.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from xdr_warehouse.report import charts, text
from xdr_warehouse.report.marts import Marts
from xdr_warehouse.report.stored_failures import StoredFailures

CHARTS_DIR = "charts"
SCATTER_LIMIT = 20_000
#: Marker in the HTML head telling a complete report from a no-data one.
STATUS_COMPLETE = "complete"
STATUS_NO_DATA = "no-data"


@dataclass(frozen=True)
class Chart:
    """One chart: its file name, PNG bytes, title and alt text."""

    name: str
    png: bytes
    title: str
    alt: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @property
    def path(self) -> str:
        return f"{CHARTS_DIR}/{self.name}.png"


def slug(name: str) -> str:
    """'Social Media' -> 'social_media'."""
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") or "app"


def top_customer_tables(marts: Marts) -> list[dict[str, object]]:
    """One table per engagement metric, values formatted for people."""
    tables = []
    totals = {
        metric: float(marts.engagement[column].sum())
        for metric, column in text.METRIC_COLUMNS.items()
    }
    for metric in text.METRICS:
        top = marts.top_customers[marts.top_customers["metric"] == metric].sort_values("rank")
        rows = []
        for r in top.itertuples():
            tied = bool(r.is_tied) if not text.is_missing(r.is_tied) else False
            rows.append(
                {
                    "rank": f"{int(r.tie_rank)}=" if tied else str(int(r.rank)),
                    "msisdn": text.fmt_msisdn(r.msisdn),
                    "sessions": text.fmt_count(r.session_count),
                    "duration": text.fmt_hours(r.total_duration_ms),
                    "traffic": text.fmt_bytes(r.total_traffic_bytes),
                    "tied": tied,
                }
            )
        tables.append(
            {
                "metric": metric,
                "title": f"Top {len(rows)} customers by {text.METRIC_WORDS[metric]}",
                "rows": rows,
                "sentences": text.top_customer_sentences(
                    metric, top, totals[metric], len(marts.engagement)
                ),
                "has_ties": any(row["tied"] for row in rows),
            }
        )
    return tables


def cluster_section(marts: Marts) -> tuple[dict[str, object], list[Chart], int]:
    """Cluster table, sentences and charts; also the number of clusters used."""
    clusters = text.cluster_frame(marts.cluster_summary)
    k_used = int(marts.cluster_customers["cluster_id"].nunique()) if len(clusters) else 0
    rows = [
        {
            "level": r.engagement_level,
            "cluster_id": int(r.cluster_id),
            "customers": text.fmt_count(r.customers),
            "customer_share": text.fmt_share(r.customer_share),
            "metrics": [
                {
                    "avg": text.fmt_metric(m, getattr(r, f"{m}_avg"), average=True),
                    "min": text.fmt_metric(m, getattr(r, f"{m}_min")),
                    "max": text.fmt_metric(m, getattr(r, f"{m}_max")),
                    "share": text.fmt_share(getattr(r, f"{m}_share")),
                }
                for m in text.METRICS
            ],
        }
        for r in clusters.itertuples()
    ]
    section = {
        "rows": rows,
        "metric_titles": [text.METRIC_TITLES[m] for m in text.METRICS],
        "sentences": text.cluster_sentences(marts.cluster_summary),
        "model": text.cluster_model_sentence(marts.cluster_summary),
        "scaler": _first(marts.elbow, "scaler"),
    }
    chart_list: list[Chart] = []
    if len(clusters):
        levels = {int(r.cluster_id): str(r.engagement_level) for r in clusters.itertuples()}
        sample = charts.sample_customers(marts.cluster_customers, SCATTER_LIMIT)
        shown = (
            f"all {text.fmt_count(len(sample))}"
            if len(sample) == len(marts.cluster_customers)
            else f"a deterministic sample of {text.fmt_count(len(sample))} of "
            f"{text.fmt_count(len(marts.cluster_customers))}"
        )
        section["scatter_note"] = f"The scatter shows {shown} customers."
        chart_list = [
            Chart(
                "cluster_metrics",
                charts.cluster_metrics_chart(clusters),
                "Clusters compared on each non-normalized metric",
                "Bar charts of the average sessions, session time and traffic per customer in "
                "each cluster, with lines from the minimum to the maximum.",
            ),
            Chart(
                "cluster_sizes",
                charts.cluster_sizes_chart(clusters),
                "Cluster sizes and their shares of sessions, time and traffic",
                "Stacked bars of each cluster's share of customers, sessions, session time "
                "and traffic.",
            ),
            Chart(
                "cluster_scatter",
                charts.cluster_scatter_chart(sample, len(marts.cluster_customers), levels),
                "Customers coloured by engagement cluster",
                "Scatter plots of customers: session time against traffic and sessions "
                "against traffic, coloured and shaped by cluster.",
            ),
        ]
    return section, chart_list, k_used


def published_at(info: pd.DataFrame) -> str | None:
    """'2026-11-25 12:42 UTC' from marts.publish_info, None when the file has none."""
    if "published_at_utc" not in info or info.empty:
        return None
    value = info["published_at_utc"].iloc[0]
    return None if text.is_missing(value) else text.fmt_utc(value)


def _first(frame: pd.DataFrame, column: str) -> str | None:
    if column in frame and len(frame) and not text.is_missing(frame[column].iloc[0]):
        return str(frame[column].iloc[0])
    return None


def application_section(marts: Marts) -> tuple[dict[str, object], list[Chart]]:
    """Application totals table, sentences, the traffic chart and one chart per top app."""
    usage = marts.usage.sort_values("usage_rank")
    rows = [
        {
            "rank": int(r.usage_rank),
            "application": r.application,
            "total": text.fmt_bytes(r.total_bytes),
            "dl": text.fmt_bytes(r.total_dl_bytes),
            "ul": text.fmt_bytes(r.total_ul_bytes),
            "share": text.fmt_share(r.traffic_share),
            "users": text.fmt_count(r.user_count),
            "top": bool(r.is_top_application),
        }
        for r in usage.itertuples()
    ]
    chart_list = [
        Chart(
            "application_traffic",
            charts.application_traffic_chart(usage),
            "Total traffic per application",
            "Horizontal bars of the total traffic of each application, the top ones dark.",
        )
    ]
    top_apps = []
    for r in usage[usage["is_top_application"].fillna(False).astype(bool)].itertuples():
        top = marts.top_users[marts.top_users["application"] == r.application]
        chart = Chart(
            f"top_users_{slug(r.application)}",
            charts.top_users_chart(r.application, top),
            f"{r.application}: top {len(top)} users",
            f"Horizontal bars of the download and upload traffic of the top {len(top)} "
            f"{r.application} users.",
        )
        chart_list.append(chart)
        top_apps.append(
            {
                "application": r.application,
                "chart": chart,
                "sentences": text.top_users_sentences(
                    r.application, top, usage.set_index("application").loc[r.application]
                ),
            }
        )
    section = {
        "rows": rows,
        "sentences": text.application_sentences(usage),
        "top_apps": top_apps,
        "n_top": len(top_apps),
    }
    return section, chart_list


def elbow_section(marts: Marts, k_used: int) -> tuple[dict[str, object], list[Chart]]:
    elbow = marts.elbow.sort_values("k")
    rows = [
        {
            "k": int(r.k),
            "inertia": text.fmt_number(r.inertia, 0),
            "is_elbow": bool(r.is_elbow),
            "is_used": int(r.k) == k_used,
        }
        for r in elbow.itertuples()
    ]
    section = {
        "rows": rows,
        "sentences": text.elbow_sentences(elbow, k_used),
        "method": _first(elbow, "elbow_method"),
    }
    chart_list = []
    if len(elbow):
        chart_list.append(
            Chart(
                "elbow",
                charts.elbow_chart(elbow, k_used),
                "Elbow method: inertia against k",
                "Line chart of k-means inertia for each k, the chosen elbow ringed and the k "
                "used marked with a dashed line.",
            )
        )
    return section, chart_list


def data_quality_section(
    audit: pd.DataFrame, stored: Sequence[StoredFailures] = ()
) -> dict[str, object]:
    """Records per input file, quarantine reasons, and the rows the warning-level tests
    stored in the build database (``stored``, empty when it was not read)."""
    files = [
        {
            "file": r.file_name,
            "format": r.file_format,
            "size": text.fmt_bytes(r.size_bytes),
            "read": text.fmt_count(r.read_record_count),
            "loaded": text.fmt_count(r.loaded_record_count),
            "quarantined": text.fmt_count(r.quarantined_record_count),
            "unattributed": text.fmt_count(r.unattributed_record_count),
            "unknown_columns": ", ".join(r.unknown_columns)
            if r.unknown_columns is not None and len(r.unknown_columns)
            else "",
        }
        for r in audit.itertuples()
    ]
    total = {
        "read": text.fmt_count(audit["read_record_count"].sum()),
        "loaded": text.fmt_count(audit["loaded_record_count"].sum()),
        "quarantined": text.fmt_count(audit["quarantined_record_count"].sum()),
        "unattributed": text.fmt_count(audit["unattributed_record_count"].sum()),
        "size": text.fmt_bytes(audit["size_bytes"].sum()),
    }
    reasons = [
        {"reason": label, "records": text.fmt_count(n)} for label, n in text.quarantine_rows(audit)
    ]
    return {
        "files": files,
        "total": total,
        "reasons": reasons,
        "sentences": text.data_quality_sentences(audit),
        "stored_failures": [
            {"table": t.table, "rows": text.fmt_count(t.rows), "command": t.command} for t in stored
        ],
        "stored_failures_sentences": text.stored_failures_sentences(
            [(t.table, t.rows) for t in stored]
        ),
    }


def report_context(
    marts: Marts, stored: Sequence[StoredFailures] = ()
) -> tuple[dict[str, object], list[Chart]]:
    """Everything the template shows, and the charts to write.

    ``stored``: the tables of stored test failures in the build database, if read.
    """
    if not marts.has_data:
        return {
            "status": STATUS_NO_DATA,
            "no_data": text.no_data_sentences(marts.audit),
            "data_quality": data_quality_section(marts.audit, stored),
            "input_files": [str(name) for name in marts.audit.get("file_name", [])],
        }, []
    clusters, cluster_charts, k_used = cluster_section(marts)
    applications, app_charts = application_section(marts)
    elbow, elbow_charts = elbow_section(marts, k_used)
    context = {
        "status": STATUS_COMPLETE,
        "overview": text.overview_sentences(marts.engagement, marts.audit),
        "top_customers": top_customer_tables(marts),
        "clusters": clusters,
        "cluster_charts": {chart.name: chart for chart in cluster_charts},
        "applications": applications,
        "app_traffic_chart": app_charts[0],
        "elbow": elbow,
        "elbow_chart": elbow_charts[0] if elbow_charts else None,
        "data_quality": data_quality_section(marts.audit, stored),
        "input_files": [str(name) for name in marts.audit["file_name"]],
        "k_used": k_used,
    }
    return context, cluster_charts + app_charts + elbow_charts
