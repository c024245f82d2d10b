-- engagement_elbow has one row per k from var('elbow_k_min') up to
-- least(var('elbow_k_max'), distinct points in the sample), exactly one elbow
-- when it has rows, and its sample is clustering_elbow_sample (every customer
-- when there are at most var('elbow_sample_size')). Distinct points = distinct
-- feature rows, counted up to elbow_k_max. Fails with one row per problem.

with

elbow as (
    select * from {{ ref('engagement_elbow') }}
),

customers as (
    select * from {{ ref('customer_engagement') }}
),

-- counted up to var('elbow_k_max'), all the check needs: DuckDB stops reading there
feature_rows as (
    select distinct
        session_count,
        total_duration_ms,
        total_traffic_bytes
    from customers
    limit {{ var('elbow_k_max') }}
),

population as (
    select
        (select count(*) from customers) as customers,
        (select count(*) from feature_rows) as points,
        (select count(*) from {{ ref('clustering_elbow_sample') }}) as sampled
),

curve as (
    select
        count(*) as k_rows,
        count(distinct k) as distinct_k,
        min(k) as min_k,
        max(k) as max_k,
        count(case when is_elbow then 1 end) as elbows,
        min(distinct_point_count) as distinct_points,
        max(distinct_point_count) as max_distinct_points,
        min(sample_size) as sample_size,
        max(sample_size) as max_sample_size,
        min(customer_count) as elbow_customers,
        max(customer_count) as max_elbow_customers
    from elbow
),

checked as (
    select
        curve.*,
        population.customers,
        population.points,
        population.sampled,
        greatest(
            least({{ var('elbow_k_max') }}, coalesce(curve.distinct_points, 0))
            - {{ var('elbow_k_min') }} + 1,
            0
        ) as expected_rows
    from curve
    cross join population
),

problems as (
    select
        'k values are not one row per k' as problem,
        *
    from checked
    where k_rows != distinct_k
    union all
    select
        'k does not run from elbow_k_min to the capped elbow_k_max' as problem,
        *
    from checked
    where
        k_rows != expected_rows
        or (k_rows > 0 and (min_k != {{ var('elbow_k_min') }} or max_k - min_k + 1 != k_rows))
    union all
    select
        'not exactly one elbow' as problem,
        *
    from checked
    where k_rows > 0 and elbows != 1
    union all
    select
        'sample is not clustering_elbow_sample' as problem,
        *
    from checked
    -- the curve belongs to the model it was fitted with: while the customers are
    -- those it was fitted on, its sample is today's elbow sample
    where k_rows > 0 and elbow_customers = customers and (
        sample_size != max_sample_size
        or sample_size != sampled
        or (customers <= {{ var('elbow_sample_size') }} and sample_size != customers)
        or distinct_points != max_distinct_points
    )
    union all
    select
        'one curve mixes samples' as problem,
        *
    from checked
    where k_rows > 0 and (
        sample_size != max_sample_size
        or elbow_customers != max_elbow_customers
        or distinct_points != max_distinct_points
    )
    union all
    select
        'more distinct points in the sample than customers have' as problem,
        *
    from checked
    where elbow_customers = customers
        and distinct_points > least({{ var('elbow_k_max') }}, points)
    union all
    select
        'no elbow curve although there are customers' as problem,
        *
    from checked
    where k_rows = 0 and customers > 0 and {{ var('elbow_k_min') }} = 1
),

final as (
    select * from problems
)

select * from final
