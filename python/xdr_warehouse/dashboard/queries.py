"""Every query the dashboard runs, over the published file, read-only.

The dashboard reads only schema ``marts`` of the published DuckDB file
(``warehouse/engagement.duckdb``), the BI contract v2. All of its SQL is in this
module, so a renamed column is changed in one place.

Publishes and connections
-------------------------
The publish step never writes the published file in place: it renames a new
file onto the path (a new inode). A connection keeps reading the file it
opened, so :class:`PublishedWarehouse` compares the path's identity (device,
inode, mtime, size; ``os.stat``) with that of the open file before each page's
queries and reopens when they differ. The identity is read *before* opening,
so a publish in between costs one extra reopen, never a stale connection.

Reopening must close the old connection first: DuckDB keeps one database
instance per path and process, and ``duckdb.connect(path)`` returns the open
instance (the old file) while any connection to it is alive. Closing also
closes that connection's cursors, so the connection is only closed or replaced
under a lock that each page's queries hold (:meth:`PublishedWarehouse.snapshot`):
a page never loses its connection half-way and never mixes two publishes.
Queries of one page run one at a time, each on a fresh cursor.

Every value that comes from a person (MSISDN, application, metric, N) is a
bound parameter (``?``); no SQL text is ever built from input.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

#: Engagement metrics as top_customers_by_engagement.metric names them.
METRICS: tuple[str, ...] = ("sessions", "duration_ms", "traffic_bytes")
#: Ranks that top_customers_by_engagement holds per metric; more are computed.
MART_TOP_N = 10
#: Largest N of the top-customers page.
MAX_TOP_N = 100

PUBLISH_INFO_SQL = """
select
    publish_id,
    max(published_at_utc) as published_at_utc,
    min(engine) as engine,
    min(duckdb_version) as duckdb_version,
    count(*) as table_count
from marts.publish_info
group by publish_id
order by published_at_utc desc
limit 1
"""

HAS_PUBLISH_INFO_SQL = """
select count(*)
from information_schema.tables
where table_schema = 'marts' and table_name = 'publish_info'
"""

TOTALS_SQL = """
select
    count(*) as customer_count,
    cast(coalesce(sum(session_count), 0) as bigint) as session_count,
    cast(coalesce(sum(total_duration_ms), 0) as bigint) as total_duration_ms,
    cast(coalesce(sum(total_traffic_bytes), 0) as bigint) as total_traffic_bytes
from marts.customer_engagement
"""

LOAD_AUDIT_SQL = """
select
    count(*) as file_count,
    cast(coalesce(sum(read_record_count), 0) as bigint) as read_record_count,
    cast(coalesce(sum(loaded_record_count), 0) as bigint) as loaded_record_count,
    cast(coalesce(sum(quarantined_record_count), 0) as bigint) as quarantined_record_count,
    cast(coalesce(sum(unattributed_record_count), 0) as bigint) as unattributed_record_count,
    cast(coalesce(sum(unattributed_traffic_bytes), 0) as bigint) as unattributed_traffic_bytes,
    cast(coalesce(sum(no_bearer_id_record_count), 0) as bigint) as no_bearer_id_record_count,
    cast(coalesce(sum(text_reencoded_count), 0) as bigint) as text_reencoded_count
from marts.xdr_load_audit
"""

# One row per quarantine reason (zeros included), in the order of the audit's columns.
QUARANTINE_BY_REASON_SQL = """
with totals as (
    select
        sum(summary_row_count) as summary_row,
        sum(malformed_line_count) as malformed_line,
        sum(invalid_value_count) as invalid_value,
        sum(missing_value_count) as missing_value,
        sum(negative_value_count) as negative_value,
        sum(percent_out_of_range_count) as percent_out_of_range,
        sum(end_before_start_count) as end_before_start,
        sum(duplicate_record_count) as duplicate_record
    from marts.xdr_load_audit
)

select
    reason as quarantine_reason,
    cast(coalesce(record_count, 0) as bigint) as record_count
from totals
unpivot include nulls (record_count for reason in (
    summary_row, malformed_line, invalid_value, missing_value,
    negative_value, percent_out_of_range, end_before_start, duplicate_record
))
"""

# The top N <= 10 as the mart ranks them (ties broken by MSISDN).
TOP_CUSTOMERS_FROM_MART_SQL = """
select rank, tie_rank, msisdn, metric_value, same_value_customer_count, is_tied
from marts.top_customers_by_engagement
where metric = ? and rank <= ?
order by rank
"""

# Any N, computed from customer_engagement with the mart's rules: value desc,
# MSISDN asc; tie_rank = 1 + customers with a larger value. Only the values
# down to the N-th are counted, so the whole base is never ranked.
TOP_CUSTOMERS_COMPUTED_SQL = """
with customer_values as (
    select
        msisdn,
        case ?
            when 'sessions' then session_count
            when 'duration_ms' then total_duration_ms
            when 'traffic_bytes' then total_traffic_bytes
        end as metric_value
    from marts.customer_engagement
),

