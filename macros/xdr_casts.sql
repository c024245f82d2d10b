{#- Explicit, strict casts from the raw text of an xDR field. Each returns NULL
    when the text is not a valid value of its kind; stg_xdr__records quarantines
    a record whose non-empty field casts to NULL. -#}

{#- Whole numbers: `770`, pandas' `770.0` and Excel's `7.7E+002` are the same
    integer; `7.5` or `abc` are not integers (plain try_cast would round 7.5). -#}
{% macro xdr_cast_integer(raw) -%}
    case
        when not contains({{ raw }}, '.') then try_cast({{ raw }} as bigint)
        when try_cast({{ raw }} as double) = floor(try_cast({{ raw }} as double))
            then try_cast({{ raw }} as bigint)
    end
{%- endmacro %}

{#- Float-formatted identifiers such as `1.31144834608449E+019`: exact decimal
    value of the text, never BIGINT (they exceed its range). -#}
{% macro xdr_cast_id_decimal(raw) -%}
    try_cast({{ raw }} as decimal(38, 0))
{%- endmacro %}

{#- `4/4/2019 12:01` as exported (month first, no seconds), or ISO text with
    seconds as the Excel workbook holds it. -#}
{% macro xdr_cast_timestamp(raw) -%}
    try_strptime({{ raw }}, ['%-m/%-d/%Y %-H:%M', '%Y-%m-%d %H:%M:%S', '%-m/%-d/%Y %-H:%M:%S'])
{%- endmacro %}

{% macro xdr_cast(raw, kind) -%}
    {%- if kind in ("integer", "percent") -%}
        {{ xdr_cast_integer(raw) }}
    {%- elif kind == "id_decimal" -%}
        {{ xdr_cast_id_decimal(raw) }}
    {%- elif kind == "timestamp" -%}
        {{ xdr_cast_timestamp(raw) }}
    {%- else -%}
        {{ raw }}
    {%- endif -%}
{%- endmacro %}
