"""The engagement report: one self-contained HTML file and its charts as PNG files.

``build_report(db_path, out_dir)`` reads only the public marts (schema ``marts``)
of a DuckDB file opened read-only, so the report shows what BI users see, and
writes::

    out_dir/engagement_report.html   the report; charts embedded as data URIs,
                                     opens from disk with no server or network
    out_dir/charts/*.png             the same charts as files

Every number and sentence comes from the marts (report_text), every chart from
report_charts; the HTML is the Jinja2 template templates/report.html.j2.

Replacing a report is atomic and never destroys a good one:

- The new report is built in a temporary sibling folder of ``out_dir``, fsynced
  and swapped into place (:func:`xdr_warehouse.atomic.replace_folder`: an
  atomic exchange on Linux, else two renames); a failure at any point removes
  the temporary folder and leaves the old report as it was.
- A missing or unreadable database, or a missing public table, raises
  :class:`ReportError` (one line) before anything is written.
- Marts without customers (e.g. a header-only input) give a short report that
  says there is no data, with the data-quality figures. It is written as
  ``engagement_report.html`` only when there is no good report there yet;
  otherwise the good report stays and the no-data report is written beside it
  as ``engagement_report_no_data.html`` (removed again by the next good report).
- ``out_dir`` is only ever replaced when it holds nothing but report files, so
  pointing XDR_REPORT_DIR at a folder with other files fails instead of
  deleting them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jinja2
import pandas as pd

from xdr_warehouse import atomic
from xdr_warehouse import report_charts as charts
from xdr_warehouse import report_text as text

REPORT_FILE = "engagement_report.html"
NO_DATA_FILE = "engagement_report_no_data.html"
CHARTS_DIR = "charts"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"
SCATTER_LIMIT = 20_000
#: Marker in the HTML head telling a complete report from a no-data one.
STATUS_COMPLETE = "complete"
STATUS_NO_DATA = "no-data"

#: Public marts the report reads (schema marts of the published file).
REQUIRED_TABLES: tuple[str, ...] = (
    "customer_engagement",
    "top_customers_by_engagement",
    "customer_clusters",
    "engagement_cluster_summary",
    "engagement_elbow",
    "application_usage",
    "top_users_by_application",
    "xdr_load_audit",
)


class ReportError(RuntimeError):
    """The report cannot be written; the message is one line saying why and what to do."""


@dataclass(frozen=True)
class Marts:
    """The published marts the report needs, as DataFrames."""

    engagement: pd.DataFrame
    top_customers: pd.DataFrame
    cluster_customers: pd.DataFrame
    cluster_summary: pd.DataFrame
    elbow: pd.DataFrame
    usage: pd.DataFrame
    top_users: pd.DataFrame
    audit: pd.DataFrame
    #: marts.publish_info when the file was written by the publish step, else empty.
    publish_info: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_data(self) -> bool:
        return len(self.engagement) > 0


QUERIES: dict[str, str] = {
    "engagement": """
        select msisdn, session_count, total_duration_ms, total_traffic_bytes,
               first_session_started_at, last_session_ended_at
        from marts.customer_engagement order by msisdn""",
    "top_customers": """
        select t.metric, t.rank, t.tie_rank, t.msisdn, t.metric_value,
               t.same_value_customer_count, t.is_tied,
               e.session_count, e.total_duration_ms, e.total_traffic_bytes
        from marts.top_customers_by_engagement as t
        left join marts.customer_engagement as e on t.msisdn = e.msisdn
        order by t.metric, t.rank""",
    "cluster_customers": """
        select c.msisdn, c.cluster_id, c.engagement_level,
               e.session_count, e.total_duration_ms, e.total_traffic_bytes
        from marts.customer_clusters as c
        inner join marts.customer_engagement as e on c.msisdn = e.msisdn
        order by c.msisdn""",
    "cluster_summary": """
        select * from marts.engagement_cluster_summary order by cluster_id, metric""",
    "elbow": "select * from marts.engagement_elbow order by k",
    "usage": "select * from marts.application_usage order by usage_rank",
    "top_users": """
        select * from marts.top_users_by_application order by application, rank""",
    "audit": "select * from marts.xdr_load_audit order by source_file",
}


def load_marts(db_path: Path) -> Marts:
    """Read the public marts from a DuckDB file opened read-only."""
    if not Path(db_path).is_file():
        raise ReportError(
            f"no published database at {db_path}: run the main job (`make run`) first, "
            "or set XDR_PUBLISHED_DB"
        )
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0]
        raise ReportError(f"cannot open {db_path} read-only: {first}") from err
    try:
        present = {
            row[0]
            for row in con.sql(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        missing = [name for name in REQUIRED_TABLES if name not in present]
        if missing:
            raise ReportError(
                f"{db_path} lacks the public table(s) marts.{', marts.'.join(missing)}: "
                "publish a complete build first"
            )
        try:
            frames = {name: con.sql(sql).df() for name, sql in QUERIES.items()}
            if "publish_info" in present:
                frames["publish_info"] = con.sql(
                    "select publish_id, published_at_utc from marts.publish_info limit 1"
                ).df()
        except duckdb.Error as err:
            first = str(err).strip().splitlines()[0]
            raise ReportError(f"cannot read the marts of {db_path}: {first}") from err
    finally:
        con.close()
    for name, column in (("top_customers", "metric"), ("cluster_summary", "metric")):
        unknown = sorted(set(frames[name][column].astype(str)) - set(text.METRICS))
        if unknown:
            raise ReportError(
                f"{db_path}: unknown engagement metric(s) {', '.join(unknown)} in "
                f"{name}; the report knows {', '.join(text.METRICS)}"
            )
    return Marts(**frames)


# --------------------------------------------------------------------------- context


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
    return None if text.is_missing(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M} UTC"


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


def data_quality_section(audit: pd.DataFrame) -> dict[str, object]:
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
    }


def report_context(marts: Marts) -> tuple[dict[str, object], list[Chart]]:
    """Everything the template shows, and the charts to write."""
    if not marts.has_data:
        return {
            "status": STATUS_NO_DATA,
            "no_data": text.no_data_sentences(marts.audit),
            "data_quality": data_quality_section(marts.audit),
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
        "data_quality": data_quality_section(marts.audit),
        "input_files": [str(name) for name in marts.audit["file_name"]],
        "k_used": k_used,
    }
    return context, cluster_charts + app_charts + elbow_charts


def render_html(context: dict[str, object]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE).render(**context)


# --------------------------------------------------------------------------- writing


def report_status(path: Path) -> str | None:
    """The status marker of an existing report file, or None when there is none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    for status in (STATUS_COMPLETE, STATUS_NO_DATA):
        if f'<meta name="xdr-report-status" content="{status}">' in head:
            return status
    return "unknown"


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder holding anything but report files."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ReportError(f"{out_dir} is not a folder: set XDR_REPORT_DIR to a folder")
    ours = {REPORT_FILE, NO_DATA_FILE, CHARTS_DIR}
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in ours)
    if foreign:
        raise ReportError(
            f"{out_dir} holds files the report did not write ({', '.join(foreign[:3])}); "
            "set XDR_REPORT_DIR to a folder of its own"
        )


