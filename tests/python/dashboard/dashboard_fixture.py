"""A small published warehouse that follows BI contract v2, for the dashboard tests.

:func:`build_fixture_warehouse` writes a DuckDB file with schema ``marts``: the
ten public tables with the contract's column names and types, filled with
synthetic but consistent rows made by DuckDB SQL (pseudo-random numbers from
``hash``, so the same seed gives the same file), and ``marts.publish_info``.
Consistent means the marts agree as the real build's tests demand: customer
totals are the sums of their application traffic, the top-N marts rank
customer_engagement, the cluster summary summarises customer_clusters, the
audit's loaded sessions minus the unattributed ones equal the customers'
sessions, and so on. The file is finished under a temporary name and renamed
into place, like a publish.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

#: The seven applications in export order, with a mean DL and UL per session (bytes).
APPLICATIONS: tuple[tuple[str, int, int], ...] = (
    ("Social Media", 1_800_000, 33_000),
    ("Google", 5_800_000, 2_000_000),
    ("Email", 1_800_000, 470_000),
    ("Youtube", 11_600_000, 11_000_000),
    ("Netflix", 11_600_000, 11_000_000),
    ("Gaming", 422_000_000, 8_300_000),
    ("Other", 421_000_000, 8_300_000),
)
QUARANTINE_REASONS: tuple[str, ...] = (
    "summary_row",
    "malformed_line",
    "invalid_value",
    "missing_value",
    "negative_value",
    "percent_out_of_range",
    "end_before_start",
    "duplicate_record",
)
#: Quarantined records per reason for the two input files of the audit.
QUARANTINED: dict[str, tuple[int, ...]] = {
    "xdr_part1.csv": (1, 2, 1, 3, 0, 1, 1, 2),
    "xdr_part2.parquet": (0, 0, 0, 1, 2, 0, 0, 1),
}

DDL = """
create schema marts;

create table marts.customer_engagement (
    msisdn bigint not null, session_count bigint not null,
    bearer_id_session_count bigint not null, total_duration_ms bigint not null,
    total_dl_bytes bigint not null, total_ul_bytes bigint not null,
    total_traffic_bytes bigint not null, first_session_started_at timestamp,
    last_session_ended_at timestamp
);
create table marts.top_customers_by_engagement (
    metric varchar, rank integer, tie_rank integer, msisdn bigint, metric_value bigint,
    same_value_customer_count bigint, is_tied boolean
);
create table marts.customer_clusters (
    msisdn bigint, cluster_id integer, engagement_level varchar, scaled_session_count double,
    scaled_total_duration_ms double, scaled_total_traffic_bytes double, scaler varchar,
    cluster_model_id varchar
);
create table marts.engagement_cluster_summary (
    cluster_id integer, engagement_level varchar, metric varchar, min_value bigint,
    max_value bigint, avg_value double, total_value bigint, customer_count bigint,
    customer_share double, cluster_model_id varchar, model_fitted_at timestamp
);
create table marts.engagement_elbow (
    k integer, inertia double, is_elbow boolean, elbow_method varchar, sample_size bigint,
    customer_count bigint, distinct_point_count bigint, scaler varchar, seed bigint
);
create table marts.customer_application_traffic (
    msisdn bigint, application varchar, dl_bytes bigint, ul_bytes bigint, total_bytes bigint
);
create table marts.top_users_by_application (
    application varchar, rank integer, tie_rank integer, msisdn bigint, dl_bytes bigint,
    ul_bytes bigint, total_bytes bigint
);
create table marts.application_usage (
    application varchar, display_order integer, total_dl_bytes bigint, total_ul_bytes bigint,
    total_bytes bigint, unattributed_bytes bigint, user_count bigint, session_count bigint,
    traffic_share double, usage_rank integer, is_top_application boolean
);
create table marts.xdr_load_audit (
    source_file varchar, file_name varchar, file_format varchar, size_bytes bigint,
    modified_at timestamp, read_record_count bigint, loaded_record_count bigint,
    quarantined_record_count bigint, summary_row_count bigint, malformed_line_count bigint,
    invalid_value_count bigint, missing_value_count bigint, negative_value_count bigint,
    percent_out_of_range_count bigint, end_before_start_count bigint,
    duplicate_record_count bigint, text_reencoded_count bigint,
    unattributed_record_count bigint, unattributed_traffic_bytes bigint,
    unattributed_duration_ms bigint, no_bearer_id_record_count bigint,
    total_identity_mismatch_count bigint, unknown_columns varchar[]
);
create table marts.xdr_quarantined_records (
    source_file varchar, record_number bigint, line_number bigint, quarantine_reason varchar,
    quarantine_detail varchar, raw_line varchar
);
create table marts.publish_info (
    publish_id varchar, published_at_utc timestamp, source_build_db varchar,
    table_name varchar, row_count bigint, column_count bigint, checksum varchar,
    duckdb_version varchar, engine varchar
);
"""

# Synthetic rows. getvariable: customers, seed, unattributed (sessions without an
# MSISDN), fitted_at. rnd(i, salt) is uniform in [0, 1), fixed by the seed.
ROWS = """
create temp macro rnd(i, salt) as
    (hash(i, salt, getvariable('seed')) % 1000000) / 1000000.0;

