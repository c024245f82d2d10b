{{
    config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="fail",
        pre_hook="{{ xdr_delete_unfinished_load() }}",
        post_hook=[{"sql": "{{ xdr_finish_load() }}", "transaction": false}],
    )
}}

-- Every record of every file version loaded so far, with its outcome and the
-- fields the marts use. Incremental: a build reads only the file versions of
-- the current input that are not loaded yet (xdr_pending_file_ids), so each file
-- is read once; a changed file is a new version, read once more. Rows of
-- versions that left the input stay here and drop out downstream
-- (int_records_current). The other fields are checked in stg_xdr__records but
-- not stored: at 100 million records each stored column costs minutes.

{%- set pending = xdr_pending_file_ids() %}
{%- set line = xdr_line_columns() %}

with

records as (
    select * from {{ ref('stg_xdr__records') }}
    where file_id in ({{ pending | join(', ') if pending else 'null' }})
),

final as (
    select
        file_id,
        record_number,
        {{ line.number }} as line_number,
        record_hash,
        record_status,
        quarantine_reason,
        {{ line.detail }} as quarantine_detail,
        case when record_status = 'quarantined' then {{ line.raw_line }} end as raw_line,
        {{ line.reencoded }} as is_text_reencoded,
        msisdn,
        bearer_id is not null as has_bearer_id,
        started_at,
        ended_at,
        duration_s,
        duration_ms,
        {%- for app in xdr_application_columns() %}
        {{ app[1] }},
        {{ app[2] }},
        {%- endfor %}
        total_ul_bytes,
        total_dl_bytes
    from records{{ line.joins }}
)

select * from final
