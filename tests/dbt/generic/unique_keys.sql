{#- Each key of the model identifies one row: no key value is NULL or occurs
    twice. A key is a column or a list of columns. Fails with one row per
    offending value of a key: key_columns names the key; key_value is its value
    as text (a one-column key's NULL stays NULL, a longer key leaves NULL parts
    out); problem says null or duplicate. Several keys of one table in one
    query and one dbt node, where primary_key or unique_combination per key
    cost a node each. -#}
{% test unique_keys(model, keys) %}
{%- for key in keys %}
{%- set columns = [key] if key is string else key %}
select
    {{ xdr_string_literal(columns | join(', ')) }} as key_columns,
    {%- if columns | length == 1 %}
    cast({{ columns[0] }} as {{ dbt.type_string() }}) as key_value,
    {%- else %}
    concat_ws(', '
        {%- for column in columns -%}
        , cast({{ column }} as {{ dbt.type_string() }})
        {%- endfor -%}
    ) as key_value,
    {%- endif %}
    count(*) as row_count,
    case
        when {% for column in columns %}{{ column }} is null{{ " or " if not loop.last }}{% endfor %}
            then 'null'
        else 'duplicate'
    end as problem
from {{ model }}
group by {{ columns | join(", ") }}
having {% for column in columns %}{{ column }} is null or {% endfor %}count(*) > 1
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
