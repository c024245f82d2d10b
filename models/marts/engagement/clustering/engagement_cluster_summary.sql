-- One row per (engagement cluster, metric): min, max, average and total of the
-- non-normalized metric over the cluster's customers, and the cluster's size.

with

clusters as (
    select * from {{ ref('customer_clusters') }}
),

model as (
    select distinct
        models.cluster_model_id,
        models.fitted_at
    from {{ ref('engagement_cluster_model') }} as models
    where models.model_version = (
        select max(versions.model_version)
        from {{ ref('engagement_cluster_model') }} as versions
    )
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
    {%- for metric, column in xdr_engagement_metrics() %}
    {% if not loop.first %}union all{% endif %}
    select
        cluster_id,
        engagement_level,
        {{ xdr_string_literal(metric) }} as metric,
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
        count(*) as customer_count
    from metric_values
    group by cluster_id, engagement_level, metric
),

final as (
    select
        cast(cluster_metrics.cluster_id as integer) as cluster_id,
        cast(cluster_metrics.engagement_level as {{ dbt.type_string() }}) as engagement_level,
        cast(cluster_metrics.metric as {{ dbt.type_string() }}) as metric,
        cast(cluster_metrics.min_value as bigint) as min_value,
        cast(cluster_metrics.max_value as bigint) as max_value,
        cast(cluster_metrics.avg_value as double) as avg_value,
        cast(cluster_metrics.total_value as bigint) as total_value,
        cast(cluster_metrics.customer_count as bigint) as customer_count,
        cast(cluster_metrics.customer_count as double)
            / sum(cluster_metrics.customer_count) over (partition by cluster_metrics.metric)
            as customer_share,
        cast(model.cluster_model_id as {{ dbt.type_string() }}) as cluster_model_id,
        model.fitted_at as model_fitted_at
    from cluster_metrics
    cross join model
)

select * from final
