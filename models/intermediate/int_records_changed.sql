-- The loaded records of the file versions this build adds or removes, with the
-- change: what every incremental model takes its keys from.

with

records as (
    select * from {{ ref('int_records_loaded') }}
    where record_status = 'loaded'
),

changes as (
    select * from {{ ref('int_file_versions_changed') }}
),

final as (
    select
        changes.change_type,
        records.*
    from records
    inner join changes on records.file_id = changes.file_id
)

select * from final
