{{ config(materialized="table") }}

-- Record fingerprints this build touches: whether a record with one of them is a
-- duplicate can change, every other record keeps its status.

with

changed as (
    select * from {{ ref('int_records_changed') }}
),

final as (
    select distinct record_hash
    from changed
)

select * from final
