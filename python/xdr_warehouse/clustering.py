"""Engagement clustering: scaling, k-means with ordered cluster ids, and the elbow method.

The dbt Python models ``customer_clusters`` and ``engagement_elbow`` only read
``customer_engagement``, call :func:`clusters_table` / :func:`elbow_table` and
return the Arrow table. Everything here is plain numpy / scikit-learn on arrays,
so it is tested without dbt.

Decisions (see the models' YAML and the README for the user-facing version):

- Features: ``session_count``, ``total_duration_ms``, ``total_traffic_bytes``
  (:data:`FEATURES`), read as float64.
- Input order never matters: customers are sorted by MSISDN before anything
  random happens, and every random step uses ``seed``. The same data and
  settings give the same labels and ids.
- Scalers (:data:`SCALERS`), each per feature, computed in float64:
  ``zscore`` (x - mean) / std (population std, as scikit-learn's
  StandardScaler); ``minmax`` (x - min) / (max - min); ``log_zscore`` z-score of
  log1p(x), for the heavy-tailed metrics; ``robust`` (x - median) / IQR, using
  the std when the IQR is 0 (most customers have one session). A feature whose
  spread is 0 scales to 0 for every customer.
- Final k-means: scikit-learn ``KMeans`` (k-means++, Lloyd, ``n_init`` runs,
  ``random_state=seed``), float64. Up to ``fit_sample_size`` customers it is
  exactly ``KMeans(...).fit`` on every customer. Above, the ``n_init`` runs are
  made on a random sample of ``fit_sample_size`` customers and the best
  centroids then start one Lloyd run over every customer, so every label is
  a k-means label of the full data (only the choice among initialisations
  used the sample). Cluster ids are ordered by engagement: by the mean of the
  centroid's scaled features, lowest first (ties by the centroid's
  coordinates). Names are low / medium / high for k = 3 and level_1 ..
  level_k (level_1 lowest) for any other k.
- k-means runs on ``threads`` OpenMP threads (default 1). scikit-learn adds the
  threads' partial centroid sums in whatever order they finish, so with more
  threads a rerun may differ in the last bits; one thread makes reruns
  identical whatever the core count. On the shared 2-core machine it was
  also 1-4x faster (the OpenMP threads wait for each other under load).
- Fewer distinct customers (feature rows) than k: every distinct row is its own
  cluster, so only that many ids are used (0 .. d-1, still ordered by
  engagement, named as for the configured k). All customers identical: one
  cluster, id 0. No customers: empty tables with the same columns and types.
- Elbow: inertia for k = k_min .. k_max on a random sample of at most
  ``elbow_sample_size`` customers (float32, scaled with the statistics of all
  customers), ``elbow_n_init`` runs per k, k capped at the number of distinct
  rows in the sample. The elbow is kneed's
  ``KneeLocator(curve="convex", direction="decreasing")``; when it finds none,
  the k with the largest second difference of inertia; with fewer than three k
  values, the smallest k with the lowest inertia.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from kneed import KneeLocator
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

#: Engagement features, in the order of the feature matrix columns.
FEATURES: tuple[str, ...] = ("session_count", "total_duration_ms", "total_traffic_bytes")
#: Output column holding each feature's scaled value.
SCALED_COLUMNS: tuple[str, ...] = tuple(f"scaled_{name}" for name in FEATURES)
#: Supported scalers.
SCALERS: tuple[str, ...] = ("zscore", "minmax", "log_zscore", "robust")
#: Level names for k = 3; other k use level_1 .. level_k.
THREE_LEVELS: tuple[str, ...] = ("low", "medium", "high")

CLUSTERS_SCHEMA = pa.schema(
    [
        pa.field("msisdn", pa.int64(), nullable=False),
        pa.field("cluster_id", pa.int32(), nullable=False),
        pa.field("engagement_level", pa.string(), nullable=False),
        *(pa.field(name, pa.float64(), nullable=False) for name in SCALED_COLUMNS),
        pa.field("scaler", pa.string(), nullable=False),
    ]
)

ELBOW_SCHEMA = pa.schema(
    [
        pa.field("k", pa.int32(), nullable=False),
        pa.field("inertia", pa.float64(), nullable=False),
        pa.field("is_elbow", pa.bool_(), nullable=False),
        pa.field("elbow_method", pa.string(), nullable=False),
        pa.field("sample_size", pa.int64(), nullable=False),
        pa.field("customers", pa.int64(), nullable=False),
        pa.field("distinct_points", pa.int64(), nullable=False),
        pa.field("scaler", pa.string(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
    ]
)


class ClusteringError(ValueError):
    """A setting or input the clustering cannot use, stated in one line."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ClusterSettings:
    """Clustering and elbow settings (the dbt vars of the same names, prefixed)."""

    k: int = 3
    scaler: str = "zscore"
    seed: int = 42
    n_init: int = 10
    max_iter: int = 300
    fit_sample_size: int = 1_000_000
    threads: int = 1
    elbow_k_min: int = 1
    elbow_k_max: int = 10
    elbow_sample_size: int = 50_000
    elbow_n_init: int = 3

    def __post_init__(self) -> None:
        if self.scaler not in SCALERS:
            raise ClusteringError(
                f"cluster_scaler must be one of {', '.join(SCALERS)}; got {self.scaler!r}"
            )
        for name, minimum in (
            ("k", 1),
            ("seed", 0),
            ("n_init", 1),
            ("max_iter", 1),
            ("fit_sample_size", 1),
            ("threads", 0),
            ("elbow_k_min", 1),
            ("elbow_sample_size", 1),
            ("elbow_n_init", 1),
        ):
            if getattr(self, name) < minimum:
                raise ClusteringError(f"{name} must be >= {minimum}; got {getattr(self, name)}")
        if self.seed >= 2**32:
            raise ClusteringError(f"seed must be < 2**32; got {self.seed}")
        if self.elbow_k_max < self.elbow_k_min:
            raise ClusteringError(
                f"elbow_k_max ({self.elbow_k_max}) must be >= elbow_k_min ({self.elbow_k_min})"
            )

    @classmethod
    def from_config(cls, get: Callable[[str], Any]) -> ClusterSettings:
        """Build settings from a ``get(key)`` lookup such as dbt's ``dbt.config.get``.

        Keys are the dbt var names: ``cluster_k``, ``cluster_scaler``,
        ``cluster_seed``, ``cluster_n_init``, ``cluster_max_iter``,
        ``cluster_fit_sample_size``, ``cluster_threads``, ``elbow_k_min``,
        ``elbow_k_max``, ``elbow_sample_size``, ``elbow_n_init``. Values rendered from ``var()``
        in YAML arrive as strings; they are converted here. A missing (None) or
        empty value keeps the default.
        """
        fields = {
            "k": ("cluster_k", int),
            "scaler": ("cluster_scaler", str),
            "seed": ("cluster_seed", int),
            "n_init": ("cluster_n_init", int),
            "max_iter": ("cluster_max_iter", int),
            "fit_sample_size": ("cluster_fit_sample_size", int),
            "threads": ("cluster_threads", int),
            "elbow_k_min": ("elbow_k_min", int),
            "elbow_k_max": ("elbow_k_max", int),
            "elbow_sample_size": ("elbow_sample_size", int),
            "elbow_n_init": ("elbow_n_init", int),
        }
        values: dict[str, Any] = {}
        for field, (key, kind) in fields.items():
            raw = get(key)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            values[field] = _convert(key, raw, kind)
        return cls(**values)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> ClusterSettings:
        """Build settings from a mapping of dbt var names to values (see from_config)."""
        return cls.from_config(config.get)


