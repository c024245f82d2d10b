"""The cluster models: scaler and centroids fitted on the fit sample, one row per cluster.

Thin dbt Python model (DuckDB): the work is in ``xdr_warehouse.clustering``.
Incremental: every fitted model is kept (model_version 1, 2, ...); a build
appends a new one only when the refit rule of ``xdr_warehouse.clustering.policy``
says so, and customer_clusters uses the latest. Settings come from the model
config (rendered from the dbt vars in _clustering__models.yml). On Spark the
``xdr`` job runs the same functions.
"""

from xdr_warehouse.clustering import ClusterSettings
from xdr_warehouse.clustering.stage import next_model_table


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append")
    # dbt passes a Python model only the config keys it sees in dbt.config.get() calls
    settings = ClusterSettings.from_mapping(
        {
            "cluster_k": dbt.config.get("cluster_k"),
            "cluster_scaler": dbt.config.get("cluster_scaler"),
            "cluster_seed": dbt.config.get("cluster_seed"),
            "cluster_n_init": dbt.config.get("cluster_n_init"),
            "cluster_max_iter": dbt.config.get("cluster_max_iter"),
            "cluster_fit_sample_size": dbt.config.get("cluster_fit_sample_size"),
            "cluster_threads": dbt.config.get("cluster_threads"),
            "elbow_k_min": dbt.config.get("elbow_k_min"),
            "elbow_k_max": dbt.config.get("elbow_k_max"),
            "elbow_sample_size": dbt.config.get("elbow_sample_size"),
            "elbow_n_init": dbt.config.get("elbow_n_init"),
        }
    )
    refit_share = float(dbt.config.get("cluster_refit_share"))
    current = None
    if dbt.is_incremental:
        current = session.sql(
            f"select * from {dbt.this} where model_version = "
            f"(select max(model_version) from {dbt.this})"
        ).to_arrow_table()
    # the customers of customer_engagement, counted where they are aggregated (not
    # waiting for customer_engagement's tests: see macros/xdr_customer_sample.sql)
    customers = dbt.ref("int_customers_aggregated").aggregate("count(*)").fetchall()[0][0]
    # a full build leaves int_customers_changed empty and changes every customer
    scope = dbt.ref("int_build_scope").aggregate("bool_or(is_full_build)").fetchall()[0][0]
    if scope:
        changed = customers
    else:
        changed = dbt.ref("int_customers_changed").aggregate("count(*)").fetchall()[0][0]
    fit_sample = dbt.ref("clustering_fit_sample")
    return next_model_table(
        current, fit_sample.to_arrow_table, settings, changed, customers, refit_share
    )
