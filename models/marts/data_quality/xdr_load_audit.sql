-- One row per file of the current input: records read = loaded + quarantined,
-- the quarantined records by reason, the re-encoded ones, and the loaded
-- sessions no customer can be given. Built from the per-file-version totals
-- (computed once, when a version is loaded), the duplicate copies and the
-- unattributed sessions, so no record is read again.

{%- set reasons = xdr_quarantine_reasons() %}
{%- set named_dl = xdr_total_dl_parts() %}
{%- set every_ul = xdr_total_ul_parts() %}

with

files as (
    select * from {{ ref('stg_xdr__files') }}
    where is_current
),

version_totals as (
    select * from {{ ref('int_file_version_totals') }}
),

duplicates as (
    select * from {{ ref('int_records_duplicated') }}
),

unattributed as (
    select * from {{ ref('int_sessions_unattributed') }}
),

duplicate_counts as (
    select
        file_id,
        count(*) as duplicate_record_count,
        count(case when not has_bearer_id then 1 end) as no_bearer_id_record_count,
        count(
            case
                when total_dl_bytes <> {{ named_dl | join(" + ") }}
                    or total_ul_bytes <> {{ every_ul | join(" + ") }}
                    then 1
            end
        ) as total_identity_mismatch_count
    from duplicates
    group by file_id
),

unattributed_counts as (
    select
        file_id,
        count(*) as unattributed_record_count,
        sum(total_dl_bytes + total_ul_bytes) as unattributed_traffic_bytes,
        sum(duration_ms) as unattributed_duration_ms
    from unattributed
    group by file_id
),

final as (
    select
        files.source_file,
        files.file_name,
        files.file_format,
        files.size_bytes,
        files.modified_at,
        cast(coalesce(version_totals.read_record_count, 0) as bigint) as read_record_count,
        cast(
            coalesce(version_totals.loaded_record_count, 0)
            - coalesce(duplicate_counts.duplicate_record_count, 0) as bigint
        ) as loaded_record_count,
        cast(
            coalesce(version_totals.read_record_count, 0)
            - coalesce(version_totals.loaded_record_count, 0)
            + coalesce(duplicate_counts.duplicate_record_count, 0) as bigint
        ) as quarantined_record_count,
        {%- for reason in reasons %}
        {%- if reason == "duplicate_record" %}
        cast(coalesce(duplicate_counts.duplicate_record_count, 0) as bigint)
            as duplicate_record_count,
        {%- else %}
        cast(coalesce(version_totals.{{ reason }}_count, 0) as bigint) as {{ reason }}_count,
        {%- endif %}
        {%- endfor %}
        cast(coalesce(version_totals.text_reencoded_count, 0) as bigint) as text_reencoded_count,
        cast(coalesce(unattributed_counts.unattributed_record_count, 0) as bigint)
            as unattributed_record_count,
        cast(coalesce(unattributed_counts.unattributed_traffic_bytes, 0) as bigint)
            as unattributed_traffic_bytes,
        cast(coalesce(unattributed_counts.unattributed_duration_ms, 0) as bigint)
            as unattributed_duration_ms,
        cast(
            coalesce(version_totals.no_bearer_id_record_count, 0)
            - coalesce(duplicate_counts.no_bearer_id_record_count, 0) as bigint
        ) as no_bearer_id_record_count,
        cast(
            coalesce(version_totals.total_identity_mismatch_count, 0)
            - coalesce(duplicate_counts.total_identity_mismatch_count, 0) as bigint
        ) as total_identity_mismatch_count,
        files.unknown_columns
    from files
    left join version_totals on files.file_id = version_totals.file_id
    left join duplicate_counts on files.file_id = duplicate_counts.file_id
    left join unattributed_counts on files.file_id = unattributed_counts.file_id
)

select * from final
