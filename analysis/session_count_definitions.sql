-- Ad-hoc: how much the two session definitions differ. This warehouse counts every
-- xDR record (session_count); most public notebooks count non-null Bearer Ids
-- (bearer_id_session_count) and drop records without an MSISDN.

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
        (select sum(bearer_id_session_count) from customers) as bearer_id_session_count,
        (select sum(unattributed_record_count) from audit) as unattributed_sessions,
        (
            select count(*)
            from customers
            where bearer_id_session_count = 0
        ) as customers_without_any_bearer_id
)

select * from final
