-- One row per (engagement metric, rank): the top customers per metric.
-- Ties are broken by MSISDN (ascending) so the list is deterministic; tie_rank
-- shows the shared rank and customers_with_value how many customers share it.

{%- set metrics = [
    ["sessions", "session_count"],
    ["duration_ms", "total_duration_ms"],
    ["traffic_bytes", "total_traffic_bytes"],
] %}

with

customers as (
    select * from {{ ref('customer_engagement') }}
),

{% for metric in metrics %}
top_{{ metric[0] }} as (
    select
        '{{ metric[0] }}' as metric,
        msisdn,
        {{ metric[1] }} as metric_value
    from customers
    order by {{ metric[1] }} desc, msisdn asc
    limit {{ var('top_n') }}
),

{% endfor %}
top_lists as (
    {%- for metric in metrics %}
    select * from top_{{ metric[0] }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

value_counts as (
    {%- for metric in metrics %}
    select
        '{{ metric[0] }}' as metric,
        {{ metric[1] }} as metric_value,
        count(*) as customers_with_value
    from customers
    where {{ metric[1] }} in (
        select top_list.metric_value from top_{{ metric[0] }} as top_list
    )
    group by {{ metric[1] }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

ranked as (
    select
        top_lists.metric,
        cast(row_number() over (
            partition by top_lists.metric
            order by top_lists.metric_value desc, top_lists.msisdn asc
        ) as integer) as rank,
        cast(rank() over (
            partition by top_lists.metric
            order by top_lists.metric_value desc
        ) as integer) as tie_rank,
        top_lists.msisdn,
        top_lists.metric_value,
        cast(value_counts.customers_with_value as bigint) as customers_with_value
    from top_lists
    inner join value_counts
        on top_lists.metric = value_counts.metric
        and top_lists.metric_value = value_counts.metric_value
),

final as (
    select
        metric,
        rank,
        tie_rank,
        msisdn,
        metric_value,
        customers_with_value,
        customers_with_value > 1 as is_tied
    from ranked
)

select * from final
