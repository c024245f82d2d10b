{#- A ranked list per group is complete: ranks run 1..count without gaps or
    repeats, and count = least(n, candidates), where candidates is counted by
    candidates_sql (one row per group: group_key, candidates). Fails with one
    row per bad group. -#}
{% test complete_top_n(model, column_name, group_by, candidates_sql, n) %}
with

lists as (
    select
        {{ group_by }} as group_key,
        count(*) as rows_in_list,
        count(distinct {{ column_name }}) as distinct_ranks,
        min({{ column_name }}) as min_rank,
        max({{ column_name }}) as max_rank
    from {{ model }}
    group by {{ group_by }}
),

candidates as (
    {{ candidates_sql }}
),

compared as (
    select
        candidates.group_key,
        candidates.candidates,
        coalesce(lists.rows_in_list, 0) as rows_in_list,
        lists.distinct_ranks,
        lists.min_rank,
        lists.max_rank
    from candidates
    full outer join lists on candidates.group_key = lists.group_key
)

select *
from compared
where rows_in_list <> least({{ n }}, coalesce(candidates, 0))
    or (rows_in_list > 0 and (
        distinct_ranks <> rows_in_list or min_rank <> 1 or max_rank <> rows_in_list
    ))
{% endtest %}
