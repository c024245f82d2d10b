-- One row per record read from the input, with its 55 fields typed and its
-- outcome: loaded, or quarantined with the reason and the columns behind it.
-- A view that reads the files when queried; int_records_loaded selects the file
-- versions it has not loaded yet, so each file is read once.
--
-- Text exports arrive as lines (source xdr.lines): a line is one record, split
-- on commas (the export never quotes), and each field is cast strictly from its
-- text. Parquet exports arrive typed (source xdr.parquet_rows): their numbers
-- never go through text. Both meet in the same checks.

{%- set columns = xdr_raw_columns() %}
{%- set numeric_kinds = ["integer", "percent"] %}
{%- set staging_name = {} %}
{%- set text_columns = [] %}
{%- for column in columns %}
    {%- do staging_name.update({column[0]: column[1]}) %}
    {%- do text_columns.append(column[1] ~ '__text') %}
{%- endfor %}
{%- set required = [
    "Start", "End", "Dur. (ms).1",
    "Social Media DL (Bytes)", "Social Media UL (Bytes)", "Google DL (Bytes)",
    "Google UL (Bytes)", "Email DL (Bytes)", "Email UL (Bytes)", "Youtube DL (Bytes)",
    "Youtube UL (Bytes)", "Netflix DL (Bytes)", "Netflix UL (Bytes)", "Gaming DL (Bytes)",
    "Gaming UL (Bytes)", "Other DL (Bytes)", "Other UL (Bytes)", "Total UL (Bytes)",
    "Total DL (Bytes)",
] %}

with

lines as (
    select * from {{ source('xdr', 'lines') }}
),

parquet_rows as (
    select * from {{ source('xdr', 'parquet_rows') }}
),

line_fields as (
    select
        file_id,
        {{ xdr_text_record_number() }} as record_number,
        line,
        field_count,
        field_positions,
        {{ xdr_split_fields('line') }} as parts
    from lines
),

text_fields as (
    -- each xDR column's text, taken from its position in this file's header
    select
        file_id,
        record_number,
        line as raw_line,
        field_count as expected_field_count,
        {{ xdr_list_length('parts') }} as found_field_count,
        {%- for column in columns %}
        nullif(
            {{ xdr_list_element('parts', xdr_list_element('field_positions', loop.index)) }}, ''
        ) as {{ column[1] }}__text{{ "," if not loop.last }}
        {%- endfor %}
    from line_fields
),

