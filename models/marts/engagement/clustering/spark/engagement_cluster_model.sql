-- Spark twin of the Python model engagement_cluster_model (DuckDB): the fitted
-- cluster model, one row per (model version, cluster), as the Python stage of
-- `xdr build` wrote it (source clustering_stage). Enabled on Spark only.

with

models as (
    select * from {{ source('clustering_stage', 'cluster_models') }}
),

final as (
    select * from models
)

select * from final
