{#- A sample of the customers of about `size` customers, with the features
    the clustering uses and the number of customers it was drawn from: all
    customers when there are at most `size`, else those whose sample key
    (0 .. 2^32-1, xdr_sample_key, stored with each customer's sums in
    int_customers_aggregated) falls below size / customers of its range.

    The customers are read from int_customers_aggregated, the rows
    customer_engagement publishes (total_traffic_bytes is computed as there),
    not from customer_engagement itself: in `dbt build` a model waits for
    every test of the models it reads, and customer_engagement has a dozen.
    Read from int_customers_aggregated, the cluster model is fitted while
    those tests run instead of after them. -#}
{% macro xdr_customer_sample(size) %}
with

customers as (
    select
        msisdn,
        session_count,
        total_duration_ms,
        total_dl_bytes + total_ul_bytes as total_traffic_bytes,
        sample_key
    from {{ ref('int_customers_aggregated') }}
),

counted as (
    select count(*) as customer_count from customers
),

final as (
    select
        customers.msisdn,
        customers.session_count,
        customers.total_duration_ms,
        customers.total_traffic_bytes,
        counted.customer_count
    from customers
    cross join counted
    where counted.customer_count <= {{ size | int }}
        or customers.sample_key < 4294967296.0 * {{ size | int }} / counted.customer_count
)

select * from final
{% endmacro %}
