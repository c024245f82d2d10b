-- Every record read is either loaded or quarantined: per file, the audit's
-- counts equal the staged records and the quarantine table. Returns mismatches.

with

audit as (
    select * from {{ ref('xdr_load_audit') }}
),

staged as (
    select
        source_file,
        count(*) as records_read
    from {{ ref('int_xdr__records') }}
    group by source_file
),

quarantined as (
    select
        source_file,
        count(*) as records_quarantined
    from {{ ref('xdr_quarantined_records') }}
    group by source_file
),

sessions as (
    select
        source_file,
        count(*) as records_loaded
    from {{ ref('int_xdr__sessions') }}
    group by source_file
)

select
    audit.source_file,
    audit.records_read,
    staged.records_read as staged_records,
    audit.records_loaded,
    sessions.records_loaded as sessions_loaded,
    audit.records_quarantined,
    quarantined.records_quarantined as quarantine_rows
from audit
left join staged on audit.source_file = staged.source_file
left join quarantined on audit.source_file = quarantined.source_file
left join sessions on audit.source_file = sessions.source_file
where audit.records_read <> coalesce(staged.records_read, 0)
    or audit.records_loaded <> coalesce(sessions.records_loaded, 0)
    or audit.records_quarantined <> coalesce(quarantined.records_quarantined, 0)