def _write_folder(out_dir: Path, html: str, chart_list: list[Chart]) -> Path:
    """Build the report folder beside out_dir, then swap it into place."""
    with atomic.replace_folder(out_dir) as folder:
        if chart_list:
            (folder / CHARTS_DIR).mkdir()
            for chart in chart_list:
                (folder / chart.path).write_bytes(chart.png)
        (folder / REPORT_FILE).write_text(html, encoding="utf-8")
    return out_dir / REPORT_FILE


def build_report(db_path: Path, out_dir: Path) -> Path:
    """Write the report of the published marts in db_path into out_dir; return the HTML path.

    With customer data: a complete report replaces out_dir atomically. Without
    (empty marts): a no-data report, written as engagement_report.html only when
    no complete report is there, else as engagement_report_no_data.html beside it.
    """
    db_path, out_dir = Path(db_path), Path(out_dir)
    _check_replaceable(out_dir)
    marts = load_marts(db_path)
    context, chart_list = report_context(marts)
    context["source_db"] = db_path.name
    context["published_at"] = published_at(marts.publish_info)
    html = render_html(context)
    if marts.has_data:
        return _write_folder(out_dir, html, chart_list)
    if report_status(out_dir / REPORT_FILE) == STATUS_COMPLETE:
        target = out_dir / NO_DATA_FILE
        atomic.write_file(target, html)
        return target
    return _write_folder(out_dir, html, [])
