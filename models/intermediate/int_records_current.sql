-- The loaded records of the file versions in the current input, with their
-- file's path. Versions that were replaced or left the input drop out here.

with

records as (
    select * from {{ ref('int_records_loaded') }}
),

files as (
    select
        file_id,
        source_file
    from {{ ref('stg_xdr__files') }}
    where is_current
),

final as (
    select
        files.source_file,
        records.*
    from records
    inner join files on records.file_id = files.file_id
)

select * from final
