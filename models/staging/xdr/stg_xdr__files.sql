-- One row per version of an input file: its format, header layout and whether
-- it is part of the current input.

with

files as (
    select * from {{ source('xdr', 'files') }}
),

final as (
    select
        file_id,
        source_file,
        file_name,
        file_format,
        size_bytes,
        modified_at,
        file_signature,
        field_count,
        unknown_columns,
        reader,
        record_count,
        ingested_at,
        is_current
    from files
)

select * from final
