-- One row per file of the current input: records read = loaded + quarantined,
-- the quarantined records by reason, the re-encoded ones, and the loaded
-- sessions no customer can be given.

{%- set reasons = xdr_quarantine_reasons() %}
{%- set named_dl = [] %}
{%- set every_ul = [] %}
{%- for app in xdr_application_columns() %}
    {%- if app[0] != "other" %}{% do named_dl.append(app[1]) %}{% endif %}
    {%- do every_ul.append(app[2]) %}
{%- endfor %}

with

files as (
    select * from {{ ref('stg_xdr__files') }}
    where is_current
),

records as (
    select * from {{ ref('int_records_current') }}
),

sessions as (
    select * from {{ ref('int_sessions_deduplicated') }}
),

quarantine as (
    select * from {{ ref('xdr_quarantined_records') }}
),

read_counts as (
    select
        file_id,
        count(*) as read_record_count,
        count(case when is_text_reencoded then 1 end) as text_reencoded_count
    from records
    group by file_id
),

quarantine_counts as (
    select
        source_file,
        count(*) as quarantined_record_count,
        {%- for reason in reasons %}
        count(case when quarantine_reason = {{ xdr_string_literal(reason) }} then 1 end)
            as {{ reason }}_count{{ "," if not loop.last }}
        {%- endfor %}
    from quarantine
    group by source_file
),

session_counts as (
    select
        file_id,
        count(*) as loaded_record_count,
        count(case when is_unattributed then 1 end) as unattributed_record_count,
        sum(case when is_unattributed then total_dl_bytes + total_ul_bytes end)
            as unattributed_traffic_bytes,
        sum(case when is_unattributed then duration_ms end) as unattributed_duration_ms,
        count(case when not has_bearer_id then 1 end) as no_bearer_id_record_count,
        count(
            case
                when total_dl_bytes <> {{ named_dl | join(" + ") }}
                    or total_ul_bytes <> {{ every_ul | join(" + ") }}
                    then 1
            end
        ) as total_identity_mismatch_count
    from sessions
    group by file_id
),

final as (
    select
        files.source_file,
        files.file_name,
        files.file_format,
        files.size_bytes,
        files.modified_at,
        cast(coalesce(read_counts.read_record_count, 0) as bigint) as read_record_count,
        cast(coalesce(session_counts.loaded_record_count, 0) as bigint) as loaded_record_count,
        cast(coalesce(quarantine_counts.quarantined_record_count, 0) as bigint)
            as quarantined_record_count,
        {%- for reason in reasons %}
        cast(coalesce(quarantine_counts.{{ reason }}_count, 0) as bigint) as {{ reason }}_count,
        {%- endfor %}
        cast(coalesce(read_counts.text_reencoded_count, 0) as bigint) as text_reencoded_count,
        cast(coalesce(session_counts.unattributed_record_count, 0) as bigint)
            as unattributed_record_count,
        cast(coalesce(session_counts.unattributed_traffic_bytes, 0) as bigint)
            as unattributed_traffic_bytes,
        cast(coalesce(session_counts.unattributed_duration_ms, 0) as bigint)
            as unattributed_duration_ms,
        cast(coalesce(session_counts.no_bearer_id_record_count, 0) as bigint)
            as no_bearer_id_record_count,
        cast(coalesce(session_counts.total_identity_mismatch_count, 0) as bigint)
            as total_identity_mismatch_count,
        files.unknown_columns
    from files
    left join read_counts on files.file_id = read_counts.file_id
    left join quarantine_counts on files.source_file = quarantine_counts.source_file
    left join session_counts on files.file_id = session_counts.file_id
)

select * from final