text_records as (
    select
        file_id,
        record_number,
        raw_line,
        expected_field_count,
        found_field_count,
        {{ xdr_record_hash(text_columns) }} as record_hash,
        {%- for column in columns %}
        {%- if column[2] in numeric_kinds %}
        {{ xdr_double_from_text(column[1] ~ '__text') }} as {{ column[1] }}__number,
        {{ column[1] }}__text is not null as {{ column[1] }}__present{{ "," if not loop.last }}
        {%- else %}
        {{ column[1] }}__text{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from text_fields
),

parquet_records as (
    select
        file_id,
        record_number,
        cast(null as {{ dbt.type_string() }}) as raw_line,
        cast(null as integer) as expected_field_count,
        cast(null as integer) as found_field_count,
        {{ xdr_record_hash(columns | map(attribute=1) | list) }} as record_hash,
        {%- for column in columns %}
        {%- if column[2] in numeric_kinds %}
        {{ column[1] }} as {{ column[1] }}__number,
        {{ column[1] }} is not null as {{ column[1] }}__present{{ "," if not loop.last }}
        {%- else %}
        {{ column[1] }} as {{ column[1] }}__text{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from parquet_rows
),

records as (
    select * from text_records
    union all
    select * from parquet_records
),

typed as (
    -- each field cast once; whether it was filled stays beside it for the checks
    select
        file_id,
        record_number,
        raw_line,
        expected_field_count,
        found_field_count,
        record_hash,
        {%- for column in columns %}
        {%- if column[2] in numeric_kinds %}
        {{ xdr_whole_number(column[1] ~ '__number') }} as {{ column[1] }},
        {{ column[1] }}__present{{ "," if not loop.last }}
        {%- else %}
        {%- if column[2] == "id_decimal" %}
        {{ xdr_decimal_from_text(column[1] ~ '__text') }} as {{ column[1] }},
        {%- elif column[2] == "timestamp" %}
        {{ xdr_timestamp_from_text(column[1] ~ '__text') }} as {{ column[1] }},
        {%- else %}
        {{ column[1] }}__text as {{ column[1] }},
        {%- endif %}
        {{ column[1] }}__text is not null as {{ column[1] }}__present{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from records
),

checked as (
    -- one flag per check; the text naming the columns is built only for the
    -- quarantined records (in final)
    select
        *,
        coalesce(found_field_count <> expected_field_count, false)
            or (raw_line is null and expected_field_count is not null) as is_malformed_line,
        -- the export's trailing row of column means: only the app columns are filled
        not bearer_id__present and not started_at__present and not ended_at__present
            and not msisdn__present and not imsi__present
            and not total_ul_bytes__present and not total_dl_bytes__present
            and gaming_dl_bytes__present as is_summary_row,
        -- a filled field that is not a valid value of its kind
        (
            {%- for column in columns if column[2] != "text" %}
            ({{ column[1] }}__present and {{ column[1] }} is null)
            {{- " or" if not loop.last }}
            {%- endfor %}
        ) as has_invalid_value,
        -- an empty field a session needs
        (
            {%- for name in required %}
            not {{ staging_name[name] }}__present{{ " or" if not loop.last }}
            {%- endfor %}
        ) as has_missing_value,
        coalesce(
            {%- for column in columns if column[2] in numeric_kinds %}
            {{ column[1] }} < 0{{ " or" if not loop.last }}
            {%- endfor %},
            false
        ) as has_negative_value,
        coalesce(
            {%- for column in columns if column[2] == "percent" %}
            {{ column[1] }} > 100{{ " or" if not loop.last }}
            {%- endfor %},
            false
        ) as has_percent_out_of_range,
        coalesce(ended_at < started_at, false) as has_end_before_start
    from typed
),

classified as (
    select
        *,
        case
            when is_malformed_line then 'malformed_line'
            when is_summary_row then 'summary_row'
            when has_invalid_value then 'invalid_value'
            when has_missing_value then 'missing_value'
            when has_negative_value then 'negative_value'
            when has_percent_out_of_range then 'percent_out_of_range'
            when has_end_before_start then 'end_before_start'
        end as quarantine_reason
    from checked
),

final as (
    select
        file_id,
        record_number,
        record_hash,
        {%- for column in columns %}
        {{ column[1] }},
        {%- endfor %}
        case when quarantine_reason is null then 'loaded' else 'quarantined' end
            as record_status,
        quarantine_reason,
        case quarantine_reason
            when 'malformed_line' then
                case
                    when raw_line is null then 'empty line'
                    else 'expected ' || cast(expected_field_count as {{ dbt.type_string() }})
                        || ' comma-separated fields, found '
                        || cast(found_field_count as {{ dbt.type_string() }})
                end
            when 'summary_row' then 'trailing row of column means written by the export'
            when 'invalid_value' then 'not a valid value: ' || concat_ws(', ',
                {%- for column in columns if column[2] != "text" %}
                case
                    when {{ column[1] }}__present and {{ column[1] }} is null
                        then {{ xdr_string_literal(column[0]) }}
                end{{ "," if not loop.last }}
                {%- endfor %}
            )
            when 'missing_value' then 'empty required field: ' || concat_ws(', ',
                {%- for name in required %}
                case
                    when not {{ staging_name[name] }}__present
                        then {{ xdr_string_literal(name) }}
                end{{ "," if not loop.last }}
                {%- endfor %}
            )
            when 'negative_value' then 'negative: ' || concat_ws(', ',
                {%- for column in columns if column[2] in numeric_kinds %}
                case when {{ column[1] }} < 0 then {{ xdr_string_literal(column[0]) }} end
                {{- "," if not loop.last }}
                {%- endfor %}
            )
            when 'percent_out_of_range' then 'outside 0..100: ' || concat_ws(', ',
                {%- for column in columns if column[2] == "percent" %}
                case when {{ column[1] }} > 100 then {{ xdr_string_literal(column[0]) }} end
                {{- "," if not loop.last }}
                {%- endfor %}
            )
            when 'end_before_start' then 'End is before Start'
        end as quarantine_detail,
        raw_line
    from classified
)

select * from final