def _convert(key: str, raw: Any, kind: type) -> Any:
    if kind is str:
        return str(raw).strip().lower()
    try:
        number = float(raw) if isinstance(raw, str) else raw
        if isinstance(number, bool) or float(number) != int(number):
            raise ValueError
        return int(number)
    except (TypeError, ValueError):
        raise ClusteringError(f"{key} must be a whole number; got {raw!r}") from None


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class CustomerFeatures:
    """Customers sorted by MSISDN and their raw feature matrix (n x 3, float64)."""

    msisdn: np.ndarray
    values: np.ndarray

    @property
    def customers(self) -> int:
        return int(self.msisdn.shape[0])


def prepare_features(msisdn: np.ndarray, values: np.ndarray) -> CustomerFeatures:
    """Validate the customers and sort them by MSISDN (the only order that counts).

    ``values`` holds one column per entry of :data:`FEATURES`. Raises
    :class:`ClusteringError` on a duplicate or missing MSISDN or a missing,
    non-finite or negative feature value.
    """
    if np.ma.is_masked(msisdn) or np.ma.is_masked(values):
        raise ClusteringError("customer_engagement has NULL msisdn or feature values")
    keys = np.asarray(msisdn, dtype=np.int64).reshape(-1)
    matrix = np.asarray(values, dtype=np.float64).reshape(keys.shape[0], len(FEATURES))
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    matrix = np.ascontiguousarray(matrix[order])
    if keys.shape[0] > 1 and bool(np.any(keys[1:] == keys[:-1])):
        duplicate = int(keys[1:][keys[1:] == keys[:-1]][0])
        raise ClusteringError(f"msisdn {duplicate} occurs more than once; one row per customer")
    if not bool(np.all(np.isfinite(matrix))) or bool(np.any(matrix < 0)):
        raise ClusteringError("engagement features must be finite and >= 0")
    return CustomerFeatures(msisdn=keys, values=matrix)


