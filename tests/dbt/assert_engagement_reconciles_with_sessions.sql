-- Customer totals plus the unattributed part equal the totals over all loaded
-- sessions, for sessions, duration and traffic: the customer side summed from
-- customer_engagement, the session side from the per-file-version totals less
-- the duplicate copies (two independent paths, both aggregates, so the check
-- reads no record). Returns the mismatches.

with

customers as (
    select
        {{ xdr_exact_total('session_count') }} as sessions,
        {{ xdr_exact_total('total_duration_ms') }} as duration_ms,
        {{ xdr_exact_total('total_traffic_bytes') }} as traffic_bytes
    from {{ ref('customer_engagement') }}
),

unattributed as (
    select
        {{ xdr_exact_total('unattributed_record_count') }} as sessions,
        {{ xdr_exact_total('unattributed_duration_ms') }} as duration_ms,
        {{ xdr_exact_total('unattributed_traffic_bytes') }} as traffic_bytes
    from {{ ref('xdr_load_audit') }}
),

loaded as (
    select
        {{ xdr_exact_total('totals.loaded_record_count') }} as sessions,
        {{ xdr_exact_total('totals.duration_ms') }} as duration_ms,
        {{ xdr_exact_total('totals.total_dl_bytes + totals.total_ul_bytes') }} as traffic_bytes
    from {{ ref('int_file_version_totals') }} as totals
    inner join {{ ref('stg_xdr__files') }} as files on totals.file_id = files.file_id
    where files.is_current
),

duplicated as (
    select
        cast(count(*) as decimal(38, 0)) as sessions,
        {{ xdr_exact_total('duration_ms') }} as duration_ms,
        {{ xdr_exact_total('total_dl_bytes + total_ul_bytes') }} as traffic_bytes
    from {{ ref('int_records_duplicated') }}
),

compared as (
    {%- for metric in ["sessions", "duration_ms", "traffic_bytes"] %}
    select
        {{ xdr_string_literal(metric) }} as metric,
        customers.{{ metric }} as customers_total,
        unattributed.{{ metric }} as unattributed_total,
        loaded.{{ metric }} - duplicated.{{ metric }} as sessions_total
    from customers
    cross join unattributed
    cross join loaded
    cross join duplicated
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

final as (
    select *
    from compared
    where customers_total + unattributed_total <> sessions_total
)

select * from final
