"""Reading the published marts the report needs, from the BI file opened read-only.

The report reads only the public marts (schema ``marts``) of the published
DuckDB file, so it shows what BI users see. A missing or unreadable file, a
missing public table or an engagement metric the report does not know raises
:class:`~xdr_warehouse.report.errors.ReportError` before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from xdr_warehouse.report import text
from xdr_warehouse.report.errors import ReportError

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
