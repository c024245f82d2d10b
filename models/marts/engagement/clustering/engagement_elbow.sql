-- One row per k of the elbow curve of the latest cluster model: k-means inertia
-- on the elbow sample and whether k is the elbow (engagement_elbow_curve, the
-- Python stage, keeps one curve per model).

with

latest_model as (
    select models.cluster_model_id
    from {{ ref('engagement_cluster_model') }} as models
    where models.model_version = (
        select max(versions.model_version)
        from {{ ref('engagement_cluster_model') }} as versions
    )
),

curve as (
    select curves.*
    from {{ ref('engagement_elbow_curve') }} as curves
    where curves.cluster_model_id in (select latest_model.cluster_model_id from latest_model)
),

final as (
    select
        cast(k as integer) as k,
        cast(inertia as double) as inertia,
        is_elbow,
        cast(elbow_method as {{ dbt.type_string() }}) as elbow_method,
        cast(sample_size as bigint) as sample_size,
        cast(customer_count as bigint) as customer_count,
        cast(distinct_point_count as bigint) as distinct_point_count,
        cast(scaler as {{ dbt.type_string() }}) as scaler,
        cast(seed as bigint) as seed
    from curve
)

select * from final
