-- Customer totals plus the unattributed part equal the totals over all loaded
-- sessions, for sessions, duration and traffic. Returns the mismatches.

with

customers as (
    select
        cast(coalesce(sum(session_count), 0) as hugeint) as sessions,
        cast(coalesce(sum(total_duration_ms), 0) as hugeint) as duration_ms,
        cast(coalesce(sum(total_traffic_bytes), 0) as hugeint) as traffic_bytes
    from {{ ref('customer_engagement') }}
),

unattributed as (
    select
        cast(coalesce(sum(unattributed_record_count), 0) as hugeint) as sessions,
        cast(coalesce(sum(unattributed_duration_ms), 0) as hugeint) as duration_ms,
        cast(coalesce(sum(unattributed_traffic_bytes), 0) as hugeint) as traffic_bytes
    from {{ ref('xdr_load_audit') }}
),

sessions as (
    select
        cast(count(*) as hugeint) as sessions,
        cast(coalesce(sum(duration_ms), 0) as hugeint) as duration_ms,
        cast(coalesce(sum(total_dl_bytes + total_ul_bytes), 0) as hugeint) as traffic_bytes
    from {{ ref('int_sessions_deduplicated') }}
),

compared as (
    {%- for metric in ["sessions", "duration_ms", "traffic_bytes"] %}
    select
        '{{ metric }}' as metric,
        customers.{{ metric }} as customers_total,
        unattributed.{{ metric }} as unattributed_total,
        sessions.{{ metric }} as sessions_total
    from customers, unattributed, sessions
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select *
from compared
where customers_total + unattributed_total <> sessions_total
