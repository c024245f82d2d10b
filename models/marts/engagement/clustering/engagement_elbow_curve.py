"""Inertia per k on the elbow sample, scaled with the latest cluster model's scaler.

Thin dbt Python model (DuckDB): the work is in ``xdr_warehouse.clustering``.
Incremental: a curve is fitted once per cluster model (when a build fits a new
model), so builds that keep the model do not fit the elbow again. Settings come
from the model config (rendered from the dbt vars in _clustering__models.yml).
On Spark the ``xdr`` job runs the same function.
"""

from xdr_warehouse.clustering import ClusterSettings
from xdr_warehouse.clustering.stage import ELBOW_CURVE_SCHEMA, elbow_curve_table


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
    models = dbt.ref("engagement_cluster_model")
    latest = models.aggregate("coalesce(max(model_version), 0)").fetchall()[0][0]
    cluster_model = models.filter(f"model_version = {int(latest)}").to_arrow_table()
    if dbt.is_incremental and cluster_model.num_rows:
        model_id = cluster_model.column("cluster_model_id")[0].as_py()
        done = session.sql(
            f"select count(*) from {dbt.this} where cluster_model_id = $id", params={"id": model_id}
        ).fetchall()[0][0]
        if done:  # this model's curve is there already
            return ELBOW_CURVE_SCHEMA.empty_table()
    sample = dbt.ref("clustering_elbow_sample").to_arrow_table()
    customers = sample.column("customer_count")[0].as_py() if sample.num_rows else 0
    return elbow_curve_table(sample, cluster_model, customers, settings)
