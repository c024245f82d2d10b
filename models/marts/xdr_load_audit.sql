-- One row per input file: records read = loaded + quarantined, the quarantined
-- records by reason, and the loaded sessions no customer can be given.

{%- set reasons = [
    "summary_row", "malformed_line", "invalid_value", "missing_value",
    "negative_value", "percent_out_of_range", "end_before_start", "duplicate_record",
] %}

with

files as (
    select * from {{ ref('stg_xdr__files') }}
),

records as (
    select * from {{ ref('int_xdr__records') }}
),

sessions as (
    select * from {{ ref('int_xdr__sessions') }}
),

quarantine as (
    select * from {{ ref('xdr_quarantined_records') }}
),

read_counts as (
    select
        source_file,
        count(*) as records_read
    from records
    group by source_file
),

quarantine_counts as (
    select
        source_file,
        count(*) as records_quarantined,
        {%- for reason in reasons %}
        count(*) filter (where quarantine_reason = '{{ reason }}') as {{ reason }}_records
        {{- "," if not loop.last }}
        {%- endfor %}
    from quarantine
    group by source_file
),

session_counts as (
    select
        source_file,
        count(*) as records_loaded,
        count(*) filter (where is_unattributed) as unattributed_records,
        sum(total_dl_bytes + total_ul_bytes) filter (where is_unattributed)
            as unattributed_traffic_bytes,
        sum(duration_ms) filter (where is_unattributed) as unattributed_duration_ms,
        count(*) filter (where bearer_id is null) as records_without_bearer_id,
        count(*) filter (
            where total_dl_bytes <> {% for app in xdr_application_columns() if app[0] != "other" -%}
                {{ app[1] }}{{ " + " if not loop.last }}
            {%- endfor %}
            or total_ul_bytes <> {% for app in xdr_application_columns() -%}
                {{ app[2] }}{{ " + " if not loop.last }}
            {%- endfor %}
        ) as total_identity_mismatches
    from sessions
    group by source_file
),

final as (
    select
        files.source_file,
        files.file_name,
        files.file_format,
        files.size_bytes,
        files.modified_at,
        cast(coalesce(read_counts.records_read, 0) as bigint) as records_read,
        cast(coalesce(session_counts.records_loaded, 0) as bigint) as records_loaded,
        cast(coalesce(quarantine_counts.records_quarantined, 0) as bigint)
            as records_quarantined,
        {%- for reason in reasons %}
        cast(coalesce(quarantine_counts.{{ reason }}_records, 0) as bigint)
            as {{ reason }}_records,
        {%- endfor %}
        cast(coalesce(session_counts.unattributed_records, 0) as bigint) as unattributed_records,
        cast(coalesce(session_counts.unattributed_traffic_bytes, 0) as bigint)
            as unattributed_traffic_bytes,
        cast(coalesce(session_counts.unattributed_duration_ms, 0) as bigint)
            as unattributed_duration_ms,
        cast(coalesce(session_counts.records_without_bearer_id, 0) as bigint)
            as records_without_bearer_id,
        cast(coalesce(session_counts.total_identity_mismatches, 0) as bigint)
            as total_identity_mismatches,
        files.unknown_columns
    from files
    left join read_counts on files.source_file = read_counts.source_file
    left join quarantine_counts on files.source_file = quarantine_counts.source_file
    left join session_counts on files.source_file = session_counts.source_file
)

select * from final
