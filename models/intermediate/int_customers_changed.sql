{{ config(materialized="table") }}

-- Customers (MSISDN) this build touches: a session of theirs is added, removed, or
-- becomes or stops being a duplicate (a duplicate has the same MSISDN as its
-- copy). Their rows in every customer table are recomputed; the other customers'
-- rows stay as they are.

with

changed as (
    select * from {{ ref('int_records_changed') }}
),

final as (
    select distinct msisdn
    from changed
    where msisdn is not null
)

select * from final
