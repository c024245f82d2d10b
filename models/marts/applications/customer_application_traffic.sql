-- One row per (customer, application): DL, UL and DL + UL bytes.

with

customers as (
    select * from {{ ref('int_customers_aggregated') }}
),

applications as (
    select * from {{ ref('applications') }}
),

unpivoted as (
    {{ xdr_unpivot_applications('customers', ['msisdn']) }}
),

final as (
    select
        unpivoted.msisdn,
        applications.application,
        unpivoted.dl_bytes,
        unpivoted.ul_bytes,
        unpivoted.dl_bytes + unpivoted.ul_bytes as total_bytes
    from unpivoted
    inner join applications on unpivoted.application_key = applications.application_key
)

select * from final
