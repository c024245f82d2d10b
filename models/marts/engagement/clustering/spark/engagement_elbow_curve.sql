-- Spark twin of the Python model engagement_elbow_curve (DuckDB): inertia per k
-- on the elbow sample, as the Python stage of `xdr build` wrote it (source
-- clustering_stage). Enabled on Spark only.

with

curves as (
    select * from {{ source('clustering_stage', 'elbow_curves') }}
),

final as (
    select * from curves
)

select * from final
