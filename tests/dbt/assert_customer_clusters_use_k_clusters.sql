-- customer_clusters uses exactly var('cluster_k') clusters, ids 0..k-1, or
-- every distinct customer as its own cluster when there are fewer distinct
-- (session_count, total_duration_ms, total_traffic_bytes) rows than k. Fails
-- with one row describing the mismatch.

with

customers as (
    select * from {{ ref('customer_engagement') }}
),

clusters as (
    select * from {{ ref('customer_clusters') }}
),

-- counted up to var('cluster_k'), all the check needs: DuckDB stops reading there
feature_rows as (
    select distinct
        session_count,
        total_duration_ms,
        total_traffic_bytes
    from customers
    limit {{ var('cluster_k') }}
),

distinct_points as (
    select count(*) as points
    from feature_rows
),

used as (
    select
        count(distinct cluster_id) as clusters_used,
        coalesce(min(cluster_id), 0) as min_id,
        coalesce(max(cluster_id), -1) as max_id
    from clusters
),

final as (
    select
        used.clusters_used,
        used.min_id,
        used.max_id,
        least({{ var('cluster_k') }}, distinct_points.points) as expected_clusters
    from distinct_points
    cross join used
)

select * from final
where
    clusters_used != expected_clusters
    or (clusters_used > 0 and (min_id != 0 or max_id != clusters_used - 1))
