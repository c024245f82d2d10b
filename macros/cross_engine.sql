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
