{{ config(
    materialized="incremental",
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ xdr_delete_changed('msisdn', 'int_customers_changed') }}",
) }}

-- depends_on: {{ ref('int_customers_changed') }}
-- One row per (customer, application): DL, UL and DL + UL bytes. Incremental:
-- the rows of the customers this build touches are replaced.

with

customers as (
    select * from {{ ref('int_customers_aggregated') }}
    {{ xdr_only_changed('msisdn', 'int_customers_changed', keyword='where') }}
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
