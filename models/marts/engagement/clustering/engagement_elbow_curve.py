"""Inertia per k on the elbow sample, scaled with the cluster model's scaler.

Thin dbt Python model (DuckDB): the work is in ``xdr_warehouse.clustering``.
Settings come from the model config (rendered from the dbt vars in
_clustering__models.yml). On Spark the ``xdr`` job runs the same function.
"""

from xdr_warehouse.clustering import ClusterSettings
from xdr_warehouse.clustering.stage import elbow_curve_table


def model(dbt, session):
    dbt.config(materialized="table")
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
    sample = dbt.ref("clustering_elbow_sample").to_arrow_table()
    customers = sample.column("customer_count")[0].as_py() if sample.num_rows else 0
    cluster_model = dbt.ref("engagement_cluster_model").to_arrow_table()
    return elbow_curve_table(sample, cluster_model, customers, settings)
