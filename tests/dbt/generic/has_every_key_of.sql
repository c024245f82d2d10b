{#- The reverse of `relationships`: every value of `field` in the relation `to`
    appears in this model's column (a `where` config filters `to` alike). Fails
    with one row per missing key. -#}
{% test has_every_key_of(model, column_name, to, field) %}
with

expected as (
    select distinct {{ field }} as key_value
    from {{ get_where_subquery(to) }}
    where {{ field }} is not null
),

present as (
    select distinct {{ column_name }} as key_value
    from {{ model }}
)

select expected.key_value
from expected
left join present on expected.key_value = present.key_value
where present.key_value is null
{% endtest %}
