-- Ad-hoc audit: quarantined records per file and reason, with one example each.
-- Compile with `dbt compile --select quarantine_by_reason`, or run the compiled SQL.

with

quarantined as (
    select * from {{ ref('xdr_quarantined_records') }}
),

final as (
    select
        source_file,
        quarantine_reason,
        count(*) as record_count,
        min(coalesce(line_number, record_number)) as first_position,
        arg_min(quarantine_detail, coalesce(line_number, record_number)) as first_detail
    from quarantined
    group by source_file, quarantine_reason
    order by source_file asc, record_count desc
)

select * from final
