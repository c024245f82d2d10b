{#- The sum of an expression over this model equals the sum of another
    expression over another relation (optionally grouped by a shared key).
    Exact integer comparison; fails with one row per mismatching check and group
    (check_name says which).
    checks: several named comparisons against the same compare_model
    ([{name, expression, compare_expression}]), made in one scan of each side
    and one dbt node; expression/compare_expression: a single one.
    full_build_only: a check that reads every record runs on full builds only;
    incremental builds rely on the per-file-version totals instead. -#}
{% test sums_match(
    model, compare_model, expression=none, compare_expression=none, checks=none,
    group_by=none, compare_group_by=none, full_build_only=false
) %}
{%- set checks = checks or [
    {"name": "total", "expression": expression, "compare_expression": compare_expression}
] %}
{%- if full_build_only and not xdr_full_build() %}
select 1 as skipped_on_incremental_builds where false
{%- else %}
with

left_side as (
    select
        {{ group_by if group_by else "'all'" }} as group_key,
        {%- for check in checks %}
        cast(coalesce({{ xdr_exact_sum(check.expression) }}, 0) as {{ xdr_wide_integer() }})
            as total_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
    group by 1
),

right_side as (
    select
        {{ compare_group_by or group_by or "'all'" }} as group_key,
        {%- for check in checks %}
        cast(coalesce({{ xdr_exact_sum(check.compare_expression) }}, 0) as {{ xdr_wide_integer() }})
            as total_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ compare_model }}
    group by 1
),

totals as (
    select
        coalesce(left_side.group_key, right_side.group_key) as group_key,
        {%- for check in checks %}
        coalesce(left_side.total_{{ loop.index }}, 0) as model_total_{{ loop.index }},
        coalesce(right_side.total_{{ loop.index }}, 0) as compare_total_{{ loop.index }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from left_side
    full outer join right_side on left_side.group_key = right_side.group_key
)

{% for check in checks %}
select
    {{ xdr_string_literal(check.name) }} as check_name,
    group_key,
    model_total_{{ loop.index }} as model_total,
    compare_total_{{ loop.index }} as compare_total
from totals
where model_total_{{ loop.index }} <> compare_total_{{ loop.index }}
{{ "union all" if not loop.last }}
{% endfor %}
{%- endif %}
{% endtest %}
