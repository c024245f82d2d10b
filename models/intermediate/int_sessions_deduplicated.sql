-- One row per session: a loaded record of the current input, first copy only.

with

records as (
    select * from {{ ref('int_records_current') }}
    where record_status = 'loaded'
),

duplicates as (
    select
        file_id,
        record_number
    from {{ ref('int_records_duplicated') }}
),

final as (
    select
        records.record_hash as session_id,
        records.file_id,
        records.source_file,
        records.record_number,
        records.record_hash,
        records.msisdn,
        records.has_bearer_id,
        records.started_at,
        records.ended_at,
        records.duration_s,
        records.duration_ms,
        records.total_dl_bytes,
        records.total_ul_bytes,
        {%- for app in xdr_application_columns() %}
        records.{{ app[1] }},
        records.{{ app[2] }},
        {%- endfor %}
        records.msisdn is null as is_unattributed
    from records
    left join duplicates
        on records.file_id = duplicates.file_id
        and records.record_number = duplicates.record_number
    where duplicates.record_number is null
)

select * from final
