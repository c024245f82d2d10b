{#- Every row-level rule of a table in one scan and one dbt node: fails on every
    row that breaks at least one rule; broken_rules names them ("session_count is
    null, total_duration_ms < 0").
    - not_null: columns that must not be NULL;
    - not_negative: columns that must not be below zero (NULL passes);
    - accepted_values: {column: [values]}, NULL passes (as dbt's accepted_values);
    - rules: {name: boolean expression}, true on every row (NULL fails, as in
      expression_is_true).
    One test per rule scanned the table once each and cost dbt's fixed per-node
    time each: on int_records_loaded five scans of every added record became one. -#}
{% test row_rules(model, not_null=[], not_negative=[], accepted_values={}, rules={}) %}
{#- (label, the condition of a row that breaks the rule; NULL counts as false) -#}
{%- set broken = [] -%}
{%- for column in not_null -%}
    {%- do broken.append((column ~ ' is null', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column in not_negative -%}
    {%- do broken.append((column ~ ' < 0', column ~ ' < 0')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append(xdr_string_literal(value)) -%}
    {%- endfor -%}
    {%- do broken.append((
        column ~ ' not in (' ~ values | join(', ') ~ ')',
        column ~ ' not in (' ~ listed | join(', ') ~ ')'
    )) -%}
{%- endfor -%}
{%- for name, expression in rules.items() -%}
    {%- do broken.append((name, 'not coalesce((' ~ expression ~ '), false)')) -%}
{%- endfor -%}
{%- if not broken -%}
    {{ exceptions.raise_compiler_error('row_rules on ' ~ model ~ ' lists no rule') }}
{%- endif %}
select
    concat_ws(', ',
        {%- for label, condition in broken %}
        case when {{ condition }} then {{ xdr_string_literal(label) }} end
        {{- "," if not loop.last }}
        {%- endfor %}
    ) as broken_rules,
    *
from {{ model }}
where
    {%- for label, condition in broken %}
    {{ condition }}
    {{- " or" if not loop.last }}
    {%- endfor %}
{% endtest %}
