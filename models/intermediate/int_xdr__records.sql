-- Every staged record of the files in the current input (stg_xdr__files), at
-- the file version currently there. Staged rows of files that left the input
-- folder stay in stg_xdr__records but drop out of every mart.

with

records as (
    select * from {{ ref('stg_xdr__records') }}
),

files as (
    select
        source_file,
        file_signature
    from {{ ref('stg_xdr__files') }}
),

final as (
    select records.*
    from records
    semi join files
        on records.source_file = files.source_file
        and records.file_signature = files.file_signature
)

select * from final
