{#- dbt's unique and not_null in one scan and one dbt node, on one column:
    unique_keys with that column as its only key. Fails with one row per key
    value that is NULL or occurs more than once (problem says which). -#}
{% test primary_key(model, column_name) %}
{{ test_unique_keys(model, [column_name]) }}
{% endtest %}
