{#- The SQL that differs between the engines, one dispatched macro each
    (adapter.dispatch picks duckdb__name on DuckDB and spark__name on Spark;
    default__name is the standard form). Every model's SQL is shared; only
    these macros know the dialects. -#}

{#- A string literal for a constant the project writes (column names, reasons). -#}
{% macro xdr_string_literal(text) -%}
    {{ return(adapter.dispatch('xdr_string_literal', 'xdr_warehouse')(text)) }}
{%- endmacro %}
{% macro default__xdr_string_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
{% macro spark__xdr_string_literal(text) -%}
    '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- A line split on commas into a list of fields (the export never quotes). -#}
{% macro xdr_split_fields(line) -%}
    {{ return(adapter.dispatch('xdr_split_fields', 'xdr_warehouse')(line)) }}
{%- endmacro %}
{% macro duckdb__xdr_split_fields(line) -%}
    string_split({{ line }}, ',')
{%- endmacro %}
{% macro spark__xdr_split_fields(line) -%}
    split({{ line }}, ',', -1)
{%- endmacro %}

{#- The element at a 1-based position of a list (NULL past its end). -#}
{% macro xdr_list_element(list, position) -%}
    {{ return(adapter.dispatch('xdr_list_element', 'xdr_warehouse')(list, position)) }}
{%- endmacro %}
{% macro duckdb__xdr_list_element(list, position) -%}
    {{ list }}[{{ position }}]
{%- endmacro %}
{% macro spark__xdr_list_element(list, position) -%}
    try_element_at({{ list }}, {{ position }})
{%- endmacro %}

{% macro xdr_list_length(list) -%}
    {{ return(adapter.dispatch('xdr_list_length', 'xdr_warehouse')(list)) }}
{%- endmacro %}
{% macro duckdb__xdr_list_length(list) -%}
    len({{ list }})
{%- endmacro %}
{% macro spark__xdr_list_length(list) -%}
    size({{ list }})
{%- endmacro %}

{#- A number written as decimal text (`770`, `770.0`, `7.7E+002`, spaces
    around it allowed) as DOUBLE, NULL for anything else: a stray `_`, hex,
    `inf`, `nan` and words are not numbers here. -#}
{% macro xdr_double_from_text(text) -%}
    {{ return(adapter.dispatch('xdr_double_from_text', 'xdr_warehouse')(text)) }}
{%- endmacro %}
{% macro duckdb__xdr_double_from_text(text) -%}
    case when not contains({{ text }}, '_') then try_cast({{ text }} as double) end
{%- endmacro %}
{% macro spark__xdr_double_from_text(text) -%}
    case
        when {{ text }} rlike '^\\s*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?\\s*$'
            then cast({{ text }} as double)
    end
{%- endmacro %}

{#- Float-formatted identifiers such as `1.31144834608449E+019` as the exact
    decimal value of the text (they exceed BIGINT). -#}
{% macro xdr_decimal_from_text(text) -%}
    {{ return(adapter.dispatch('xdr_decimal_from_text', 'xdr_warehouse')(text)) }}
{%- endmacro %}
{% macro duckdb__xdr_decimal_from_text(text) -%}
    try_cast({{ text }} as decimal(38, 0))
{%- endmacro %}
{% macro spark__xdr_decimal_from_text(text) -%}
    cast({{ text }} as decimal(38, 0))
{%- endmacro %}

{#- `4/4/2019 12:01` as exported (month first, no seconds), or ISO text with
    seconds as the Excel workbook and Parquet re-exports hold it. -#}
{% macro xdr_timestamp_from_text(text) -%}
    {{ return(adapter.dispatch('xdr_timestamp_from_text', 'xdr_warehouse')(text)) }}
{%- endmacro %}
{% macro duckdb__xdr_timestamp_from_text(text) -%}
    try_strptime({{ text }}, [
        '%-m/%-d/%Y %-H:%M', '%Y-%m-%d %H:%M:%S', '%-m/%-d/%Y %-H:%M:%S', '%Y-%m-%d %H:%M:%S.%f'
    ])
{%- endmacro %}
{% macro spark__xdr_timestamp_from_text(text) -%}
    coalesce(
        to_timestamp({{ text }}, 'M/d/yyyy H:mm'),
        to_timestamp({{ text }}, 'yyyy-MM-dd HH:mm:ss'),
        to_timestamp({{ text }}, 'M/d/yyyy H:mm:ss'),
        to_timestamp({{ text }}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')
    )
{%- endmacro %}

{#- A 128-bit fingerprint of a record's fields (equal fields, equal hash):
    two 64-bit hashes in opposite field order on DuckDB, MD5 on Spark. -#}
{% macro xdr_record_hash(expressions) -%}
    {{ return(adapter.dispatch('xdr_record_hash', 'xdr_warehouse')(expressions)) }}
{%- endmacro %}
{% macro duckdb__xdr_record_hash(expressions) -%}
    (cast(hash({{ expressions | join(', ') }}) as uhugeint) << 64)
        | cast(hash({{ expressions | reverse | join(', ') }}) as uhugeint)
{%- endmacro %}
{% macro spark__xdr_record_hash(expressions) -%}
    md5(concat_ws(chr(31), {% for e in expressions %}coalesce(cast({{ e }} as string), chr(30)){{ ", " if not loop.last }}{% endfor %}))
{%- endmacro %}

{#- A bucket 0..buckets-1 of a customer number, to aggregate customers in passes. -#}
{% macro xdr_bucket(expression, buckets) -%}
    {{ return(adapter.dispatch('xdr_bucket', 'xdr_warehouse')(expression, buckets)) }}
{%- endmacro %}
{% macro duckdb__xdr_bucket(expression, buckets) -%}
    hash({{ expression }}) % {{ buckets }}
{%- endmacro %}
{% macro spark__xdr_bucket(expression, buckets) -%}
    pmod(xxhash64({{ expression }}), {{ buckets }})
{%- endmacro %}

{#- A number 0 .. 2^32-1 from the MD5 of a customer number and a seed: the same
    on every engine, so that samples drawn with it are the same everywhere. -#}
{% macro xdr_sample_key(msisdn, seed) -%}
    {{ return(adapter.dispatch('xdr_sample_key', 'xdr_warehouse')(msisdn, seed)) }}
{%- endmacro %}
{% macro duckdb__xdr_sample_key(msisdn, seed) -%}
    cast(('0x' || substr(md5('{{ seed | int }}:' || cast({{ msisdn }} as varchar)), 1, 8)) as bigint)
{%- endmacro %}
{% macro spark__xdr_sample_key(msisdn, seed) -%}
    cast(conv(substr(md5(concat('{{ seed | int }}:', cast({{ msisdn }} as string))), 1, 8), 16, 10) as bigint)
{%- endmacro %}

{#- A DOUBLE that holds a whole number exactly (|x| < 2^53) as BIGINT, else NULL:
    `7.5`, infinities and NaN are not whole numbers, and larger values could not
    be told apart from their neighbours. -#}
{% macro xdr_whole_number(number) -%}
    case
        when abs({{ number }}) < 9007199254740992 and {{ number }} = floor({{ number }})
            then cast({{ number }} as bigint)
    end
{%- endmacro %}

{#- dbt's cast() (dispatched in the dbt namespace, so the root project's
    spark__cast wins on Spark): enforced contracts cast NULL to each column's
    data_type to learn the contract's schema, and the contracts name DuckDB
    types, the types of the published BI file. On Spark they are translated. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ xdr_spark_type(type) }})
{%- endmacro %}

{#- The Spark type of a DuckDB type name of the contracts (others unchanged). -#}
{% macro xdr_spark_type(type) -%}
    {%- set spark_names = {
        'varchar': 'string',
        'text': 'string',
        'varchar[]': 'array<string>',
        'hugeint': 'decimal(38,0)',
        'ubigint': 'decimal(20,0)',
    } -%}
    {{- spark_names.get(type | trim | lower, type) -}}
{%- endmacro %}

{#- An integer type wide enough to sum BIGINTs exactly (tests compare totals). -#}
{% macro xdr_wide_integer() -%}
    {{ return(adapter.dispatch('xdr_wide_integer', 'xdr_warehouse')()) }}
{%- endmacro %}
{% macro duckdb__xdr_wide_integer() -%}
    hugeint
{%- endmacro %}
{% macro spark__xdr_wide_integer() -%}
    decimal(38, 0)
{%- endmacro %}

{#- A 64-bit hash of a value as the wide integer type, for order-independent
    checksums of key sets (sum of the hashes). -#}
{% macro xdr_key_hash(expression) -%}
    {{ return(adapter.dispatch('xdr_key_hash', 'xdr_warehouse')(expression)) }}
{%- endmacro %}
{% macro duckdb__xdr_key_hash(expression) -%}
    cast(hash({{ expression }}) as hugeint)
{%- endmacro %}
{% macro spark__xdr_key_hash(expression) -%}
    cast(xxhash64({{ expression }}) as decimal(38, 0))
{%- endmacro %}

{#- A list of string constants as a list value (index it with xdr_list_element). -#}
{% macro xdr_string_list(items) -%}
    {{ return(adapter.dispatch('xdr_string_list', 'xdr_warehouse')(items)) }}
{%- endmacro %}
{% macro duckdb__xdr_string_list(items) -%}
    [{% for item in items %}{{ xdr_string_literal(item) }}{{ ", " if not loop.last }}{% endfor %}]
{%- endmacro %}
{% macro spark__xdr_string_list(items) -%}
    array({% for item in items %}{{ xdr_string_literal(item) }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- The exact sum of an integer expression: DuckDB sums BIGINT into HUGEINT;
    Spark sums BIGINT into BIGINT and, with ANSI mode off (dbt-spark's
    setting), wraps around on overflow, so it sums decimals. -#}
{% macro xdr_exact_sum(expression) -%}
    {{ return(adapter.dispatch('xdr_exact_sum', 'xdr_warehouse')(expression)) }}
{%- endmacro %}
{% macro duckdb__xdr_exact_sum(expression) -%}
    sum({{ expression }})
{%- endmacro %}
{% macro spark__xdr_exact_sum(expression) -%}
    sum(cast({{ expression }} as decimal(38, 0)))
{%- endmacro %}

{#- The exact total of an integer expression as decimal(38, 0), 0 over no
    rows: the same type on both engines, for totals compared across tables. -#}
{% macro xdr_exact_total(expression) -%}
    cast(coalesce({{ xdr_exact_sum(expression) }}, 0) as decimal(38, 0))
{%- endmacro %}

{#- The record number of a line of a text export (raw.xdr_lines; line 1 is the
    header, so record n is line n + 1). DuckDB's raw layer has no line
    numbers: int_records_loaded numbers the lines after storing them, in the
    order they were read (post-hook xdr_finish_load). Spark's raw layer has
    them (ingest counts the lines of each block of the file). -#}
{% macro xdr_text_record_number() -%}
    {{ return(adapter.dispatch('xdr_text_record_number', 'xdr_warehouse')()) }}
{%- endmacro %}
{% macro duckdb__xdr_text_record_number() -%}
    cast(null as bigint)
{%- endmacro %}
{% macro spark__xdr_text_record_number() -%}
    line_number - 1
{%- endmacro %}

{#- int_records_loaded's line columns, as {number, detail, raw_line, reencoded}
    expressions over its stg_xdr__records rows, and `joins` to append to its
    from clause. DuckDB fills them in a post-hook (xdr_finish_load); Spark
    cannot update a Parquet table, so its line numbers and the notes of
    ingest's pre-scan (raw.xdr_line_notes: a line too long to read, a line
    re-encoded) are joined in as the rows are written. -#}
{% macro xdr_line_columns() -%}
    {{ return(adapter.dispatch('xdr_line_columns', 'xdr_warehouse')()) }}
{%- endmacro %}
{% macro duckdb__xdr_line_columns() -%}
    {{ return({
        'number': 'cast(null as bigint)',
        'detail': 'quarantine_detail',
        'raw_line': 'raw_line',
        'reencoded': 'false',
        'joins': '',
    }) }}
{%- endmacro %}
{% macro spark__xdr_line_columns() -%}
    {%- set joins -%}
    {# #}
    left join (
        select file_id as line_file_id
        from {{ source('xdr', 'files') }}
        where reader = 'lines'
    ) as text_files on file_id = text_files.line_file_id
    left join (
        select
            file_id as noted_file_id,
            line_number as noted_line_number,
            max(case when note = 'line_too_long' then detail end) as noted_detail,
            max(case when note = 'line_too_long' then raw_text end) as noted_raw_text,
            bool_or(note = 'text_reencoded') as noted_reencoded
        from {{ source('xdr', 'line_notes') }}
        group by file_id, line_number
    ) as notes on file_id = notes.noted_file_id and record_number + 1 = notes.noted_line_number
    {%- endset -%}
    {{ return({
        'number': 'case when line_file_id is not null then record_number + 1 end',
        'detail': 'coalesce(noted_detail, quarantine_detail)',
        'raw_line': 'coalesce(noted_raw_text, raw_line)',
        'reencoded': 'coalesce(noted_reencoded, false)',
        'joins': joins,
    }) }}
{%- endmacro %}

{#- Seeds on Spark: dbt-spark's session connection pastes each seed value into
    the insert between quotes without escaping them, so a value with an
    apostrophe ("the export's summary row") breaks the statement. This is
    dbt-spark's spark__load_csv_rows (the root project's version wins) with
    every value written as an escaped literal instead of a binding. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            (
                {%- for value in row -%}
                {%- set column = agate_table.column_names[loop.index0] -%}
                {%- set type = column_override.get(column, adapter.convert_type(agate_table, loop.index0)) -%}
                cast({{ xdr_seed_literal(value) }} as {{ type }}){{ ", " if not loop.last }}
                {%- endfor -%}
            ){{ "," if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#- A seed value as a SQL literal: NULL, a number, true/false or a string. -#}
{% macro xdr_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ value | lower }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        {{ xdr_string_literal(value | string) }}
    {%- endif -%}
{%- endmacro %}

{#- Written between a CTE's name and its `as (`: the CTE is inlined into every
    part of the query that reads it instead of computed once into a temporary
    result. DuckDB materializes a CTE read more than once; when each reader
    needs only a few columns or a top-N of a large table, inlining lets each one
    read just that (top_users_by_application: 0.6 s -> 0.25 s at 7M customers).
    Spark inlines CTEs already. -#}
{% macro xdr_inline_cte() -%}
    {{ return(adapter.dispatch('xdr_inline_cte', 'xdr_warehouse')()) }}
{%- endmacro %}
{% macro default__xdr_inline_cte() -%}
{%- endmacro %}
{% macro duckdb__xdr_inline_cte() -%}
    not materialized
{%- endmacro %}
