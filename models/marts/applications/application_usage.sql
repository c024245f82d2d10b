-- One row per application: traffic over all sessions (unattributed included),
-- users, share of all traffic, rank by traffic and the top-application flag.

with

traffic as (
    select * from {{ ref('int_sessions_unpivoted_to_applications') }}
),

customers as (
    select * from {{ ref('int_customers_aggregated') }}
),

applications as (
    select * from {{ ref('applications') }}
),

application_users as (
    {%- for app in xdr_application_columns() %}
    select
        {{ xdr_string_literal(app[0]) }} as application_key,
        count(case when {{ app[1] }} + {{ app[2] }} > 0 then 1 end) as user_count
    from customers
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

totals as (
    select
        application_key,
        cast(sum(dl_bytes) as bigint) as total_dl_bytes,
        cast(sum(ul_bytes) as bigint) as total_ul_bytes,
        cast(sum(total_bytes) as bigint) as total_bytes,
        cast(sum(case when is_unattributed then total_bytes end) as bigint) as unattributed_bytes,
        cast(count(*) as bigint) as session_count
    from traffic
    group by application_key
),

final as (
    select
        applications.application,
        applications.display_order,
        totals.total_dl_bytes,
        totals.total_ul_bytes,
        totals.total_bytes,
        coalesce(totals.unattributed_bytes, 0) as unattributed_bytes,
        cast(application_users.user_count as bigint) as user_count,
        totals.session_count,
        cast(totals.total_bytes as double)
            / nullif(sum(totals.total_bytes) over (), 0) as traffic_share,
        cast(row_number() over (
            order by totals.total_bytes desc, applications.display_order asc
        ) as integer) as usage_rank,
        row_number() over (
            order by totals.total_bytes desc, applications.display_order asc
        ) <= {{ var('top_applications') }} as is_top_application
    from applications
    inner join totals on applications.application_key = totals.application_key
    inner join application_users
        on applications.application_key = application_users.application_key
)

select * from final
