{{
    config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="fail",
        pre_hook="{{ xdr_delete_relabelled_customers() }}",
    )
}}

-- depends_on: {{ ref('int_customers_changed') }}
-- One row per customer: the engagement cluster of the nearest centroid of the
-- latest cluster model, after the model's scaler. Computed here, in SQL, for
-- every customer, so no engine has to collect the customers onto one machine;
-- the Python stage only fits the model on a sample (engagement_cluster_model).
-- Incremental: the customers a build touches are labelled again with the
-- latest model; a new model labels every customer again.

{%- set features = ["session_count", "total_duration_ms", "total_traffic_bytes"] %}
{%- set k = [var('cluster_k') | int, 1] | max %}
{%- set relabel_all = not is_incremental() or xdr_full_build() or xdr_cluster_model_is_new() %}

with

customers as (
    select
        engagement.msisdn,
        engagement.session_count,
        engagement.total_duration_ms,
        engagement.total_traffic_bytes
    from {{ ref('customer_engagement') }} as engagement
    {%- if not relabel_all %}
    where engagement.msisdn in (
        select changed.msisdn from {{ ref('int_customers_changed') }} as changed
    )
    {%- endif %}
),

model as (
    select models.*
    from {{ ref('engagement_cluster_model') }} as models
    where models.model_version = (
        select max(versions.model_version)
        from {{ ref('engagement_cluster_model') }} as versions
    )
),

scaler as (
    select
        cluster_model_id,
        scaler,
        log_transform,
        {%- for feature in features %}
        center_{{ feature }},
        scale_{{ feature }}{{ "," if not loop.last }}
        {%- endfor %}
    from model
    where cluster_id = 0
),

centroids as (
    -- the k centroids in one row (NULL for ids the model did not use)
    select
        {%- for i in range(k) %}
        {%- set outer_loop = loop %}
        {%- for feature in features %}
        max(case when cluster_id = {{ i }} then centroid_{{ feature }} end)
            as c{{ i }}_{{ feature }}{{ "," if not (outer_loop.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from model
),

scaled as (
    select
        customers.msisdn,
        scaler.cluster_model_id,
        scaler.scaler,
        {%- for feature in features %}
        case
            when scaler.scale_{{ feature }} > 0
                then (
                    case
                        when scaler.log_transform
                            then ln(1 + cast(customers.{{ feature }} as double))
                        else cast(customers.{{ feature }} as double)
                    end - scaler.center_{{ feature }}
                ) / scaler.scale_{{ feature }}
            else 0
        end as scaled_{{ feature }}{{ "," if not loop.last }}
        {%- endfor %}
    from customers
    cross join scaler
),

distances as (
    select
        scaled.*,
        {%- for i in range(k) %}
        {%- for feature in features %}
        {%- set difference = "(scaled_" ~ feature ~ " - c" ~ i ~ "_" ~ feature ~ ")" %}
        {{ difference }} * {{ difference }}{{ " +" if not loop.last }}
        {%- endfor %} as distance_{{ i }}{{ "," if not loop.last }}
        {%- endfor %}
    from scaled
    cross join centroids
),

nearest as (
    -- the first centroid at the least distance (the lowest id on a tie)
    select
        *,
        case
            {%- for i in range(k) %}
            when distance_{{ i }} = least(
                {%- for j in range(k) %}
                coalesce(distance_{{ j }}, cast('infinity' as double)){{ ", " if not loop.last }}
                {%- endfor %}
            ) then {{ i }}
            {%- endfor %}
        end as cluster_id
    from distances
),

final as (
    select
        nearest.msisdn,
        cast(nearest.cluster_id as integer) as cluster_id,
        model.engagement_level,
        {%- for feature in features %}
        nearest.scaled_{{ feature }},
        {%- endfor %}
        nearest.scaler,
        nearest.cluster_model_id
    from nearest
    inner join model on nearest.cluster_id = model.cluster_id
)

select * from final
