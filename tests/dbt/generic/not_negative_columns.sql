{#- Fails on every row where one of the columns is below zero; negative_columns
    names them. One scan for all the columns of a table that must not be
    negative. -#}
{% test not_negative_columns(model, columns) %}
select
    concat_ws(', ',
        {%- for column in columns %}
        case when {{ column }} < 0 then {{ xdr_string_literal(column) }} end
        {{- "," if not loop.last }}
        {%- endfor %}
    ) as negative_columns,
    {{ columns | join(", ") }}
from {{ model }}
where
    {%- for column in columns %}
    {{ column }} < 0{{ " or" if not loop.last }}
    {%- endfor %}
{% endtest %}
