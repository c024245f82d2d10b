"""One row per k: k-means inertia on the elbow sample and whether k is the elbow.

Thin dbt Python model: the work is in ``xdr_warehouse.clustering``. Settings come
from the model config (rendered from the dbt vars in _clustering__models.yml).
"""

from xdr_warehouse.clustering import ClusterSettings, elbow_table


def model(dbt, session):
    dbt.config(materialized="table")
    settings = ClusterSettings.from_mapping(
        {
            "cluster_scaler": dbt.config.get("cluster_scaler"),
            "cluster_seed": dbt.config.get("cluster_seed"),
            "cluster_max_iter": dbt.config.get("cluster_max_iter"),
            "cluster_threads": dbt.config.get("cluster_threads"),
            "elbow_k_min": dbt.config.get("elbow_k_min"),
            "elbow_k_max": dbt.config.get("elbow_k_max"),
            "elbow_sample_size": dbt.config.get("elbow_sample_size"),
            "elbow_n_init": dbt.config.get("elbow_n_init"),
        }
    )
    return elbow_table(dbt.ref("customer_engagement"), settings)
