{{
    config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="source_file",
        on_schema_change="fail",
        pre_hook="{{ xdr_delete_reloaded_files() }}",
        post_hook=[{"sql": "{{ xdr_finish_load() }}", "transaction": false}],
    )
}}

-- depends_on: {{ ref('stg_xdr__files') }}
{%- set files = xdr_files_to_load() %}
{%- set raw_columns = xdr_raw_columns() %}
{%- set staging_name = {} %}
{%- for column in raw_columns %}{% do staging_name.update({column[0]: column[1]}) %}{% endfor %}
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
    -- each field cast once; its text stays beside it (raw_*) for the checks below
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
        {{ adapter.quote(column[0]) }} as raw_{{ column[1] }},
        {{ xdr_cast(adapter.quote(column[0]), column[2]) }}
            as {{ column[1] }}{{ "," if not loop.last }}
        {%- endfor %}
    from raw_records
),

checked as (
    -- one flag per check; the text naming the columns is built only for the
    -- quarantined records (in final)
    select
        *,
        -- the export's trailing row of column means: only the app columns are filled
        coalesce(
            raw_bearer_id is null and raw_started_at is null and raw_ended_at is null
            and raw_msisdn is null and raw_imsi is null
            and raw_total_ul_bytes is null and raw_total_dl_bytes is null
            and raw_gaming_dl_bytes is not null,
            false
        ) as is_summary_row,
        -- a non-empty field that did not cast to its type
        (
            {%- for column in raw_columns if column[2] != "text" %}
            (raw_{{ column[1] }} is not null and {{ column[1] }} is null)
            {{- " or" if not loop.last }}
            {%- endfor %}
        ) as has_invalid_value,
        -- an empty field a session needs
        (
            {%- for name in required %}
            raw_{{ staging_name[name] }} is null{{ " or" if not loop.last }}
            {%- endfor %}
        ) as has_missing_value,
        coalesce(
            {%- for column in raw_columns if column[2] in ("integer", "percent") %}
            {{ column[1] }} < 0{{ " or" if not loop.last }}
            {%- endfor %},
            false
        ) as has_negative_value,
        coalesce(
            {%- for column in raw_columns if column[2] == "percent" %}
            {{ column[1] }} > 100{{ " or" if not loop.last }}
            {%- endfor %},
            false
        ) as has_percent_out_of_range,
        coalesce(ended_at < started_at, false) as has_end_before_start
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
            when is_summary_row or has_invalid_value or has_missing_value
                or has_negative_value or has_percent_out_of_range or has_end_before_start
                then 'quarantined'
            else 'loaded'
        end as record_status,
        case
            when is_summary_row then 'summary_row'
            when has_invalid_value then 'invalid_value'
            when has_missing_value then 'missing_value'
            when has_negative_value then 'negative_value'
            when has_percent_out_of_range then 'percent_out_of_range'
            when has_end_before_start then 'end_before_start'
        end as quarantine_reason,
        case
            when is_summary_row then 'trailing row of column means written by the export'
            when has_invalid_value then 'not a valid value: ' || concat_ws(', ',
                {%- for column in raw_columns if column[2] != "text" %}
                case
                    when raw_{{ column[1] }} is not null and {{ column[1] }} is null
                        then {{ dbt.string_literal(column[0]) }}
                end{{ "," if not loop.last }}
                {%- endfor %}
            )
            when has_missing_value then 'empty required field: ' || concat_ws(', ',
                {%- for name in required %}
                case
                    when raw_{{ staging_name[name] }} is null then {{ dbt.string_literal(name) }}
                end{{ "," if not loop.last }}
                {%- endfor %}
            )
            when has_negative_value then 'negative: ' || concat_ws(', ',
                {%- for column in raw_columns if column[2] in ("integer", "percent") %}
                case when {{ column[1] }} < 0 then {{ dbt.string_literal(column[0]) }} end
                {{- "," if not loop.last }}
                {%- endfor %}
            )
            when has_percent_out_of_range then 'outside 0..100: ' || concat_ws(', ',
                {%- for column in raw_columns if column[2] == "percent" %}
                case when {{ column[1] }} > 100 then {{ dbt.string_literal(column[0]) }} end
                {{- "," if not loop.last }}
                {%- endfor %}
            )
            when has_end_before_start then 'End is before Start'
        end as quarantine_detail,
        cast(null as varchar) as raw_line
    from checked
)

select * from final