create temp table customers as
select
    i,
    33600000000 + i * 7919 + cast(rnd(i, 'id') * 7 as bigint) as msisdn,
    cast(1 + floor(-ln(1 - rnd(i, 'sessions')) * 2.5)
        + case when rnd(i, 'heavy') < 0.03 then 25 else 0 end as bigint) as session_count,
    case when rnd(i, 'bearer') < 0.05 then 1 else 0 end as no_bearer_id_sessions,
    3600000 * (0.5 + rnd(i, 'duration') * 40) as ms_per_session,
    timestamp '2019-04-04 00:00:00' + to_seconds(cast(rnd(i, 'start') * 86400 * 20 as bigint))
        as first_session_started_at
from range(getvariable('customers')) as t(i);

insert into marts.customer_application_traffic
select
    customers.msisdn,
    apps.application,
    cast(customers.session_count * apps.dl_mean
        * (0.2 + 1.6 * rnd(customers.i, apps.application || 'dl')) as bigint) as dl_bytes,
    cast(customers.session_count * apps.ul_mean
        * (0.2 + 1.6 * rnd(customers.i, apps.application || 'ul')) as bigint) as ul_bytes,
    dl_bytes + ul_bytes as total_bytes
from customers
cross join fixture_applications as apps
order by customers.msisdn, apps.display_order;

insert into marts.customer_engagement
with traffic as (
    select
        msisdn,
        sum(dl_bytes) filter (where application <> 'Other') as total_dl_bytes,
        sum(ul_bytes) as total_ul_bytes
    from marts.customer_application_traffic
    group by msisdn
),
engagement as (
    select
        customers.msisdn,
        customers.session_count,
        greatest(customers.session_count - customers.no_bearer_id_sessions, 0)
            as bearer_id_session_count,
        cast(customers.session_count * customers.ms_per_session as bigint) as total_duration_ms,
        traffic.total_dl_bytes,
        traffic.total_ul_bytes,
        customers.first_session_started_at
    from customers
    inner join traffic on customers.msisdn = traffic.msisdn
)
select
    msisdn, session_count, bearer_id_session_count, total_duration_ms, total_dl_bytes,
    total_ul_bytes, total_dl_bytes + total_ul_bytes, first_session_started_at,
    first_session_started_at + to_milliseconds(total_duration_ms)
from engagement
order by msisdn;

insert into marts.top_customers_by_engagement
with customer_values as (
    select 'sessions' as metric, msisdn, session_count as metric_value
    from marts.customer_engagement
    union all
    select 'duration_ms', msisdn, total_duration_ms from marts.customer_engagement
    union all
    select 'traffic_bytes', msisdn, total_traffic_bytes from marts.customer_engagement
),
ranked as (
    select
        metric,
        row_number() over (partition by metric order by metric_value desc, msisdn) as rank,
        rank() over (partition by metric order by metric_value desc) as tie_rank,
        msisdn,
        metric_value,
        count(*) over (partition by metric, metric_value) as same_value_customer_count
    from customer_values
)
select *, same_value_customer_count > 1 from ranked where rank <= 10
order by metric, rank;

