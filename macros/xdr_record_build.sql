{#- on-run-end: every `dbt build` leaves one row in audit.dbt_builds, whether
    it passed and which nodes failed, so that `xdr publish` publishes only a
    build whose every model and test passed, whoever started it (`xdr run`,
    `xdr build` or a plain `dbt build`) and whatever ran after it (`dbt show`). -#}
{% macro xdr_record_build(results) %}
    {%- if not execute or flags.WHICH != 'build' -%}
        {{ return("select 1") }}
    {%- endif -%}
    {%- set failures = [] -%}
    {%- for result in results -%}
        {%- if result.status not in ['success', 'pass', 'warn', 'no-op'] -%}
            {%- do failures.append(result.node.name ~ ' (' ~ result.status ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('xdr_record_build', 'xdr_warehouse')(failures)) }}
{% endmacro %}

{% macro default__xdr_record_build(failures) %}
    create schema if not exists audit;
    create table if not exists audit.dbt_builds (
        invocation_id varchar,
        finished_at timestamp,
        passed boolean,
        failed_nodes varchar,
        full_refresh boolean
    );
    insert into audit.dbt_builds values (
        {{ xdr_string_literal(invocation_id) }},
        current_timestamp,
        {{ failures | length == 0 }},
        {{ xdr_string_literal(failures | join('; ')) }},
        {{ flags.FULL_REFRESH | default(false) }}
    )
{% endmacro %}
