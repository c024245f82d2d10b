"""The Python stage's two entry points, for any engine.

On DuckDB the dbt Python models ``engagement_cluster_model`` and
``engagement_elbow_curve`` call these with the relations dbt gives them; on
Spark the ``xdr`` job calls them with the same small samples, read through
Spark, and writes the results as tables. Both sides only ever hold a sample.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from xdr_warehouse.clustering.elbow import elbow_curve, elbow_to_arrow
from xdr_warehouse.clustering.features import FEATURES, CustomerFeatures, prepare_features
from xdr_warehouse.clustering.model import fit_model, model_to_arrow, scaler_from_arrow
from xdr_warehouse.clustering.scaling import apply_scaler
from xdr_warehouse.clustering.settings import ClusterSettings


def features_from_arrow(table: pa.Table) -> CustomerFeatures:
    """Customers (msisdn + :data:`FEATURES` columns) from an Arrow table."""
    values = (
        np.column_stack(
            [
                table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                for name in FEATURES
            ]
        )
        if table.num_rows
        else np.zeros((0, len(FEATURES)))
    )
    msisdn = table.column("msisdn").to_numpy(zero_copy_only=False).astype(np.int64)
    return prepare_features(msisdn, values)


def cluster_model_table(sample: pa.Table, settings: ClusterSettings) -> pa.Table:
    """``engagement_cluster_model``: the model fitted on the fit sample."""
    return model_to_arrow(fit_model(features_from_arrow(sample), settings))


def elbow_curve_table(
    sample: pa.Table, model: pa.Table, customers: int, settings: ClusterSettings
) -> pa.Table:
    """``engagement_elbow_curve``: inertia per k on the elbow sample, with the model's scaler."""
    features = features_from_arrow(sample)
    scaler = scaler_from_arrow(model)
    scaled = (
        apply_scaler(scaler, features.values)
        if scaler is not None
        else np.zeros((0, len(FEATURES)))
    )
    curve = elbow_curve(
        scaled,
        customers=customers,
        k_min=settings.elbow_k_min,
        k_max=settings.elbow_k_max,
        seed=settings.seed,
        n_init=settings.elbow_n_init,
        max_iter=settings.max_iter,
        threads=settings.threads,
    )
    return elbow_to_arrow(curve, settings.scaler, settings.seed)