insert into marts.customer_clusters
with scaled as (
    select
        msisdn,
        (session_count - avg(session_count) over ()) / stddev_pop(session_count) over ()
            as scaled_session_count,
        (total_duration_ms - avg(total_duration_ms) over ())
            / stddev_pop(total_duration_ms) over () as scaled_total_duration_ms,
        (total_traffic_bytes - avg(total_traffic_bytes) over ())
            / stddev_pop(total_traffic_bytes) over () as scaled_total_traffic_bytes
    from marts.customer_engagement
),
labelled as (
    select
        *,
        case
            when scaled_session_count + scaled_total_duration_ms + scaled_total_traffic_bytes < -1
                then 0
            when scaled_session_count + scaled_total_duration_ms + scaled_total_traffic_bytes < 2
                then 1
            else 2
        end as cluster_id
    from scaled
)
select
    msisdn,
    cluster_id,
    ['low', 'medium', 'high'][cluster_id + 1],
    scaled_session_count,
    scaled_total_duration_ms,
    scaled_total_traffic_bytes,
    'zscore',
    'kmeans-k3-zscore-seed' || getvariable('seed')
from labelled
order by msisdn;

insert into marts.engagement_cluster_summary
with metric_values as (
    select clusters.cluster_id, clusters.engagement_level, clusters.cluster_model_id,
        unnest(['sessions', 'duration_ms', 'traffic_bytes']) as metric,
        unnest([engagement.session_count, engagement.total_duration_ms,
            engagement.total_traffic_bytes]) as metric_value
    from marts.customer_clusters as clusters
    inner join marts.customer_engagement as engagement on clusters.msisdn = engagement.msisdn
)
select
    cluster_id, engagement_level, metric,
    min(metric_value), max(metric_value), avg(metric_value), sum(metric_value), count(*),
    count(*) / sum(count(*)) over (partition by metric),
    cluster_model_id, getvariable('fitted_at')
from metric_values
group by cluster_id, engagement_level, metric, cluster_model_id
order by cluster_id, metric;

insert into marts.engagement_elbow
select
    k,
    3.0 * getvariable('customers') * (0.08 + 0.92 / pow(k, 1.6)),
    k = 3,
    'kneedle',
    getvariable('customers'),
    getvariable('customers'),
    10,
    'zscore',
    getvariable('seed')
from range(1, 11) as t(k);

insert into marts.top_users_by_application
with ranked as (
    select
        application,
        row_number() over (partition by application order by total_bytes desc, msisdn) as rank,
        rank() over (partition by application order by total_bytes desc) as tie_rank,
        msisdn, dl_bytes, ul_bytes, total_bytes
    from marts.customer_application_traffic
)
select * from ranked where rank <= 10 order by application, rank;

insert into marts.application_usage
with usage as (
    select
        apps.application,
        apps.display_order,
        sum(traffic.dl_bytes) + getvariable('unattributed') * apps.dl_mean as total_dl_bytes,
        sum(traffic.ul_bytes) + getvariable('unattributed') * apps.ul_mean as total_ul_bytes,
        getvariable('unattributed') * (apps.dl_mean + apps.ul_mean) as unattributed_bytes,
        count(*) filter (where traffic.total_bytes > 0) as user_count
    from fixture_applications as apps
    inner join marts.customer_application_traffic as traffic
        on apps.application = traffic.application
    group by apps.application, apps.display_order, apps.dl_mean, apps.ul_mean
)
select
    application, display_order, total_dl_bytes, total_ul_bytes,
    total_dl_bytes + total_ul_bytes as total_bytes, unattributed_bytes, user_count,
    (select sum(session_count) from marts.customer_engagement) + getvariable('unattributed'),
    total_bytes / sum(total_bytes) over (),
    row_number() over (order by total_bytes desc, display_order) as usage_rank,
    usage_rank <= 3
from usage
order by display_order;

