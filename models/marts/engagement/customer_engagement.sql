{{ config(
    materialized="incremental",
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ xdr_delete_changed('msisdn', 'int_customers_changed') }}",
) }}

-- depends_on: {{ ref('int_customers_changed') }}
-- One row per customer (MSISDN) with the three engagement metrics. Incremental:
-- the rows of the customers this build touches are replaced.

with

customers as (
    select * from {{ ref('int_customers_aggregated') }}
    {{ xdr_only_changed('msisdn', 'int_customers_changed', keyword='where') }}
),

final as (
    select
        msisdn,
        session_count,
        bearer_id_session_count,
        total_duration_ms,
        total_dl_bytes,
        total_ul_bytes,
        total_dl_bytes + total_ul_bytes as total_traffic_bytes,
        first_session_started_at,
        last_session_ended_at
    from customers
)

select * from final
