{{ config(
    materialized="incremental",
    incremental_strategy="append",
    on_schema_change="append_new_columns",
    pre_hook="{{ xdr_delete_changed('msisdn', 'int_customers_changed') }}",
    post_hook=[
        "{{ xdr_insert_customer_buckets() }}",
        "{{ xdr_rekey_customers_for_sampling() }}",
    ],
) }}

-- depends_on: {{ ref('int_customers_changed') }}
-- One row per customer (MSISDN): sessions, duration and every application's
-- DL/UL summed over the customer's sessions, and the key that draws the
-- clustering samples (xdr_sample_key: the MD5 of var('cluster_seed') and the
-- MSISDN as a number 0 .. 2^32-1, computed once per customer instead of on
-- every read of a sample). Unattributed sessions (no MSISDN) are left out here
-- and counted in xdr_load_audit. Incremental: the customers this build touches
-- (int_customers_changed) are summed again from their stored sessions; the
-- others keep their row (after a change of cluster_seed, their key is drawn
-- again). A full build with more than 10 million loaded records aggregates the
-- customers in buckets, one statement each (macros/xdr_customer_buckets.sql).

{%- set buckets = xdr_customer_buckets() %}

with

final as (
    {{ xdr_customer_traffic_select(0, buckets) }}
)

select * from final
