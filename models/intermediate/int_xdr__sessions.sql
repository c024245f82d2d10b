-- One row per session: a loaded xDR record, first copy only.

with

records as (
    select * from {{ ref('int_xdr__records') }}
    where record_status = 'loaded'
),

duplicates as (
    select
        source_file,
        record_number
    from {{ ref('int_xdr__duplicate_records') }}
),

final as (
    select
        records.record_hash as session_id,
        records.source_file,
        records.record_number,
        records.bearer_id,
        records.msisdn,
        records.imsi,
        records.imei,
        records.started_at,
        records.ended_at,
        records.duration_ms,
        records.duration_s,
        records.handset_manufacturer,
        records.handset_type,
        records.total_dl_bytes,
        records.total_ul_bytes,
        {%- for app in xdr_application_columns() %}
        records.{{ app[1] }},
        records.{{ app[2] }},
        {%- endfor %}
        records.msisdn is null as is_unattributed
    from records
    anti join duplicates
        on records.source_file = duplicates.source_file
        and records.record_number = duplicates.record_number
)

select * from final
