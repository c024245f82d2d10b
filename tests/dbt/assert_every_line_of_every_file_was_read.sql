-- Nothing is lost between a file and the warehouse: for every file version
-- this build adds, the records stored equal the data lines (text) or rows
-- (Parquet) ingest counted in the file, and they are numbered 1..n without a
-- gap. Returns the files that differ.
--
-- (file_id, record_number) is unique (the unique_combination test of
-- int_records_loaded), so n records numbered from 1 to n are 1..n. A
-- count(distinct record_number) here held every number of a file in memory at
-- once: a 100M-record file ran out of a 4 GB memory_limit.

with

files as (
    select files.*
    from {{ ref('stg_xdr__files') }} as files
    inner join {{ ref('int_file_versions_changed') }} as changes
        on files.file_id = changes.file_id
    where changes.change_type = 'added'
),

loaded as (
    select
        records.file_id,
        count(*) as stored_records,
        min(records.record_number) as first_number,
        max(records.record_number) as last_number
    from {{ ref('int_records_loaded') }} as records
    where records.file_id in (select files.file_id from files)
    group by records.file_id
),

final as (
    select
        files.file_id,
        files.source_file,
        files.record_count,
        loaded.stored_records,
        loaded.first_number,
        loaded.last_number
    from files
    inner join loaded on files.file_id = loaded.file_id
    where loaded.stored_records <> files.record_count
        or loaded.first_number <> 1
        or loaded.last_number <> loaded.stored_records
)

select * from final