def read_features(relation: duckdb.DuckDBPyRelation) -> CustomerFeatures:
    """Read ``msisdn`` and the :data:`FEATURES` of a DuckDB relation as numpy arrays."""
    columns = ", ".join(
        ["cast(msisdn as bigint) as msisdn"]
        + [f"cast({name} as double) as {name}" for name in FEATURES]
    )
    arrays = relation.select(columns).fetchnumpy()
    if any(np.ma.is_masked(array) for array in arrays.values()):
        raise ClusteringError("customer_engagement has NULL msisdn or feature values")
    values = np.column_stack([np.asarray(arrays[name], dtype=np.float64) for name in FEATURES])
    return prepare_features(np.asarray(arrays["msisdn"]), values)


# --------------------------------------------------------------------------- scaling


def _zscore(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1.0)


def scale_features(values: np.ndarray, scaler: str = "zscore") -> np.ndarray:
    """Scale each feature column (float64 in, float64 out; see the module doc).

    A column whose values are all equal becomes 0 (whatever rounding its mean
    and spread had). Zero rows give zero rows.
    """
    if scaler not in SCALERS:
        raise ClusteringError(f"scaler must be one of {', '.join(SCALERS)}; got {scaler!r}")
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise ClusteringError("values must be a 2-D array (customers x features)")
    if x.shape[0] == 0:
        return x.copy()
    if scaler == "zscore":
        scaled = _zscore(x)
    elif scaler == "log_zscore":
        if bool(np.any(x < 0)):
            raise ClusteringError("log_zscore needs features >= 0")
        scaled = _zscore(np.log1p(x))
    elif scaler == "minmax":
        low = x.min(axis=0)
        spread = x.max(axis=0) - low
        scaled = (x - low) / np.where(spread > 0, spread, 1.0)
    else:  # robust: median and interquartile range; the std where the IQR is 0.
        q25, median, q75 = np.percentile(x, [25.0, 50.0, 75.0], axis=0)
        spread = q75 - q25
        spread = np.where(spread > 0, spread, x.std(axis=0))
        scaled = (x - median) / np.where(spread > 0, spread, 1.0)
    scaled[:, x.min(axis=0) == x.max(axis=0)] = 0.0
    return scaled


# --------------------------------------------------------------------------- k-means


