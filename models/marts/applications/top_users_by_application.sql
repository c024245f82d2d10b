-- One row per (application, rank): the customers with the most DL + UL bytes
-- of each application. Ties broken by MSISDN; tie_rank shows shared ranks.

with

customers as {{ xdr_inline_cte() }} (
    select * from {{ ref('int_customers_aggregated') }}
),

applications as (
    select * from {{ ref('applications') }}
),

{% for app in xdr_application_columns() %}
top_{{ app[0] }} as (
    select
        {{ xdr_string_literal(app[0]) }} as application_key,
        msisdn,
        {{ app[1] }} as dl_bytes,
        {{ app[2] }} as ul_bytes,
        {{ app[1] }} + {{ app[2] }} as total_bytes
    from customers
    order by {{ app[1] }} + {{ app[2] }} desc, msisdn asc
    limit {{ var('top_n') }}
),

{% endfor %}
top_lists as (
    {%- for app in xdr_application_columns() %}
    select * from top_{{ app[0] }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

final as (
    select
        applications.application,
        cast(row_number() over (
            partition by top_lists.application_key
            order by top_lists.total_bytes desc, top_lists.msisdn asc
        ) as integer) as rank,
        cast(rank() over (
            partition by top_lists.application_key
            order by top_lists.total_bytes desc
        ) as integer) as tie_rank,
        top_lists.msisdn,
        top_lists.dl_bytes,
        top_lists.ul_bytes,
        top_lists.total_bytes
    from top_lists
    inner join applications on top_lists.application_key = applications.application_key
)

select * from final