top_customers as (
    select msisdn, metric_value
    from customer_values
    where metric_value is not null
    order by metric_value desc, msisdn asc
    limit ?
),

value_counts as (
    select
        metric_value,
        count(*) as same_value_customer_count,
        sum(count(*)) over (order by metric_value desc) - count(*) + 1 as tie_rank
    from customer_values
    where metric_value >= (select min(metric_value) from top_customers)
    group by metric_value
)

select
    cast(row_number() over (
        order by top_customers.metric_value desc, top_customers.msisdn asc
    ) as integer) as rank,
    cast(value_counts.tie_rank as integer) as tie_rank,
    top_customers.msisdn,
    top_customers.metric_value,
    value_counts.same_value_customer_count,
    value_counts.same_value_customer_count > 1 as is_tied
from top_customers
inner join value_counts on top_customers.metric_value = value_counts.metric_value
order by rank
"""

CUSTOMER_SQL = """
select
    engagement.msisdn,
    engagement.session_count,
    engagement.bearer_id_session_count,
    engagement.total_duration_ms,
    engagement.total_dl_bytes,
    engagement.total_ul_bytes,
    engagement.total_traffic_bytes,
    engagement.first_session_started_at,
    engagement.last_session_ended_at,
    clusters.cluster_id,
    clusters.engagement_level
from marts.customer_engagement as engagement
left join marts.customer_clusters as clusters on engagement.msisdn = clusters.msisdn
where engagement.msisdn = ?
"""

CUSTOMER_APPLICATIONS_SQL = """
select
    traffic.application,
    traffic.dl_bytes,
    traffic.ul_bytes,
    traffic.total_bytes
from marts.customer_application_traffic as traffic
left join marts.application_usage as usage on traffic.application = usage.application
where traffic.msisdn = ?
order by usage.display_order, traffic.application
"""

# engagement_cluster_summary has one row per (cluster, metric); one row per cluster here.
CLUSTER_SUMMARY_SQL = """
select
    cluster_id,
    engagement_level,
    max(customer_count) as customer_count,
    max(customer_share) as customer_share,
    max(min_value) filter (where metric = 'sessions') as sessions_min,
    max(avg_value) filter (where metric = 'sessions') as sessions_avg,
    max(max_value) filter (where metric = 'sessions') as sessions_max,
    max(min_value) filter (where metric = 'duration_ms') as duration_ms_min,
    max(avg_value) filter (where metric = 'duration_ms') as duration_ms_avg,
    max(max_value) filter (where metric = 'duration_ms') as duration_ms_max,
    max(min_value) filter (where metric = 'traffic_bytes') as traffic_bytes_min,
    max(avg_value) filter (where metric = 'traffic_bytes') as traffic_bytes_avg,
    max(max_value) filter (where metric = 'traffic_bytes') as traffic_bytes_max
from marts.engagement_cluster_summary
group by cluster_id, engagement_level
order by cluster_id
"""

CLUSTER_MODEL_SQL = """
select
    cluster_model_id,
    max(model_fitted_at) as model_fitted_at,
    cast(count(distinct cluster_id) as bigint) as cluster_count
from marts.engagement_cluster_summary
group by cluster_model_id
order by model_fitted_at desc
"""

ELBOW_SQL = """
select
    k,
    inertia,
    is_elbow,
    elbow_method,
    sample_size,
    customer_count,
    distinct_point_count,
    scaler,
    seed
from marts.engagement_elbow
order by k
"""

APPLICATION_USAGE_SQL = """
select
    usage_rank,
    application,
    total_bytes,
    traffic_share,
    total_dl_bytes,
    total_ul_bytes,
    unattributed_bytes,
    user_count,
    session_count,
    is_top_application,
    display_order
