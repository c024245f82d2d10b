{{
    config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="source_file",
        on_schema_change="fail",
        post_hook="{{ xdr_insert_rejected_lines() }}",
    )
}}

-- depends_on: {{ ref('stg_xdr__files') }}
{%- set files = xdr_files_to_load() %}
{%- set raw_columns = xdr_raw_columns() %}
{%- set required = [
    "Start", "End", "Dur. (ms).1",
    "Social Media DL (Bytes)", "Social Media UL (Bytes)", "Google DL (Bytes)",
    "Google UL (Bytes)", "Email DL (Bytes)", "Email UL (Bytes)", "Youtube DL (Bytes)",
    "Youtube UL (Bytes)", "Netflix DL (Bytes)", "Netflix UL (Bytes)", "Gaming DL (Bytes)",
    "Gaming UL (Bytes)", "Other DL (Bytes)", "Other UL (Bytes)", "Total UL (Bytes)",
    "Total DL (Bytes)",
] %}

with

raw_records as (
    {{ xdr_read_files(files) }}
),

typed as (
    select
        source_file,
        file_signature,
        record_number,
        line_number,
        md5_number(concat_ws(chr(31),
            {%- for column in raw_columns %}
            coalesce({{ adapter.quote(column[0]) }}, chr(30)){{ "," if not loop.last }}
            {%- endfor %}
        )) as record_hash,
        {%- for column in raw_columns %}
        {{ xdr_cast(adapter.quote(column[0]), column[2]) }} as {{ column[1] }},
        {%- endfor %}
        -- which non-empty fields did not cast to their type
        concat_ws(', ',
            {%- for column in raw_columns if column[2] != "text" %}
            case
                when {{ adapter.quote(column[0]) }} is not null
                    and {{ xdr_cast(adapter.quote(column[0]), column[2]) }} is null
                    then {{ dbt.string_literal(column[0]) }}
            end{{ "," if not loop.last }}
            {%- endfor %}
        ) as invalid_columns,
        -- which fields a session needs are empty
        concat_ws(', ',
            {%- for name in required %}
            case when {{ adapter.quote(name) }} is null then {{ dbt.string_literal(name) }} end
            {{- "," if not loop.last }}
            {%- endfor %}
        ) as missing_columns,
        -- the export's trailing row of column means: only the app columns are filled
        (
            "Bearer Id" is null and "Start" is null and "End" is null
            and "MSISDN/Number" is null and "IMSI" is null
            and "Total UL (Bytes)" is null and "Total DL (Bytes)" is null
            and "Gaming DL (Bytes)" is not null
        ) as is_summary_row
    from raw_records
),

checked as (
    select
        *,
        concat_ws(', ',
            {%- for column in raw_columns if column[2] in ("integer", "percent") %}
            case when {{ column[1] }} < 0 then {{ dbt.string_literal(column[0]) }} end
            {{- "," if not loop.last }}
            {%- endfor %}
        ) as negative_columns,
        concat_ws(', ',
            {%- for column in raw_columns if column[2] == "percent" %}
            case when {{ column[1] }} > 100 then {{ dbt.string_literal(column[0]) }} end
            {{- "," if not loop.last }}
            {%- endfor %}
        ) as out_of_range_columns
    from typed
),

final as (
    select
        source_file,
        file_signature,
        record_number,
        line_number,
        record_hash,
        {%- for column in raw_columns %}
        {{ column[1] }},
        {%- endfor %}
        case
            when is_summary_row or invalid_columns <> '' or missing_columns <> ''
                or negative_columns <> '' or out_of_range_columns <> ''
                or ended_at < started_at
                then 'quarantined'
            else 'loaded'
        end as record_status,
        case
            when is_summary_row then 'summary_row'
            when invalid_columns <> '' then 'invalid_value'
            when missing_columns <> '' then 'missing_value'
            when negative_columns <> '' then 'negative_value'
            when out_of_range_columns <> '' then 'percent_out_of_range'
            when ended_at < started_at then 'end_before_start'
        end as quarantine_reason,
        case
            when is_summary_row then 'trailing row of column means written by the export'
            when invalid_columns <> '' then 'not a valid value: ' || invalid_columns
            when missing_columns <> '' then 'empty required field: ' || missing_columns
            when negative_columns <> '' then 'negative: ' || negative_columns
            when out_of_range_columns <> '' then 'outside 0..100: ' || out_of_range_columns
            when ended_at < started_at then 'End is before Start'
        end as quarantine_detail,
        cast(null as varchar) as raw_line
    from checked
)

select * from final
