-- One row per customer (MSISDN) with the three engagement metrics.

with

customers as (
    select * from {{ ref('int_customers_aggregated') }}
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
