{{ config(
    materialized="incremental",
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ xdr_delete_changed('msisdn', 'int_customers_changed') }}",
    post_hook="{{ xdr_insert_customer_buckets() }}",
) }}

-- depends_on: {{ ref('int_customers_changed') }}
-- One row per customer (MSISDN): sessions, duration and every application's
-- DL/UL summed over the customer's sessions. Unattributed sessions (no MSISDN)
-- are left out here and counted in xdr_load_audit. Incremental: the customers
-- this build touches (int_customers_changed) are summed again from their stored
-- sessions; the others keep their row. A full build with more than 10 million
-- loaded records aggregates the customers in buckets, one statement each
-- (macros/xdr_customer_buckets.sql).

{%- set buckets = xdr_customer_buckets() %}

with

final as (
    {{ xdr_customer_traffic_select(0, buckets) }}
)

select * from final
