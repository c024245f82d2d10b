{{
    config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="fail",
    )
}}

-- One row per file version loaded: its records by outcome and the sums of its
-- loaded records (every copy, duplicates included; int_records_duplicated holds
-- the copies to take out). A version never changes, so its row is computed once,
-- when it is loaded; the audit and the application totals add these rows up
-- instead of reading every record again.

{%- set reasons = xdr_quarantine_reasons() %}
{%- set named_dl = xdr_total_dl_parts() %}
{%- set every_ul = xdr_total_ul_parts() %}

with

records as (
    select loaded.*
    from {{ ref('int_records_loaded') }} as loaded
    {%- if is_incremental() %}
        {%- set new_file_ids = xdr_file_ids_not_in_this(ref('int_records_loaded')) %}
    where loaded.file_id in ({{ new_file_ids | join(', ') if new_file_ids else 'null' }})
    {%- endif %}
),

final as (
    select
        file_id,
        cast(count(*) as bigint) as read_record_count,
        cast(count(case when record_status = 'loaded' then 1 end) as bigint)
            as loaded_record_count,
        {%- for reason in reasons if reason != "duplicate_record" %}
        cast(count(case when quarantine_reason = {{ xdr_string_literal(reason) }} then 1 end)
            as bigint) as {{ reason }}_count,
        {%- endfor %}
        cast(count(case when is_text_reencoded then 1 end) as bigint) as text_reencoded_count,
        cast(count(case when record_status = 'loaded' and msisdn is null then 1 end) as bigint)
            as unattributed_record_count,
        cast(count(case when record_status = 'loaded' and not has_bearer_id then 1 end) as bigint)
            as no_bearer_id_record_count,
        cast(count(
            case
                when record_status = 'loaded' and (
                    total_dl_bytes <> {{ named_dl | join(" + ") }}
                    or total_ul_bytes <> {{ every_ul | join(" + ") }}
                ) then 1
            end
        ) as bigint) as total_identity_mismatch_count,
        {%- for column in ["duration_ms", "total_dl_bytes", "total_ul_bytes"] %}
        cast(coalesce(sum(case when record_status = 'loaded' then {{ column }} end), 0) as bigint)
            as {{ column }},
        cast(coalesce(sum(
            case when record_status = 'loaded' and msisdn is null then {{ column }} end
        ), 0) as bigint) as unattributed_{{ column }},
        {%- endfor %}
        {%- for app in xdr_application_columns() %}
        {%- for column in [app[1], app[2]] %}
        cast(coalesce(sum(case when record_status = 'loaded' then {{ column }} end), 0) as bigint)
            as {{ column }},
        cast(coalesce(sum(
            case when record_status = 'loaded' and msisdn is null then {{ column }} end
        ), 0) as bigint) as unattributed_{{ column }}{{ "," if not loop.last }}
        {%- endfor %}{{ "," if not loop.last }}
        {%- endfor %}
    from records
    group by file_id
)

select * from final
