{#- A sample of customer_engagement of about `size` customers, with the
    features the clustering uses and the number of customers it was drawn
    from: all customers when there are at most `size`, else those whose
    sample key (0 .. 2^32-1, xdr_sample_key) falls below size / customers of
    its range. -#}
{% macro xdr_customer_sample(size) %}
with

customers as (
    select
        msisdn,
        session_count,
        total_duration_ms,
        total_traffic_bytes
    from {{ ref('customer_engagement') }}
),

counted as (
    select count(*) as customer_count from customers
),

keyed as (
    select
        customers.*,
        counted.customer_count,
        {{ xdr_sample_key('customers.msisdn', var('cluster_seed')) }} as sample_key
    from customers
    cross join counted
),

final as (
    select
        msisdn,
        session_count,
        total_duration_ms,
        total_traffic_bytes,
        customer_count
    from keyed
    where customer_count <= {{ size | int }}
        or sample_key < 4294967296.0 * {{ size | int }} / customer_count
)

select * from final
{% endmacro %}
