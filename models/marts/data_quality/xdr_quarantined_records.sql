-- One row per input record that was not loaded, with the reason: lines that
-- are not a record, the export's summary row, invalid or impossible values,
-- and exact duplicates of a record already loaded.

with

records as (
    select * from {{ ref('int_records_current') }}
),

duplicates as (
    select * from {{ ref('int_records_duplicated') }}
),

quarantined as (
    select
        source_file,
        record_number,
        line_number,
        quarantine_reason,
        quarantine_detail,
        raw_line
    from records
    where record_status = 'quarantined'
),

duplicated as (
    select
        source_file,
        record_number,
        line_number,
        'duplicate_record' as quarantine_reason,
        'same fields as record ' || cast(first_record_number as {{ dbt.type_string() }})
            || ' of ' || first_source_file as quarantine_detail,
        cast(null as {{ dbt.type_string() }}) as raw_line
    from duplicates
),

final as (
    select * from quarantined
    union all
    select * from duplicated
)

select * from final
