-- One row per input record that was not loaded, with the reason: the export's
-- summary row, lines the CSV reader could not parse, invalid or impossible
-- values, and exact duplicates of a record already loaded.

with

records as (
    select * from {{ ref('int_xdr__records') }}
),

duplicates as (
    select * from {{ ref('int_xdr__duplicate_records') }}
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
        'same text as record ' || first_record_number || ' of ' || first_source_file
            as quarantine_detail,
        cast(null as varchar) as raw_line
    from duplicates
),

final as (
    select * from quarantined
    union all
    select * from duplicated
)

select * from final
