{#- Fails on every row where one of the columns is NULL; null_columns names them.
    One scan of the table for all its required columns (one not_null test per
    column would scan it once per column, and cost dbt a node each). -#}
{% test not_null_columns(model, columns) %}
select
    concat_ws(', ',
        {%- for column in columns %}
        case when {{ column }} is null then {{ xdr_string_literal(column) }} end
        {{- "," if not loop.last }}
        {%- endfor %}
    ) as null_columns,
    {{ columns | join(", ") }}
from {{ model }}
where
    {%- for column in columns %}
    {{ column }} is null{{ " or" if not loop.last }}
    {%- endfor %}
{% endtest %}
