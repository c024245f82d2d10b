{#- The sum of an expression over this model equals the sum of another
    expression over another relation (optionally grouped by a shared key).
    Exact integer comparison; fails with one row per mismatching group.
    full_build_only: a check that reads every record runs on full builds only;
    incremental builds rely on the per-file-version totals instead. -#}
{% test sums_match(
    model, expression, compare_model, compare_expression, group_by=none, compare_group_by=none,
    full_build_only=false
) %}
{%- if full_build_only and not xdr_full_build() %}
select 1 as skipped_on_incremental_builds where false
{%- else %}
with

left_side as (
    select
        {{ group_by if group_by else "'all'" }} as group_key,
        cast(coalesce({{ xdr_exact_sum(expression) }}, 0) as {{ xdr_wide_integer() }}) as total
    from {{ model }}
    group by 1
),

right_side as (
    select
        {{ compare_group_by or group_by or "'all'" }} as group_key,
        cast(coalesce({{ xdr_exact_sum(compare_expression) }}, 0) as {{ xdr_wide_integer() }})
            as total
    from {{ compare_model }}
    group by 1
)

select
    coalesce(left_side.group_key, right_side.group_key) as group_key,
    left_side.total as model_total,
    right_side.total as compare_total
from left_side
full outer join right_side on left_side.group_key = right_side.group_key
where coalesce(left_side.total, 0) <> coalesce(right_side.total, 0)
{%- endif %}
{% endtest %}
