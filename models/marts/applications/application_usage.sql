-- One row per application: traffic over all sessions (unattributed included),
-- users, share of all traffic, rank by traffic and the top-application flag.
-- Totals are the per-file-version sums of the current input less the duplicate
-- copies, so no session is read again.

{%- set apps = xdr_application_columns() %}

with

version_totals as (
    select totals.*
    from {{ ref('int_file_version_totals') }} as totals
    inner join {{ ref('stg_xdr__files') }} as files on totals.file_id = files.file_id
    where files.is_current
),

duplicates as (
    select * from {{ ref('int_records_duplicated') }}
),

customers as (
    select * from {{ ref('int_customers_aggregated') }}
),

applications as (
    select * from {{ ref('applications') }}
),

loaded as (
    select
        sum(loaded_record_count) as loaded_record_count,
        {%- for app in apps %}
        sum({{ app[1] }}) as {{ app[1] }},
        sum({{ app[2] }}) as {{ app[2] }},
        sum(unattributed_{{ app[1] }} + unattributed_{{ app[2] }}) as {{ app[0] }}_unattributed
        {{- "," if not loop.last }}
        {%- endfor %}
    from version_totals
),

duplicated as (
    select
        count(*) as duplicate_count,
        {%- for app in apps %}
        coalesce(sum({{ app[1] }}), 0) as {{ app[1] }},
        coalesce(sum({{ app[2] }}), 0) as {{ app[2] }},
        coalesce(sum(case when msisdn is null then {{ app[1] }} + {{ app[2] }} end), 0)
            as {{ app[0] }}_unattributed{{ "," if not loop.last }}
        {%- endfor %}
    from duplicates
),

totals as (
    {%- for app in apps %}
    select
        {{ xdr_string_literal(app[0]) }} as application_key,
        cast(loaded.{{ app[1] }} - duplicated.{{ app[1] }} as bigint) as total_dl_bytes,
        cast(loaded.{{ app[2] }} - duplicated.{{ app[2] }} as bigint) as total_ul_bytes,
        cast(
            loaded.{{ app[1] }} + loaded.{{ app[2] }}
            - duplicated.{{ app[1] }} - duplicated.{{ app[2] }} as bigint
        ) as total_bytes,
        cast(
            loaded.{{ app[0] }}_unattributed - duplicated.{{ app[0] }}_unattributed as bigint
        ) as unattributed_bytes,
        cast(loaded.loaded_record_count - duplicated.duplicate_count as bigint) as session_count
    from loaded
    cross join duplicated
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

application_users as (
    {%- for app in apps %}
    select
        {{ xdr_string_literal(app[0]) }} as application_key,
        count(case when {{ app[1] }} + {{ app[2] }} > 0 then 1 end) as user_count
    from customers
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

final as (
    select
        applications.application,
        applications.display_order,
        coalesce(totals.total_dl_bytes, 0) as total_dl_bytes,
        coalesce(totals.total_ul_bytes, 0) as total_ul_bytes,
        coalesce(totals.total_bytes, 0) as total_bytes,
        coalesce(totals.unattributed_bytes, 0) as unattributed_bytes,
        cast(application_users.user_count as bigint) as user_count,
        coalesce(totals.session_count, 0) as session_count,
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