insert into marts.xdr_load_audit
with sessions as (
    select
        sum(session_count) + getvariable('unattributed') as loaded,
        sum(session_count - bearer_id_session_count) as no_bearer_id
    from marts.customer_engagement
),
files as (
    select
        file_name, file_number, counts,
        list_sum(counts) as quarantined,
        case when file_number = 1
            then cast(sessions.loaded * 0.6 as bigint)
            else sessions.loaded - cast(sessions.loaded * 0.6 as bigint)
        end as loaded,
        sessions.no_bearer_id
    from fixture_quarantine_counts
    cross join sessions
)
select
    '/data/xdr/' || file_name,
    file_name,
    case when file_name like '%.csv' then 'csv' else 'parquet' end,
    1000 * (loaded + quarantined),
    timestamp '2019-05-01 08:00:00',
    loaded + quarantined,
    loaded,
    quarantined,
    counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7], counts[8],
    case when file_number = 1 then 4 else 0 end,
    case when file_number = 1 then getvariable('unattributed') else 0 end,
    case when file_number = 1
        then (select sum(unattributed_bytes) from marts.application_usage) else 0 end,
    case when file_number = 1 then getvariable('unattributed') * 7200000 else 0 end,
    case when file_number = 1 then no_bearer_id else 0 end,
    0,
    case when file_number = 1 then [] else ['Extra Column'] end
from files
order by file_number;

insert into marts.xdr_quarantined_records
with reasons as (
    select
        file_name,
        unnest(getvariable('reasons')) as quarantine_reason,
        unnest(range(len(counts))) as reason_number,
        unnest(counts) as record_count
    from fixture_quarantine_counts
)
select
    '/data/xdr/' || file_name,
    case when quarantine_reason = 'malformed_line' then null else 1000 * reason_number + n end,
    case when quarantine_reason = 'malformed_line' then 2000 + n else null end,
    quarantine_reason,
    'synthetic ' || quarantine_reason,
    case when quarantine_reason = 'malformed_line' then 'broken,"line' else null end
from reasons
cross join lateral (select unnest(range(record_count)) as n)
order by all;
"""


@dataclass(frozen=True)
class FixturePublish:
    """What one fixture file holds: its size, seed and publish."""

    customers: int = 300
    seed: int = 7
    publish_id: str = "20260115T101500Z"
    published_at_utc: datetime = datetime(2026, 1, 15, 10, 15, 0)
    engine: str = "duckdb"
    unattributed_sessions: int = 4


def build_fixture_warehouse(path: Path, spec: FixturePublish | None = None) -> Path:
    """Write a published file at ``path`` (renamed into place) and return ``path``."""
    spec = spec or FixturePublish()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    with duckdb.connect(str(temporary)) as con:
        con.execute(DDL)
        con.execute(f"set variable customers = {int(spec.customers)}")
        con.execute(f"set variable seed = {int(spec.seed)}")
        con.execute(f"set variable unattributed = {int(spec.unattributed_sessions)}")
        con.execute("set variable fitted_at = ?::timestamp", [spec.published_at_utc])
        con.execute("set variable reasons = ?::varchar[]", [list(QUARANTINE_REASONS)])
        con.execute(
            "create temp table fixture_applications as "
            "select * from (values "
            + ", ".join("(?, ?, ?::bigint, ?::bigint)" for _ in APPLICATIONS)
            + ") as t(application, display_order, dl_mean, ul_mean)",
            [
                v
                for order, (app, dl, ul) in enumerate(APPLICATIONS, 1)
                for v in (app, order, dl, ul)
            ],
        )
        con.execute(
            "create temp table fixture_quarantine_counts as "
            "select * from (values (?, 1, ?::bigint[]), (?, 2, ?::bigint[])) "
            "as t(file_name, file_number, counts)",
            [v for name, counts in QUARANTINED.items() for v in (name, list(counts))],
        )
        con.execute(ROWS)
        write_publish_info(con, spec)
    os.replace(temporary, path)
    return path


def write_publish_info(con: duckdb.DuckDBPyConnection, spec: FixturePublish) -> None:
    """One marts.publish_info row per table, with its real row and column counts."""
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_name <> 'publish_info' order by table_name"
        ).fetchall()
    ]
    for table in tables:
        (rows, checksum) = con.execute(
            f"select count(*), cast(coalesce(sum(hash(t)), 0) as varchar) from marts.{table} as t"
        ).fetchone()
        (columns,) = con.execute(
            "select count(*) from information_schema.columns "
            "where table_schema = 'marts' and table_name = ?",
            [table],
        ).fetchone()
        con.execute(
            "insert into marts.publish_info values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                spec.publish_id,
                spec.published_at_utc,
                "/work/warehouse/build.duckdb",
                table,
                rows,
                columns,
                checksum,
                duckdb.__version__,
                spec.engine,
            ],
        )