def distinct_rows(x: np.ndarray, limit: int) -> np.ndarray:
    """The first ``limit`` distinct rows of ``x`` in order of appearance (fewer if there are fewer).

    One vectorised pass per row found, so finding at most k rows costs O(n * k).
    """
    remaining = np.ones(x.shape[0], dtype=bool)
    found: list[np.ndarray] = []
    while len(found) < limit and bool(remaining.any()):
        row = x[int(remaining.argmax())].copy()
        found.append(row)
        remaining &= np.any(x != row, axis=1)
    return np.array(found, dtype=x.dtype).reshape(len(found), x.shape[1])


def match_rows(x: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index (int32) of the point each row equals exactly (every row must equal one)."""
    labels = np.full(x.shape[0], -1, dtype=np.int32)
    for index, point in enumerate(points):
        labels[np.all(x == point, axis=1)] = index
    return labels


def engagement_order(centroids: np.ndarray) -> np.ndarray:
    """Centroid indices from lowest to highest engagement.

    Engagement is the mean of the centroid's scaled features; ties are broken by
    the coordinates (first feature first), so the order is total and stable.
    """
    if centroids.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    means = centroids.mean(axis=1)
    keys = [centroids[:, j] for j in reversed(range(centroids.shape[1]))] + [means]
    return np.lexsort(keys)


def level_names(k: int) -> list[str]:
    """Names of cluster ids 0..k-1: low/medium/high for k = 3, else level_1..level_k."""
    if k == 3:
        return list(THREE_LEVELS)
    return [f"level_{i + 1}" for i in range(k)]


@dataclass(frozen=True)
class ClusterFit:
    """k-means result with ids ordered by engagement (0 = lowest).

    ``centroids`` has one row per cluster used (fewer than ``k`` only when the
    data has fewer distinct rows); ``inertia`` is the sum of squared distances
    of every row to its centroid.
    """

    labels: np.ndarray
    centroids: np.ndarray
    inertia: float
    k: int
    fitted_on_sample: bool = False

    @property
    def clusters_used(self) -> int:
        return int(self.centroids.shape[0])


def _kmeans(
    x: np.ndarray,
    k: int,
    seed: int,
    n_init: int,
    max_iter: int,
    threads: int,
    init: np.ndarray | None = None,
) -> KMeans:
    """scikit-learn KMeans (Lloyd) fitted on ``x`` with ``threads`` OpenMP threads (0 = all)."""
    model = KMeans(
        n_clusters=k,
        init="k-means++" if init is None else init,
        n_init=n_init if init is None else 1,
        max_iter=max_iter,
        random_state=seed,
        algorithm="lloyd",
    )
    with threadpool_limits(limits=threads or None, user_api="openmp"):
        return model.fit(x)


def fit_clusters(
    scaled: np.ndarray,
    k: int = 3,
    seed: int = 42,
    n_init: int = 10,
    max_iter: int = 300,
    fit_sample_size: int = 1_000_000,
    threads: int = 1,
) -> ClusterFit:
    """k-means on the scaled features; ids ordered by engagement, lowest first.

    Rows are used in the order given (callers sort by MSISDN first). Up to
    ``fit_sample_size`` rows this is ``KMeans(k, n_init=n_init,
    random_state=seed).fit``; above, the ``n_init`` initialisations run on a
    random sample and the best centroids start one Lloyd run on all rows. With
    fewer distinct rows than ``k`` each distinct row is its own cluster and
    only that many ids are used; with no rows the result is empty.
    """
    if k < 1:
        raise ClusteringError(f"k must be >= 1; got {k}")
    x = np.ascontiguousarray(scaled, dtype=np.float64)
    if x.shape[0] == 0:
        return ClusterFit(
            labels=np.zeros(0, dtype=np.int32),
            centroids=np.zeros((0, x.shape[1]), dtype=np.float64),
            inertia=0.0,
            k=k,
        )
    points = distinct_rows(x, k)
    on_sample = False
    if points.shape[0] < k:
        centroids = points
        labels = match_rows(x, centroids)
        inertia = 0.0
    else:
        rows = sample_rows(x.shape[0], fit_sample_size, seed)
        on_sample = rows.shape[0] < x.shape[0]
        init = None
        if on_sample and distinct_rows(x[rows], k).shape[0] == k:
            init = _kmeans(x[rows], k, seed, n_init, max_iter, threads).cluster_centers_
        model = _kmeans(x, k, seed, n_init, max_iter, threads, init=init)
        centroids = np.asarray(model.cluster_centers_, dtype=np.float64)
        labels = np.asarray(model.labels_, dtype=np.int32)
        inertia = float(model.inertia_)
    # Drop clusters without customers (possible only in degenerate data), then order.
    used = np.flatnonzero(np.bincount(labels, minlength=centroids.shape[0]) > 0)
    order = used[engagement_order(centroids[used])]
    new_id = np.full(centroids.shape[0], -1, dtype=np.int32)
    new_id[order] = np.arange(order.shape[0], dtype=np.int32)
    return ClusterFit(
        labels=new_id[labels],
        centroids=centroids[order],
        inertia=inertia,
        k=k,
        fitted_on_sample=on_sample,
    )


@dataclass(frozen=True)
class CustomerClusters:
    """Every customer's cluster, with the scaled features used."""

    msisdn: np.ndarray
    scaled: np.ndarray
    fit: ClusterFit
    scaler: str

    @property
    def levels(self) -> list[str]:
        return level_names(self.fit.k)


def cluster_customers(features: CustomerFeatures, settings: ClusterSettings) -> CustomerClusters:
    """Scale the features and cluster every customer (sorted by MSISDN)."""
    scaled = scale_features(features.values, settings.scaler)
    fit = fit_clusters(
        scaled,
        k=settings.k,
        seed=settings.seed,
        n_init=settings.n_init,
        max_iter=settings.max_iter,
        fit_sample_size=settings.fit_sample_size,
        threads=settings.threads,
    )
    return CustomerClusters(msisdn=features.msisdn, scaled=scaled, fit=fit, scaler=settings.scaler)


def clusters_to_arrow(result: CustomerClusters) -> pa.Table:
    """The ``customer_clusters`` table: one row per customer, explicit Arrow types."""
    labels = pa.array(result.fit.labels, pa.int32())
    n = result.msisdn.shape[0]
    columns = [
        pa.array(result.msisdn, pa.int64()),
        labels,
        pa.array(result.levels, pa.string()).take(labels),
        *(pa.array(result.scaled[:, j], pa.float64()) for j in range(len(FEATURES))),
        pa.array([result.scaler] * n, pa.string()),
    ]
    return pa.Table.from_arrays(columns, schema=CLUSTERS_SCHEMA)


# --------------------------------------------------------------------------- elbow


def find_elbow(ks: np.ndarray, inertias: np.ndarray) -> tuple[int, str]:
    """The elbow k of a decreasing inertia curve and the rule that chose it.

    1. ``kneedle``: kneed's KneeLocator(curve="convex", direction="decreasing"),
       default sensitivity S=1, offline.
    2. ``max_second_difference``: when kneed finds no knee (or the curve is
       flat), the k with the largest inertia[k-1] - 2 inertia[k] + inertia[k+1]
       (the smallest such k on a tie).
    3. ``min_inertia``: with fewer than three k values, the smallest k with the
       lowest inertia.
    """
    ks = np.asarray(ks, dtype=np.int64)
    y = np.asarray(inertias, dtype=np.float64)
    if ks.shape[0] == 0:
        raise ClusteringError("no k to choose an elbow from")
    if ks.shape[0] < 3:
        return int(ks[int(np.argmin(y))]), "min_inertia"
    if float(y.max() - y.min()) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            knee = KneeLocator(ks.tolist(), y.tolist(), curve="convex", direction="decreasing").knee
        if knee is not None and not (isinstance(knee, float) and math.isnan(knee)):
            return int(knee), "kneedle"
    second = y[:-2] - 2.0 * y[1:-1] + y[2:]
    return int(ks[1 + int(np.argmax(second))]), "max_second_difference"


@dataclass(frozen=True)
class ElbowCurve:
    """Inertia per k on the elbow sample, and the chosen elbow (None without rows)."""

    ks: np.ndarray
    inertias: np.ndarray
    elbow_k: int | None
    method: str
    sample_size: int
    customers: int
    distinct_points: int


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a uniform random sample of ``size`` of ``n`` rows (all if n <= size)."""
    if n <= size:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=size, replace=False))


def elbow_curve(
    scaled: np.ndarray,
    k_min: int = 1,
    k_max: int = 10,
    seed: int = 42,
    n_init: int = 3,
    sample_size: int = 50_000,
    max_iter: int = 300,
    threads: int = 1,
) -> ElbowCurve:
    """k-means inertia for k = k_min..k_max on a random sample, and the elbow.

    The sample (``sample_size`` rows drawn with ``seed``, or all rows) is fitted
    in float32; k stops at the number of distinct rows in the sample, so no k
    has empty clusters. No rows (or k_min above the distinct rows) gives an
    empty curve with ``elbow_k`` None.
    """
    x = np.asarray(scaled, dtype=np.float64)
    rows = sample_rows(x.shape[0], sample_size, seed)
    sample = np.ascontiguousarray(x[rows], dtype=np.float32)
    distinct = distinct_rows(sample, k_max).shape[0]
    ks = np.arange(k_min, min(k_max, distinct) + 1, dtype=np.int64)
    inertias = np.array(
        [float(_kmeans(sample, int(k), seed, n_init, max_iter, threads).inertia_) for k in ks],
        dtype=np.float64,
    )
    elbow_k, method = find_elbow(ks, inertias) if ks.shape[0] else (None, "none")
    return ElbowCurve(
        ks=ks,
        inertias=inertias,
        elbow_k=elbow_k,
        method=method,
        sample_size=int(rows.shape[0]),
        customers=int(x.shape[0]),
        distinct_points=int(distinct),
    )


def elbow_to_arrow(curve: ElbowCurve, scaler: str, seed: int) -> pa.Table:
    """The ``engagement_elbow`` table: one row per k, explicit Arrow types."""
    n = curve.ks.shape[0]
    columns = [
        pa.array(curve.ks, pa.int32()),
        pa.array(curve.inertias, pa.float64()),
        pa.array(curve.ks == curve.elbow_k, pa.bool_()),
        pa.array([curve.method] * n, pa.string()),
        pa.array([curve.sample_size] * n, pa.int64()),
        pa.array([curve.customers] * n, pa.int64()),
        pa.array([curve.distinct_points] * n, pa.int64()),
        pa.array([scaler] * n, pa.string()),
        pa.array([seed] * n, pa.int64()),
    ]
    return pa.Table.from_arrays(columns, schema=ELBOW_SCHEMA)


# --------------------------------------------------------------------------- dbt entry points


def clusters_table(relation: duckdb.DuckDBPyRelation, settings: ClusterSettings) -> pa.Table:
    """Read customer_engagement, cluster every customer, return ``customer_clusters``."""
    return clusters_to_arrow(cluster_customers(read_features(relation), settings))


def elbow_for(features: CustomerFeatures, settings: ClusterSettings) -> ElbowCurve:
    """The elbow curve of the customers with the settings' scaler, seed, elbow n_init and range."""
    return elbow_curve(
        scale_features(features.values, settings.scaler),
        k_min=settings.elbow_k_min,
        k_max=settings.elbow_k_max,
        seed=settings.seed,
        n_init=settings.elbow_n_init,
        sample_size=settings.elbow_sample_size,
        max_iter=settings.max_iter,
        threads=settings.threads,
    )


def elbow_table(relation: duckdb.DuckDBPyRelation, settings: ClusterSettings) -> pa.Table:
    """Read customer_engagement, compute the elbow curve, return ``engagement_elbow``."""
    curve = elbow_for(read_features(relation), settings)
    return elbow_to_arrow(curve, settings.scaler, settings.seed)
