{{ config(materialized="table") }}

-- The file versions this build adds to or removes from the marts: the current
-- input compared with the versions the last complete passing build applied
-- (source build_state). A failed build applies nothing, so the next build finds
-- the same changes again and the incremental models, which recompute every key
-- a change touches from the stored records, end up the same. A full refresh
-- adds every current version.

with

current_versions as (
    select file_id
    from {{ ref('stg_xdr__files') }}
    where is_current
),

applied as (
    select file_id
    from {{ source('build_state', 'applied_file_versions') }}
    {%- if flags.FULL_REFRESH %}
    where false
    {%- endif %}
),

added as (
    select
        current_versions.file_id,
        'added' as change_type
    from current_versions
    left join applied on current_versions.file_id = applied.file_id
    where applied.file_id is null
),

removed as (
    select
        applied.file_id,
        'removed' as change_type
    from applied
    left join current_versions on applied.file_id = current_versions.file_id
    where current_versions.file_id is null
),

final as (
    select * from added
    union all
    select * from removed
)

select * from final