from marts.application_usage
order by usage_rank, display_order
"""

TOP_USERS_SQL = """
select rank, tie_rank, msisdn, dl_bytes, ul_bytes, total_bytes
from marts.top_users_by_application
where application = ?
order by rank
"""


class WarehouseUnavailableError(RuntimeError):
    """There is no published warehouse to show; the message says why and what to do."""


@dataclass(frozen=True)
class PublishInfo:
    """The publish a connection reads (marts.publish_info, one publish per file)."""

    publish_id: str
    published_at_utc: datetime
    engine: str | None
    duckdb_version: str | None
    table_count: int


@dataclass(frozen=True)
class FileIdentity:
    """What changes when a publish renames a new file onto the path."""

    device: int
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        stat = os.stat(path)
        return cls(stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)


def missing_message(path: Path) -> str:
    """What the dashboard says when there is nothing published at ``path``."""
    return f"No published warehouse yet at {path}: run `make run` first."


class Marts:
    """The queries of one page, all on one connection, so all from one publish."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, info: PublishInfo) -> None:
        self._connection = connection
        self.publish = info

    def frame(self, sql: str, parameters: Sequence[object] = ()) -> pd.DataFrame:
        """Run one query on a fresh cursor and return its rows."""
        cursor = self._connection.cursor()
        try:
            return cursor.execute(sql, list(parameters)).df()
        finally:
            cursor.close()

    def totals(self) -> pd.DataFrame:
        """One row: customers, their sessions, duration (ms) and traffic (bytes)."""
        return self.frame(TOTALS_SQL)

    def load_audit(self) -> pd.DataFrame:
        """One row: records read, loaded, quarantined, unattributed, summed over files."""
        return self.frame(LOAD_AUDIT_SQL)

    def quarantine_by_reason(self) -> pd.DataFrame:
        """One row per quarantine reason: quarantine_reason, record_count."""
        return self.frame(QUARANTINE_BY_REASON_SQL)

    def top_customers(self, metric: str, n: int) -> pd.DataFrame:
        """The N customers with the largest value of ``metric`` (ties by MSISDN).

        N <= 10 is read from top_customers_by_engagement, larger N is computed
        from customer_engagement by the same rule; the columns are the same.
        """
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
        if not 1 <= n <= MAX_TOP_N:
            raise ValueError(f"N must be 1..{MAX_TOP_N}, not {n}")
        sql = TOP_CUSTOMERS_FROM_MART_SQL if n <= MART_TOP_N else TOP_CUSTOMERS_COMPUTED_SQL
        return self.frame(sql, (metric, n))

    def customer(self, msisdn: int) -> pd.DataFrame:
        """The customer's engagement with cluster and level; no rows when unknown."""
        return self.frame(CUSTOMER_SQL, (msisdn,))

    def customer_applications(self, msisdn: int) -> pd.DataFrame:
        """The customer's DL, UL and total bytes per application, in export order."""
        return self.frame(CUSTOMER_APPLICATIONS_SQL, (msisdn,))

    def cluster_summary(self) -> pd.DataFrame:
        """One row per cluster: size, share and min / avg / max of each metric."""
        return self.frame(CLUSTER_SUMMARY_SQL)

    def cluster_model(self) -> pd.DataFrame:
        """The cluster model(s) behind the summary: id, fitted time, clusters."""
        return self.frame(CLUSTER_MODEL_SQL)

    def elbow(self) -> pd.DataFrame:
        """Inertia per k and which k is the elbow."""
        return self.frame(ELBOW_SQL)

    def application_usage(self) -> pd.DataFrame:
        """One row per application, by traffic rank."""
        return self.frame(APPLICATION_USAGE_SQL)

    def top_users(self, application: str) -> pd.DataFrame:
        """The customers with the most traffic of ``application``."""
        return self.frame(TOP_USERS_SQL, (application,))


class PublishedWarehouse:
    """The published file, opened read-only and reopened after each publish.

    One object serves every session of the app (threads); use
    :meth:`snapshot` for each page.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._identity: FileIdentity | None = None
        self._info: PublishInfo | None = None

    @contextmanager
    def snapshot(self) -> Iterator[Marts]:
        """The marts of the file published now, for the queries of one page.

        Raises :class:`WarehouseUnavailableError` when there is no file or it has no
        published marts.
        """
        with self._lock:
            connection, info = self._current()
            yield Marts(connection, info)

    def close(self) -> None:
        """Close the connection (the next snapshot opens the file again)."""
        with self._lock:
            self._close()

    def _current(self) -> tuple[duckdb.DuckDBPyConnection, PublishInfo]:
        """The open connection, reopened first when another file is at the path."""
        try:
            identity = FileIdentity.of(self.path)
        except FileNotFoundError:
            self._close()
            raise WarehouseUnavailableError(missing_message(self.path)) from None
        if self._connection is None or self._info is None or identity != self._identity:
            self._close()
            self._connection, self._info = self._open()
            self._identity = identity
        return self._connection, self._info

    def _open(self) -> tuple[duckdb.DuckDBPyConnection, PublishInfo]:
        try:
            connection = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as error:
            raise WarehouseUnavailableError(
                f"Cannot open {self.path} read-only: {error}".splitlines()[0]
            ) from error
        try:
            info = self._publish_info(connection)
        except BaseException:
            connection.close()
            raise
        return connection, info

    def _publish_info(self, connection: duckdb.DuckDBPyConnection) -> PublishInfo:
        cursor = connection.cursor()
        try:
            (has_info,) = cursor.execute(HAS_PUBLISH_INFO_SQL).fetchone() or (0,)
            rows = cursor.execute(PUBLISH_INFO_SQL).fetchall() if has_info else []
        finally:
            cursor.close()
        if not rows:
            raise WarehouseUnavailableError(
                f"{self.path} has no published marts (no rows in marts.publish_info): "
                "run `make run` first."
            )
        publish_id, published_at, engine, duckdb_version, table_count = rows[0]
        return PublishInfo(str(publish_id), published_at, engine, duckdb_version, table_count)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = self._info = self._identity = None
