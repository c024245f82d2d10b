{#- int_customers_aggregated in passes over buckets of customers.

    One hash aggregation over every session keeps one row of running sums per
    customer; with tens of millions of customers that outgrows memory and the
    engine spills it (tens of GB of temp files at 100M records). Splitting the
    customers into buckets by a hash of the MSISDN and aggregating one bucket per
    statement keeps each pass in memory: the model creates the table with bucket
    0, its post-hook inserts buckets 1..n-1. There is one bucket per
    var('customer_bucket_sessions') (10 million) loaded records, so inputs up to
    that size run in one pass, exactly as a plain group by. -#}

{#- The number of buckets (one on an incremental build: it recomputes only the
    customers that changed). The loaded-records table is looked up by name, not
    ref(), so that the model's unit tests need no fixture for it; they (no
    `this`) and builds without that table yet use one bucket. -#}
{% macro xdr_customer_buckets() %}
    {%- if not execute or this is none or is_incremental() -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set loaded = adapter.get_relation(
        database=this.database, schema="intermediate", identifier="int_records_loaded"
    ) -%}
    {%- if loaded is none -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set records = run_query("select count(*) from " ~ loaded).columns[0].values()[0] -%}
    {%- set per_bucket = var('customer_bucket_sessions', 10000000) | int -%}
    {{ return([1, ((records + per_bucket - 1) // per_bucket) | int] | max) }}
{% endmacro %}

{#- The per-customer sums of one bucket (all customers when buckets = 1). -#}
{% macro xdr_customer_traffic_select(bucket, buckets) %}
    select
        msisdn,
        cast(count(*) as bigint) as session_count,
        cast(count(case when has_bearer_id then 1 end) as bigint) as bearer_id_session_count,
        cast(sum(duration_ms) as bigint) as total_duration_ms,
        cast(sum(total_dl_bytes) as bigint) as total_dl_bytes,
        cast(sum(total_ul_bytes) as bigint) as total_ul_bytes,
        {%- for app in xdr_application_columns() %}
        cast(sum({{ app[1] }}) as bigint) as {{ app[1] }},
        cast(sum({{ app[2] }}) as bigint) as {{ app[2] }},
        {%- endfor %}
        min(started_at) as first_session_started_at,
        max(ended_at) as last_session_ended_at,
        {{ xdr_sample_key('msisdn', var('cluster_seed')) }} as sample_key,
        cast({{ var('cluster_seed') | int }} as bigint) as sample_seed
    from {{ ref('int_sessions_deduplicated') }}
    where not is_unattributed
        {{ xdr_only_changed('msisdn', 'int_customers_changed') }}
        {%- if buckets > 1 %}
        and {{ xdr_bucket('msisdn', buckets) }} = {{ bucket }}
        {%- endif %}
    group by msisdn
{% endmacro %}

{#- Post-hook of int_customers_aggregated after a change of var('cluster_seed'):
    every customer's sample key is drawn again with the new seed (the rows this
    build summed have it already). Also fills the keys of rows stored before the
    key moved into this table (on_schema_change append_new_columns). On Spark
    every build is a full build. -#}
{% macro xdr_rekey_customers_for_sampling() %}
    {%- if not is_incremental() or target.type == 'spark' -%}
        {{ return("select 1") }}
    {%- endif -%}
    update {{ this }}
    set
        sample_key = {{ xdr_sample_key('msisdn', var('cluster_seed')) }},
        sample_seed = {{ var('cluster_seed') | int }}
    where sample_seed is distinct from {{ var('cluster_seed') | int }}
{% endmacro %}

{#- Post-hook of int_customers_aggregated: the buckets after the first. -#}
{% macro xdr_insert_customer_buckets() %}
    {%- set buckets = xdr_customer_buckets() -%}
    {%- if buckets <= 1 -%}
        {{ return("select 1") }}
    {%- endif -%}
    {%- for bucket in range(1, buckets) %}
    insert into {{ this }}
    {{ xdr_customer_traffic_select(bucket, buckets) }};
    {%- endfor %}
{% endmacro %}
