{{ config(materialized="table") }}

-- One row: whether this build is a full build (macro xdr_full_build: the first
-- build, --full-refresh, every Spark build), which computes every key again and
-- leaves the change lists (int_customers_changed, int_record_hashes_changed)
-- empty. Kept after the build, so that the row tests of a later `dbt test`
-- check every row after a full build and the changed ones after an incremental
-- one (get_where_subquery), and the cluster model counts every customer as
-- changed on a full build.

with

final as (
    select {{ 'true' if xdr_full_build() else 'false' }} as is_full_build
)

select * from final
