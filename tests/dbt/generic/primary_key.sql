{#- dbt's unique and not_null in one scan and one dbt node: fails with one row
    per key value that is NULL or occurs more than once (problem says which).
    A column with both tests cost two queries and two nodes of dbt's fixed
    per-node time; every key column of the project uses this instead. -#}
{% test primary_key(model, column_name) %}
select
    {{ column_name }} as key_value,
    count(*) as row_count,
    case when {{ column_name }} is null then 'null' else 'duplicate' end as problem
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}
