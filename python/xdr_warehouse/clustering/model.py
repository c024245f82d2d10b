"""The cluster model: a scaler and k centroids, fitted on a sample, stored as a table.

The Python stage fits the model on the customers of the fit sample
(``clustering_fit_sample``: every customer up to
``cluster_fit_sample_size``, above that a sample drawn by a hash of the MSISDN
that every engine draws alike) and returns it as ``engagement_cluster_model``,
one row per cluster. ``customer_clusters`` then labels every customer in SQL
with the nearest centroid, on whatever engine runs the build, without
collecting the customers onto one machine.

The model id is a hash of the settings and the fitted numbers: the same data
and settings give the same id, on any engine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from xdr_warehouse.clustering.features import FEATURES, CustomerFeatures
from xdr_warehouse.clustering.kmeans import fit_clusters, level_names, nearest_centroid
from xdr_warehouse.clustering.scaling import ScalerParams, apply_scaler, fit_scaler
from xdr_warehouse.clustering.settings import ClusterSettings

MODEL_SCHEMA = pa.schema(
    [
        pa.field("cluster_model_id", pa.string(), nullable=False),
        pa.field("model_version", pa.int32(), nullable=False),
        pa.field("fitted_at", pa.timestamp("us"), nullable=False),
        pa.field("fit_reason", pa.string(), nullable=False),
        pa.field("k", pa.int32(), nullable=False),
        pa.field("scaler", pa.string(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
        pa.field("n_init", pa.int32(), nullable=False),
        pa.field("max_iter", pa.int32(), nullable=False),
        pa.field("fit_sample_size", pa.int64(), nullable=False),
        pa.field("fit_customer_count", pa.int64(), nullable=False),
        pa.field("inertia", pa.float64(), nullable=False),
        pa.field("cluster_id", pa.int32(), nullable=False),
        pa.field("engagement_level", pa.string(), nullable=False),
        pa.field("log_transform", pa.bool_(), nullable=False),
        *(pa.field(f"centroid_{name}", pa.float64(), nullable=False) for name in FEATURES),
        *(pa.field(f"center_{name}", pa.float64(), nullable=False) for name in FEATURES),
        *(pa.field(f"scale_{name}", pa.float64(), nullable=False) for name in FEATURES),
    ]
)


@dataclass(frozen=True)
class ClusterModel:
    """A fitted scaler and centroids (ids ordered by engagement, 0 = lowest)."""

    settings: ClusterSettings
    scaler: ScalerParams
    centroids: np.ndarray
    inertia: float
    fit_customers: int
    fitted_at: datetime

    @property
    def model_id(self) -> str:
        digest = hashlib.sha1(
            repr(
                (
                    self.settings,
                    self.fit_customers,
                    self.scaler.center.tolist(),
                    self.scaler.scale.tolist(),
                    self.centroids.tolist(),
                )
            ).encode()
        ).hexdigest()
        return f"kmeans-{digest[:12]}"

    @property
    def levels(self) -> list[str]:
        return level_names(self.settings.k)

    def labels(self, values: np.ndarray) -> np.ndarray:
        """Cluster ids of raw feature rows: the SQL assignment, in numpy."""
        return nearest_centroid(apply_scaler(self.scaler, values), self.centroids)


def fit_model(sample: CustomerFeatures, settings: ClusterSettings) -> ClusterModel:
    """Fit the scaler and k-means on the sample's customers (sorted by MSISDN)."""
    scaler = fit_scaler(sample.values, settings.scaler)
    fit = fit_clusters(
        apply_scaler(scaler, sample.values),
        k=settings.k,
        seed=settings.seed,
        n_init=settings.n_init,
        max_iter=settings.max_iter,
        threads=settings.threads,
    )
    return ClusterModel(
        settings=settings,
        scaler=scaler,
        centroids=fit.centroids,
        inertia=fit.inertia,
        fit_customers=sample.customers,
        fitted_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
    )


def model_to_arrow(model: ClusterModel, version: int = 1, reason: str = "first fit") -> pa.Table:
    """``engagement_cluster_model`` rows of one fitted model: one per cluster (none when
    nothing was fitted); ``version`` numbers the models of a warehouse, 1 first."""
    n = model.centroids.shape[0]
    settings = model.settings

    def repeat(value: object, kind: pa.DataType) -> pa.Array:
        return pa.array([value] * n, kind)

    columns = [
        repeat(model.model_id, pa.string()),
        repeat(version, pa.int32()),
        repeat(model.fitted_at, pa.timestamp("us")),
        repeat(reason, pa.string()),
        repeat(settings.k, pa.int32()),
        repeat(settings.scaler, pa.string()),
        repeat(settings.seed, pa.int64()),
        repeat(settings.n_init, pa.int32()),
        repeat(settings.max_iter, pa.int32()),
        repeat(settings.fit_sample_size, pa.int64()),
        repeat(model.fit_customers, pa.int64()),
        repeat(model.inertia, pa.float64()),
        pa.array(np.arange(n), pa.int32()),
        pa.array(model.levels[:n], pa.string()),
        repeat(model.scaler.log_transform, pa.bool_()),
        *(pa.array(model.centroids[:, j], pa.float64()) for j in range(len(FEATURES))),
        *(repeat(float(model.scaler.center[j]), pa.float64()) for j in range(len(FEATURES))),
        *(repeat(float(model.scaler.scale[j]), pa.float64()) for j in range(len(FEATURES))),
    ]
    return pa.Table.from_arrays(columns, schema=MODEL_SCHEMA)


def scaler_from_arrow(table: pa.Table) -> ScalerParams | None:
    """The scaler stored in an ``engagement_cluster_model`` table (None when it is empty)."""
    if table.num_rows == 0:
        return None
    row = table.slice(0, 1).to_pylist()[0]
    return ScalerParams(
        scaler=row["scaler"],
        log_transform=bool(row["log_transform"]),
        center=np.array([row[f"center_{name}"] for name in FEATURES], dtype=np.float64),
        scale=np.array([row[f"scale_{name}"] for name in FEATURES], dtype=np.float64),
    )
