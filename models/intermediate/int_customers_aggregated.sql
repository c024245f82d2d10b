{{ config(
    materialized="table",
    post_hook="{{ xdr_insert_customer_buckets() }}",
) }}

-- One row per customer (MSISDN): sessions, duration and every application's
-- DL/UL summed over the customer's sessions. Unattributed sessions (no MSISDN)
-- are left out here and counted in xdr_load_audit. Up to 10 million loaded
-- records this is one group by; above, the customers are aggregated in buckets,
-- one statement each (macros/xdr_customer_buckets.sql): this select creates the
-- table with the first bucket and the post-hook inserts the others.

{%- set buckets = xdr_customer_buckets() %}

with

final as (
    {{ xdr_customer_traffic_select(0, buckets) }}
)

select * from final
