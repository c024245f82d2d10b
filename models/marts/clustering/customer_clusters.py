"""One row per customer of customer_engagement: engagement cluster, level name, scaled features.

Thin dbt Python model: the work is in ``xdr_warehouse.clustering``. Settings come
from the model config (rendered from the dbt vars in _clustering__models.yml).
"""

from xdr_warehouse.clustering import ClusterSettings, clusters_table


def model(dbt, session):
    dbt.config(materialized="table")
    settings = ClusterSettings.from_mapping(
        {
            "cluster_k": dbt.config.get("cluster_k"),
            "cluster_scaler": dbt.config.get("cluster_scaler"),
            "cluster_seed": dbt.config.get("cluster_seed"),
            "cluster_n_init": dbt.config.get("cluster_n_init"),
            "cluster_max_iter": dbt.config.get("cluster_max_iter"),
            "cluster_fit_sample_size": dbt.config.get("cluster_fit_sample_size"),
            "cluster_threads": dbt.config.get("cluster_threads"),
        }
    )
    return clusters_table(dbt.ref("customer_engagement"), settings)
