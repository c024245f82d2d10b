-- Ad-hoc: how much the two session definitions differ. This warehouse counts every
-- xDR record (session_count); most public notebooks count non-null Bearer Ids
-- (sessions_with_bearer_id) and drop records without an MSISDN.

with

customers as (
    select * from {{ ref('customer_engagement') }}
),

audit as (
    select * from {{ ref('xdr_load_audit') }}
),

final as (
    select
        (select sum(session_count) from customers) as sessions_of_customers,
        (select sum(sessions_with_bearer_id) from customers) as sessions_with_bearer_id,
        (select sum(unattributed_records) from audit) as unattributed_sessions,
        (
            select count(*)
            from customers
            where sessions_with_bearer_id = 0
        ) as customers_without_any_bearer_id
)

select * from final
