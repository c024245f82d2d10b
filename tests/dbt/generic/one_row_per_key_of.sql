{#- One row per key of another model: this column is unique and not NULL, and its
    values are exactly the non-NULL values of `field` in `to` (a `where` config
    filters both alike). It is primary_key, relationships and has_every_key_of
    in one query and one dbt node: one grouping of this model, one of `to`, one
    full join. Fails with one row per faulty key; problem says which fault:
    `null`, `duplicate`, `missing` (a key of `to` with no row here) or `unknown`
    (a key here that `to` does not have). -#}
{% test one_row_per_key_of(model, column_name, to, field) %}
with

present as (
    select
        {{ column_name }} as key_value,
        count(*) as row_count,
        true as is_present
    from {{ model }}
    group by {{ column_name }}
),

expected as (
    select distinct
        {{ field }} as key_value,
        true as is_expected
    from {{ get_where_subquery(to) }}
    where {{ field }} is not null
),

compared as (
    select
        coalesce(present.key_value, expected.key_value) as key_value,
        coalesce(present.row_count, 0) as row_count,
        case
            when present.is_present and present.key_value is null then 'null'
            when present.is_present is null then 'missing'
            when expected.is_expected is null then 'unknown'
            when present.row_count > 1 then 'duplicate'
        end as problem
    from present
    full outer join expected on present.key_value = expected.key_value
),

final as (
    select * from compared
    where problem is not null
)

select * from final
{% endtest %}
