{#- The incremental machinery: which keys a build changes, and how models and
    tests restrict themselves to them.

    A build applies the file versions added to or removed from the input since
    the last complete passing build (int_file_versions_changed). The keys those
    records touch (customers, record fingerprints, file versions) are
    recomputed in full from the stored records by each incremental model: a
    pre-hook deletes the model's rows of those keys, the model inserts them
    again. Re-applying the same change gives the same rows, so a build that
    failed half way is simply run again. -#}

{#- dbt's should_full_refresh(), which the incremental materialization and
    is_incremental() ask (a root-project macro overrides dbt's): on Spark every
    build is a full build. Spark's Parquet tables have no delete and no merge,
    which the delete-then-insert incremental models need (docs/spark.md says
    what an incremental Spark build would take: Delta or Iceberg and merge). -#}
{% macro should_full_refresh() %}
    {{ return(adapter.dispatch('xdr_should_full_refresh', 'xdr_warehouse')()) }}
{% endmacro %}
{% macro default__xdr_should_full_refresh() %}
    {#- dbt's own rule: the model's full_refresh config, else --full-refresh -#}
    {%- set config_full_refresh = config.get('full_refresh') -%}
    {%- if config_full_refresh is none -%}
        {%- set config_full_refresh = flags.FULL_REFRESH -%}
    {%- endif -%}
    {{ return(config_full_refresh) }}
{% endmacro %}
{% macro spark__xdr_should_full_refresh() %}
    {{ return(true) }}
{% endmacro %}

{#- True on a build that recomputes everything: --full-refresh, or nothing
    applied yet (the first build; every build on Spark). Asked at compile time. -#}
{% macro xdr_full_build() %}
    {%- if flags.FULL_REFRESH or target.type == 'spark' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set applied = source('build_state', 'applied_file_versions') -%}
    {%- if adapter.get_relation(applied.database, applied.schema, applied.identifier) is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set count = run_query("select count(*) from " ~ applied).columns[0].values()[0] -%}
    {{ return(count == 0) }}
{% endmacro %}

{#- True when an incremental model applies this build's changes to its rows: it
    exists already and the build is not a full build. On a full build the
    change lists (int_customers_changed, int_record_hashes_changed) are empty,
    since every key is computed again: a model that exists already then drops
    all its rows and inserts them all (rare: a first build that failed half
    way, or every file removed; --full-refresh replaces the tables). -#}
{% macro xdr_applies_changes() %}
    {{ return(is_incremental() and not xdr_full_build()) }}
{% endmacro %}

{#- Pre-hook of an incremental model: delete its rows of the keys this build
    changes; all its rows on a full build of a model that exists (a no-op when
    the model is created or replaced). -#}
{% macro xdr_delete_changed(key, changed_model, changed_key=none) %}
    {%- if xdr_applies_changes() -%}
        delete from {{ this }}
        where {{ key }} in (select {{ changed_key or key }} from {{ ref(changed_model) }})
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{#- A filter on the keys this build changes, for the select of an incremental
    model ("and ..." or "where ..."); nothing on a full build. -#}
{% macro xdr_only_changed(key, changed_model, changed_key=none, keyword='and') %}
    {%- if xdr_applies_changes() -%}
        {{ keyword }} {{ key }} in (select {{ changed_key or key }} from {{ ref(changed_model) }})
    {%- endif -%}
{% endmacro %}

{#- The `where` config of a data test (dbt wraps every generic test's model in
    the root project's get_where_subquery): `__changed_customers__`, `__added_files__`
    and `__changed_hashes__` stand for the rows this build changed, so that row
    tests on the big tables check what changed and not every row again; on a
    full build they stand for every row. Anything else in `where` is kept. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set full = xdr_full_build() -%}
    {#- the two change lists a full build leaves empty stand for every row after it -#}
    {%- set every_key = full or (
        ('__changed_customers__' in where or '__changed_hashes__' in where)
        and xdr_last_build_was_full(relation)
    ) -%}
    {%- set changed = {} -%}
    {%- set changed_models = [
        'int_customers_changed', 'int_file_versions_changed', 'int_record_hashes_changed'
    ] -%}
    {#- the change lists live in the build database; on DuckDB a public model's
        relation is in the marts file (catalog bi) -#}
    {%- set database = target.database if target.type == 'duckdb' else relation.database -%}
    {%- for name in changed_models -%}
        {%- do changed.update({name: api.Relation.create(
            database=database, schema='intermediate', identifier=name
        )}) -%}
    {%- endfor -%}
    {%- set tokens = {
        '__changed_customers__':
            'msisdn in (select msisdn from ' ~ changed['int_customers_changed'] ~ ')',
        '__added_files__': 'file_id in (select file_id from '
            ~ changed['int_file_versions_changed'] ~ " where change_type = 'added')",
        '__changed_hashes__':
            'record_hash in (select record_hash from ' ~ changed['int_record_hashes_changed'] ~ ')',
    } -%}
    {%- set state = namespace(where=where) -%}
    {%- for token, condition in tokens.items() -%}
        {%- set whole = every_key if token != '__added_files__' else full -%}
        {%- set state.where = state.where | replace(token, 'true' if whole else condition) -%}
    {%- endfor -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ state.where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{#- True when int_build_scope says that the build that made the change lists was a
    full build (they are empty then and stand for every row): a `dbt test` after
    it checks every row. The lists' readers run after int_build_scope in a build. -#}
{% macro xdr_last_build_was_full(relation) %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set database = target.database if target.type == 'duckdb' else relation.database -%}
    {%- set scope = adapter.get_relation(database, 'intermediate', 'int_build_scope') -%}
    {%- if scope is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set rows = run_query('select is_full_build from ' ~ scope).columns[0].values() -%}
    {{ return(rows | length > 0 and rows[0]) }}
{% endmacro %}

{#- Pre-hook of int_sessions_unattributed: its rows of changed file versions or
    fingerprints go. -#}
{% macro xdr_delete_unattributed_changes() %}
    {%- if xdr_applies_changes() -%}
        delete from {{ this }}
        where file_id in (select file_id from {{ ref('int_file_versions_changed') }})
            or record_hash in (select record_hash from {{ ref('int_record_hashes_changed') }})
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{#- True when customer_clusters holds labels of another model than the latest
    (a build fitted a new one): every customer is labelled again. -#}
{% macro xdr_cluster_model_is_new() %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set query -%}
        select count(*) from {{ this }}
        where cluster_model_id not in (
            select cluster_model_id from {{ ref('engagement_cluster_model') }}
            where model_version = (
                select max(model_version) from {{ ref('engagement_cluster_model') }}
            )
        )
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] > 0) }}
{% endmacro %}

{#- Pre-hook of customer_clusters: the labels to compute again go (all of them
    when the model is new). -#}
{% macro xdr_delete_relabelled_customers() %}
    {%- if not is_incremental() -%}
        {{ return("select 1") }}
    {%- elif xdr_full_build() -%}
        {{ return("delete from " ~ this) }}
    {%- endif -%}
    delete from {{ this }}
    where msisdn in (select msisdn from {{ ref('int_customers_changed') }})
        or cluster_model_id not in (
            select cluster_model_id from {{ ref('engagement_cluster_model') }}
            where model_version = (
                select max(model_version) from {{ ref('engagement_cluster_model') }}
            )
        )
{% endmacro %}
