"""Engagement clustering: scaling, k-means with ordered ids, the model table, the elbow.

Plain numpy / scikit-learn functions, engine-neutral and tested without dbt:

- :mod:`.settings`: the ``cluster_*`` / ``elbow_*`` dbt vars, checked;
- :mod:`.features`: the customers' features as a matrix sorted by MSISDN;
- :mod:`.scaling`: the scalers, as parameters SQL can apply;
- :mod:`.kmeans`: k-means with ids ordered by engagement;
- :mod:`.model`: the fitted model (scaler + centroids) as a table;
- :mod:`.elbow`: the elbow curve;
- :mod:`.stage`: what the dbt Python models (DuckDB) and the Spark step call.

Customers are labelled in SQL (``customer_clusters``) with the model's
scaler and nearest centroid, so no engine collects every customer.
"""

from xdr_warehouse.clustering.elbow import ELBOW_SCHEMA, ElbowCurve, elbow_curve, find_elbow
from xdr_warehouse.clustering.features import (
    FEATURES,
    SCALED_COLUMNS,
    CustomerFeatures,
    prepare_features,
    read_features,
)
from xdr_warehouse.clustering.kmeans import (
    ClusterFit,
    distinct_rows,
    engagement_order,
    fit_clusters,
    level_names,
    nearest_centroid,
)
from xdr_warehouse.clustering.model import (
    MODEL_SCHEMA,
    ClusterModel,
    fit_model,
    model_to_arrow,
    scaler_from_arrow,
)
from xdr_warehouse.clustering.scaling import (
    ScalerParams,
    apply_scaler,
    fit_scaler,
    scale_features,
)
from xdr_warehouse.clustering.settings import SCALERS, ClusteringError, ClusterSettings

__all__ = [
    "ELBOW_SCHEMA",
    "FEATURES",
    "MODEL_SCHEMA",
    "SCALED_COLUMNS",
    "SCALERS",
    "ClusterFit",
    "ClusterModel",
    "ClusterSettings",
    "ClusteringError",
    "CustomerFeatures",
    "ElbowCurve",
    "ScalerParams",
    "apply_scaler",
    "distinct_rows",
    "elbow_curve",
    "engagement_order",
    "find_elbow",
    "fit_clusters",
    "fit_model",
    "fit_scaler",
    "level_names",
    "model_to_arrow",
    "nearest_centroid",
    "prepare_features",
    "read_features",
    "scale_features",
    "scaler_from_arrow",
]
