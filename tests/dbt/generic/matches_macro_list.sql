{#- This model's column holds exactly the keys a macro lists, in the same order
    (by order_by when given): one vocabulary, its keys in a macro, its words in
    a seed. item_index picks the key from list items. Fails with one row per
    position that differs. -#}
{% test matches_macro_list(model, column_name, macro_name, item_index=none, order_by=none) %}
{%- set items = xdr_vocabulary(macro_name) -%}
with

expected as (
    {%- for item in items %}
    select
        {{ loop.index }} as position,
        {{ xdr_string_literal(item if item_index is none else item[item_index]) }} as key_value
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

actual as (
    select
        row_number() over (order by {{ order_by or column_name }}) as position,
        {{ column_name }} as key_value
    from {{ model }}
)

select
    coalesce(expected.position, actual.position) as position,
    expected.key_value as expected_key,
    actual.key_value as actual_key
from expected
full outer join actual on expected.position = actual.position
where expected.key_value is null
    or actual.key_value is null
    or expected.key_value <> actual.key_value
{% endtest %}
