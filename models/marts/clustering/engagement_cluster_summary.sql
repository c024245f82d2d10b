-- One row per (engagement cluster, metric): min, max, average and total of the
-- non-normalized metric over the cluster's customers, and the cluster's size.

with

clusters as (
    select * from {{ ref('customer_clusters') }}
),

customers as (
    select * from {{ ref('customer_engagement') }}
),

labelled as (
    select
        clusters.cluster_id,
        clusters.engagement_level,
        customers.session_count,
        customers.total_duration_ms,
        customers.total_traffic_bytes
    from clusters
    inner join customers on clusters.msisdn = customers.msisdn
),

metric_values as (
    {%- for metric, column in [
        ('sessions', 'session_count'),
        ('duration_ms', 'total_duration_ms'),
        ('traffic_bytes', 'total_traffic_bytes'),
    ] %}
    {% if not loop.first %}union all{% endif %}
    select
        cluster_id,
        engagement_level,
        '{{ metric }}' as metric,
        {{ column }} as metric_value
    from labelled
    {%- endfor %}
),

cluster_metrics as (
    select
        cluster_id,
        engagement_level,
        metric,
        min(metric_value) as min_value,
        max(metric_value) as max_value,
        avg(metric_value) as avg_value,
        sum(metric_value) as total_value,
        count(*) as customers
    from metric_values
    group by cluster_id, engagement_level, metric
),

final as (
    select
        cast(cluster_id as integer) as cluster_id,
        cast(engagement_level as varchar) as engagement_level,
        cast(metric as varchar) as metric,
        cast(min_value as bigint) as min_value,
        cast(max_value as bigint) as max_value,
        cast(avg_value as double) as avg_value,
        cast(total_value as bigint) as total_value,
        cast(customers as bigint) as customers,
        cast(customers as double) / sum(customers) over (partition by metric) as customer_share
    from cluster_metrics
)

select * from final
