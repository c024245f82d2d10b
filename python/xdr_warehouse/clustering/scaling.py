"""Feature scalers, as parameters the SQL side can apply to every customer.

A scaler is fitted on the customers of the fit sample and stored with the
cluster model (``engagement_cluster_model``); ``customer_clusters`` applies it
in SQL to every customer: ``(f(x) - center) / scale``, with ``f(x) = ln(1 + x)``
for ``log_zscore`` and ``f(x) = x`` otherwise, and 0 for a feature whose scale is
0 (no spread). :func:`apply_scaler` is the same formula in numpy.

- ``zscore``: center = mean, scale = population std (scikit-learn's StandardScaler);
- ``minmax``: center = min, scale = max - min;
- ``log_zscore``: z-score of ln(1 + x), for the heavy-tailed metrics;
- ``robust``: center = median, scale = interquartile range, the std where the
  IQR is 0 (most customers have one session).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xdr_warehouse.clustering.settings import SCALERS, ClusteringError


@dataclass(frozen=True)
class ScalerParams:
    """One scaler fitted on data: per feature, ``(f(x) - center) / scale`` (0 where scale is 0)."""

    scaler: str
    log_transform: bool
    center: np.ndarray
    scale: np.ndarray


def _transform(x: np.ndarray, log_transform: bool) -> np.ndarray:
    # ln(1 + x), not log1p: the SQL side computes ln(1 + x) the same way
    return np.log(1.0 + x) if log_transform else x


def fit_scaler(values: np.ndarray, scaler: str = "zscore") -> ScalerParams:
    """Fit ``scaler`` on the rows of ``values`` (customers x features, float64)."""
    if scaler not in SCALERS:
        raise ClusteringError(f"scaler must be one of {', '.join(SCALERS)}; got {scaler!r}")
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise ClusteringError("values must be a 2-D array (customers x features)")
    if scaler == "log_zscore" and bool(np.any(x < 0)):
        raise ClusteringError("log_zscore needs features >= 0")
    log_transform = scaler == "log_zscore"
    features = x.shape[1]
    if x.shape[0] == 0:
        zeros = np.zeros(features)
        return ScalerParams(scaler, log_transform, zeros, zeros.copy())
    t = _transform(x, log_transform)
    if scaler in ("zscore", "log_zscore"):
        center, scale = t.mean(axis=0), t.std(axis=0)
    elif scaler == "minmax":
        center, scale = t.min(axis=0), t.max(axis=0) - t.min(axis=0)
    else:  # robust
        q25, center, q75 = np.percentile(t, [25.0, 50.0, 75.0], axis=0)
        scale = np.where(q75 - q25 > 0, q75 - q25, t.std(axis=0))
    # a feature with no spread scales to 0 whatever rounding its mean and std had
    scale = np.where(x.min(axis=0) == x.max(axis=0), 0.0, scale)
    return ScalerParams(scaler, log_transform, np.asarray(center, float), np.asarray(scale, float))


def apply_scaler(params: ScalerParams, values: np.ndarray) -> np.ndarray:
    """The scaled features (the formula ``customer_clusters`` computes in SQL)."""
    t = _transform(np.asarray(values, dtype=np.float64), params.log_transform)
    safe = np.where(params.scale > 0, params.scale, 1.0)
    return np.where(params.scale > 0, (t - params.center) / safe, 0.0)


def scale_features(values: np.ndarray, scaler: str = "zscore") -> np.ndarray:
    """Fit ``scaler`` on ``values`` and apply it to them."""
    return apply_scaler(fit_scaler(values, scaler), values)
