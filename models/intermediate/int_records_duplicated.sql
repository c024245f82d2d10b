{{ config(materialized="table") }}

-- Loaded records whose fields all equal an earlier record's (the same line
-- twice in a file, or a file delivered twice). The first copy by file path and
-- record number stays loaded; the later copies are quarantined as
-- duplicate_record.

with

records as (
    select
        file_id,
        source_file,
        record_number,
        line_number,
        record_hash
    from {{ ref('int_records_current') }}
    where record_status = 'loaded'
),

repeated_hashes as (
    select record_hash
    from records
    group by record_hash
    having count(*) > 1
),

copies as (
    select
        records.file_id,
        records.source_file,
        records.record_number,
        records.line_number,
        records.record_hash,
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
        first_record_number
    from copies
    where copy_number > 1
)

select * from final
