{#- on-run-end of every `dbt build`:

    1. one row in audit.dbt_builds: whether the build passed and which nodes
       failed, so that `xdr publish` publishes only a build whose every model and
       test passed, whoever started it (`xdr run`, `xdr build` or a plain
       `dbt build`) and whatever ran after it (`dbt show`);
    2. after a build of every model that passed, the current file versions
       become the applied ones (audit.applied_file_versions: the next build
       applies what changed since), and the records of versions no longer in the
       input are deleted. A failed build, or one that left models out
       (--select), changes neither, so the next build applies the same changes
       again. -#}
{% macro xdr_record_build(results) %}
    {%- if not execute or flags.WHICH != 'build' -%}
        {{ return("select 1") }}
    {%- endif -%}
    {#- the nodes that failed name the problem; a skipped node (downstream of a
        failure) fails the build too without being listed -#}
    {%- set failures = [] -%}
    {%- set skipped = [] -%}
    {%- for result in results -%}
        {%- if result.status in ['error', 'fail', 'runtime error'] -%}
            {%- do failures.append(result.node.name ~ ' (' ~ result.status ~ ')') -%}
        {%- elif result.status not in ['success', 'pass', 'warn', 'no-op'] -%}
            {%- do skipped.append(result.node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if skipped and not failures -%}
        {%- do failures.append(skipped | length ~ ' node(s) skipped') -%}
    {%- endif -%}
    {#- every model of the project built (tests may be left out) -#}
    {%- set built = [] -%}
    {%- for result in results if result.node.resource_type == 'model' -%}
        {%- do built.append(result.node.unique_id) -%}
    {%- endfor -%}
    {%- set whole_project = namespace(value=true) -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.unique_id not in built -%}
        {%- set whole_project.value = false -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('xdr_record_build', 'xdr_warehouse')(
        failures, whole_project.value, xdr_full_build()
    )) }}
{% endmacro %}

{% macro default__xdr_record_build(failures, whole_project, full_build) %}
    {%- set passed = failures | length == 0 -%}
    {%- set loaded = api.Relation.create(
        database=target.database, schema='intermediate', identifier='int_records_loaded'
    ) -%}
    {%- set totals = api.Relation.create(
        database=target.database, schema='intermediate', identifier='int_file_version_totals'
    ) -%}
    {#- Run here, in one transaction, rather than returned as the hook's SQL: the
        queries above may have opened dbt's transaction already (a build of only
        views or seeds), and a `begin` of our own would then fail. -#}
    {%- set record_sql -%}
    create schema if not exists audit;
    create table if not exists audit.dbt_builds (
        invocation_id varchar,
        finished_at timestamp,
        passed boolean,
        failed_nodes varchar,
        full_refresh boolean,
        whole_project boolean,
        full_build boolean
    );
    alter table audit.dbt_builds add column if not exists whole_project boolean;
    alter table audit.dbt_builds add column if not exists full_build boolean;
    insert into audit.dbt_builds (
        invocation_id, finished_at, passed, failed_nodes, full_refresh, whole_project, full_build
    ) values (
        {{ xdr_string_literal(invocation_id) }},
        current_timestamp,
        {{ passed }},
        {{ xdr_string_literal(failures | join('; ')) }},
        {{ flags.FULL_REFRESH | default(false) }},
        {{ whole_project }},
        {{ full_build }}
    );
    {%- if passed and whole_project %}
    -- the public marts live in their own file (catalog bi) since 2026-11-29: a
    -- build database from before still holds old copies in its schema marts
    drop table if exists audit.customer_changes;
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.access == 'public' %}
    drop table if exists {{ api.Relation.create(
        database=target.database, schema='marts', identifier=node.alias) }};
    {%- endfor %}
    delete from {{ source('build_state', 'applied_file_versions') }};
    insert into {{ source('build_state', 'applied_file_versions') }}
    select file_id from {{ source('xdr', 'files') }} where is_current;
    {%- for relation in [loaded, totals] %}
    {%- if adapter.get_relation(
        relation.database, relation.schema, relation.identifier
    ) is not none %}
    delete from {{ relation }}
    where file_id not in (select file_id from {{ source('xdr', 'files') }} where is_current);
    {%- endif %}
    {%- endfor %}
    {%- endif %}
    {%- endset %}
    {%- call statement('xdr_record_build', auto_begin=True) -%}
        {{ record_sql }}
    {%- endcall %}
    {%- do adapter.commit() %}
    {{ return("select 1") }}
{% endmacro %}

{#- Spark: one row per dbt invocation in audit.dbt_builds (a Parquet table,
    appended to). The rest is the incremental bookkeeping of DuckDB, which
    Spark's full builds do not need: audit.applied_file_versions stays empty,
    so every build reads the whole input, and there is no customer log (a
    Spark build is published whole). Spark runs one statement per call, so
    the statements run here and the hook itself is a no-op. `xdr build` runs
    a Spark build in two dbt invocations around the Python stage and adds one
    row for the whole (python/xdr_warehouse/spark/build.py). -#}
{% macro spark__xdr_record_build(failures, whole_project, full_build) %}
    {%- set passed = failures | length == 0 -%}
    {% do run_query("create database if not exists audit") %}
    {% do run_query(
        "create table if not exists audit.dbt_builds (invocation_id string,"
        ~ " finished_at timestamp, passed boolean, failed_nodes string, full_refresh boolean,"
        ~ " whole_project boolean, full_build boolean) using parquet"
    ) %}
    {% do run_query(
        "insert into audit.dbt_builds values ("
        ~ xdr_string_literal(invocation_id) ~ ", current_timestamp(), " ~ passed ~ ", "
        ~ xdr_string_literal(failures | join('; ')) ~ ", "
        ~ (flags.FULL_REFRESH | default(false)) ~ ", " ~ whole_project ~ ", " ~ full_build ~ ")"
    ) %}
    {{ return("select 1") }}
{% endmacro %}
