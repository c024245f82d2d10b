"""The Python stage's two entry points, for any engine.

On DuckDB the dbt Python models ``engagement_cluster_model`` and
``engagement_elbow_curve`` call these with the relations dbt gives them; on
Spark the ``xdr`` job calls them with the same small samples, read through
Spark, and writes the results as tables. Both sides only ever hold a sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from xdr_warehouse.clustering.elbow import ELBOW_SCHEMA, elbow_curve, elbow_to_arrow
from xdr_warehouse.clustering.features import FEATURES, CustomerFeatures, prepare_features
from xdr_warehouse.clustering.model import (
    MODEL_SCHEMA,
    fit_model,
    model_to_arrow,
    scaler_from_arrow,
)
from xdr_warehouse.clustering.policy import refit_decision
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


def cluster_model_table(
    sample: pa.Table, settings: ClusterSettings, version: int = 1, reason: str = "first fit"
) -> pa.Table:
    """``engagement_cluster_model`` rows of the model fitted on the fit sample."""
    return model_to_arrow(fit_model(features_from_arrow(sample), settings), version, reason)


def next_model_table(
    current: pa.Table | None,
    read_sample: Callable[[], pa.Table],
    settings: ClusterSettings,
    changed_customers: int,
    customers: int,
    refit_share: float,
) -> pa.Table:
    """The rows to append to ``engagement_cluster_model`` on this build: a new model
    when the refit rule says so (:mod:`.policy`), else none (the stored model stays).
    ``read_sample`` reads the fit sample; it is called only for a refit (a daily
    build that keeps the model does not draw the sample: 0.3 s at 10M records)."""
    decision = refit_decision(current, settings, changed_customers, customers, refit_share)
    if not decision.refit:
        return MODEL_SCHEMA.empty_table()
    sample = read_sample()
    version = (
        1
        if current is None or current.num_rows == 0
        else max(current.column("model_version").to_pylist()) + 1
    )
    return cluster_model_table(sample, settings, version, decision.reason)


#: The elbow curve table: the curve's columns and the model whose scaler it used.
ELBOW_CURVE_SCHEMA = ELBOW_SCHEMA.append(pa.field("cluster_model_id", pa.string(), nullable=False))


def elbow_curve_table(
    sample: pa.Table, model: pa.Table, customers: int, settings: ClusterSettings
) -> pa.Table:
    """Inertia per k on the elbow sample, with the scaler of ``model`` (one model's rows)."""
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
    table = elbow_to_arrow(curve, settings.scaler, settings.seed)
    model_id = model.column("cluster_model_id")[0].as_py() if model.num_rows else ""
    return pa.Table.from_arrays(
        [*table.columns, pa.array([model_id] * table.num_rows, pa.string())],
        schema=ELBOW_CURVE_SCHEMA,
    )
