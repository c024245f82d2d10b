{{ config(materialized="table") }}

-- One row per customer (MSISDN): sessions, duration and every application's
-- DL/UL summed, in one pass over the sessions. Unattributed sessions (no
-- MSISDN) are left out here and counted in xdr_load_audit.

with

sessions as (
    select * from {{ ref('int_xdr__sessions') }}
    where not is_unattributed
),

final as (
    select
        msisdn,
        cast(count(*) as bigint) as session_count,
        cast(count(bearer_id) as bigint) as sessions_with_bearer_id,
        cast(sum(duration_ms) as bigint) as total_duration_ms,
        cast(sum(total_dl_bytes) as bigint) as total_dl_bytes,
        cast(sum(total_ul_bytes) as bigint) as total_ul_bytes,
        {%- for app in xdr_application_columns() %}
        cast(sum({{ app[1] }}) as bigint) as {{ app[1] }},
        cast(sum({{ app[2] }}) as bigint) as {{ app[2] }},
        {%- endfor %}
        min(started_at) as first_session_started_at,
        max(ended_at) as last_session_ended_at
    from sessions
    group by msisdn
)

select * from final
