{{
    config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="fail",
        pre_hook="{{ xdr_delete_changed('record_hash', 'int_record_hashes_changed') }}",
    )
}}

-- depends_on: {{ ref('int_record_hashes_changed') }}
-- Loaded records whose 55 fields all equal an earlier record's (the same line
-- twice in a file, or a file delivered twice). The first copy by file path and
-- record number stays loaded; the later copies are quarantined as
-- duplicate_record and kept here with their fields, so that totals can take them
-- out. Incremental: only the fingerprints of the records this build adds or
-- removes are looked at again (the fingerprint column of the stored records is
-- read; no record is read twice).

with

records as {{ xdr_inline_cte() }} (
    select * from {{ ref('int_records_current') }}
    where record_status = 'loaded'
        {{ xdr_only_changed('record_hash', 'int_record_hashes_changed') }}
),

repeated_hashes as (
    select record_hash
    from records
    group by record_hash
    having count(*) > 1
),

copies as (
    select
        records.*,
        row_number() over (
            partition by records.record_hash
            order by records.source_file, records.record_number
        ) as copy_number,
        first_value(records.source_file) over (
            partition by records.record_hash
            order by records.source_file, records.record_number
        ) as first_source_file,
        first_value(records.record_number) over (
            partition by records.record_hash
            order by records.source_file, records.record_number
        ) as first_record_number
    from records
    inner join repeated_hashes on records.record_hash = repeated_hashes.record_hash
),

final as (
    select
        file_id,
        source_file,
        record_number,
        line_number,
        record_hash,
        first_source_file,
        first_record_number,
        msisdn,
        has_bearer_id,
        duration_ms,
        {%- for app in xdr_application_columns() %}
        {{ app[1] }},
        {{ app[2] }},
        {%- endfor %}
        total_ul_bytes,
        total_dl_bytes
    from copies
    where copy_number > 1
)

select * from final
