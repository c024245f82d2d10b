{#- on-run-start: say in one line when nothing has been ingested yet (the
    build then makes empty tables), and how to load data. -#}
{% macro xdr_check_input() %}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- set files = source('xdr', 'files') -%}
        {%- set relation = adapter.get_relation(files.database, files.schema, files.identifier) -%}
        {%- set current = 0 -%}
        {%- if relation is not none -%}
            {%- set current = run_query(
                "select count(*) from " ~ files ~ " where is_current"
            ).columns[0].values()[0] -%}
        {%- endif -%}
        {%- if current == 0 -%}
            {{ log(
                "No xDR input has been ingested yet: the marts will be empty. Run `xdr ingest`"
                ~ " (XDR_PATH = a file, folder or glob) before dbt build, or `make run`.",
                info=True
            ) }}
        {%- endif -%}
    {%- endif -%}
    select 1
{% endmacro %}
