-- One row per (engagement metric, rank): the top customers per metric.
-- Ties are broken by MSISDN (ascending) so the list is deterministic; tie_rank
-- shows the shared rank and same_value_customer_count how many customers share
-- the value, listed or not.

{%- set metrics = xdr_engagement_metrics() %}

with

customers as {{ xdr_inline_cte() }} (
    select * from {{ ref('customer_engagement') }}
),

{% for metric in metrics %}
top_{{ metric[0] }} as (
    select
        {{ xdr_string_literal(metric[0]) }} as metric,
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
        {{ xdr_string_literal(metric[0]) }} as metric,
        {{ metric[1] }} as metric_value,
        count(*) as same_value_customer_count
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
        row_number() over (
            partition by top_lists.metric
            order by top_lists.metric_value desc, top_lists.msisdn asc
        ) as rank,
        rank() over (
            partition by top_lists.metric
            order by top_lists.metric_value desc
        ) as tie_rank,
        top_lists.msisdn,
        top_lists.metric_value,
        value_counts.same_value_customer_count
    from top_lists
    inner join value_counts
        on top_lists.metric = value_counts.metric
        and top_lists.metric_value = value_counts.metric_value
),

final as (
    select
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(rank as integer) as rank,
        cast(tie_rank as integer) as tie_rank,
        msisdn,
        metric_value,
        cast(same_value_customer_count as bigint) as same_value_customer_count,
        same_value_customer_count > 1 as is_tied
    from ranked
)

select * from final
