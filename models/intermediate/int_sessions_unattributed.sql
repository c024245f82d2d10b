{{
    config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="fail",
        pre_hook="{{ xdr_delete_unattributed_changes() }}",
    )
}}

-- depends_on: {{ ref('int_file_versions_changed') }}, {{ ref('int_record_hashes_changed') }}
-- The sessions without an MSISDN (first copies only): in no customer's totals,
-- counted apart in the audit and the application totals. Incremental: the
-- sessions of file versions this build adds or removes, and those whose
-- duplicate status this build can change, are recomputed.

with

sessions as (
    select deduplicated.*
    from {{ ref('int_sessions_deduplicated') }} as deduplicated
    where deduplicated.is_unattributed
        {%- if xdr_applies_changes() %}
        and (
            deduplicated.file_id in (
                select versions.file_id
                from {{ ref('int_file_versions_changed') }} as versions
                where versions.change_type = 'added'
            )
            or deduplicated.record_hash in (
                select changed_hashes.record_hash
                from {{ ref('int_record_hashes_changed') }} as changed_hashes
            )
        )
        {%- endif %}
),

final as (
    select
        file_id,
        record_number,
        record_hash,
        has_bearer_id,
        duration_ms,
        {%- for app in xdr_application_columns() %}
        {{ app[1] }},
        {{ app[2] }},
        {%- endfor %}
        total_ul_bytes,
        total_dl_bytes
    from sessions
)

select * from final
