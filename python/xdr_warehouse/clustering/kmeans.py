"""k-means with cluster ids ordered by engagement, on scikit-learn.

- scikit-learn ``KMeans`` (k-means++, Lloyd, ``n_init`` runs, ``random_state =
  seed``), float64, on rows in the order given (callers sort by MSISDN).
- Cluster ids are ordered by engagement: by the mean of the centroid's scaled
  features, lowest first (ties by the centroid's coordinates). Names are
  low / medium / high for k = 3 and level_1 .. level_k (level_1 lowest) for
  any other k.
- scikit-learn is imported on the first fit, not with this module.
- k-means runs on ``threads`` OpenMP threads (default 1). scikit-learn adds the
  threads' partial centroid sums in whatever order they finish, so with more
  threads a rerun may differ in the last bits; one thread makes reruns
  identical whatever the core count.
- Fewer distinct rows than k: every distinct row is its own cluster, so only
  that many ids are used (0 .. d-1, still ordered by engagement). No rows: no
  centroids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from xdr_warehouse.clustering.settings import ClusteringError

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

#: Level names for k = 3; other k use level_1 .. level_k.
THREE_LEVELS: tuple[str, ...] = ("low", "medium", "high")


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


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index (int32) of the nearest centroid of each row; the lowest index on a tie.

    The same rule as ``customer_clusters`` applies in SQL: squared Euclidean
    distance per centroid, then the first centroid with the least distance.
    """
    if centroids.shape[0] == 0:
        return np.zeros(x.shape[0], dtype=np.int32)
    distances = ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(distances, axis=1).astype(np.int32)


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

    @property
    def clusters_used(self) -> int:
        return int(self.centroids.shape[0])


def kmeans(x: np.ndarray, k: int, seed: int, n_init: int, max_iter: int, threads: int) -> KMeans:
    """scikit-learn KMeans (Lloyd) fitted on ``x`` with ``threads`` OpenMP threads (0 = all)."""
    # imported here: scikit-learn takes 1.3 s to import, and a build that keeps the
    # cluster model fits nothing
    from sklearn.cluster import KMeans

    model = KMeans(
        n_clusters=k, init="k-means++", n_init=n_init, max_iter=max_iter, random_state=seed,
        algorithm="lloyd",
    )  # fmt: skip
    with threadpool_limits(limits=threads or None, user_api="openmp"):
        return model.fit(x)


def fit_clusters(
    scaled: np.ndarray,
    k: int = 3,
    seed: int = 42,
    n_init: int = 10,
    max_iter: int = 300,
    threads: int = 1,
) -> ClusterFit:
    """k-means on the scaled features; ids ordered by engagement, lowest first.

    ``KMeans(k, n_init=n_init, random_state=seed).fit`` on the rows in the
    order given. With fewer distinct rows than ``k`` each distinct row is its
    own cluster and only that many ids are used; with no rows the result is
    empty.
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
    if points.shape[0] < k:
        centroids = points
        labels = nearest_centroid(x, centroids)
        inertia = 0.0
    else:
        model = kmeans(x, k, seed, n_init, max_iter, threads)
        centroids = np.asarray(model.cluster_centers_, dtype=np.float64)
        labels = np.asarray(model.labels_, dtype=np.int32)
        inertia = float(model.inertia_)
    # Drop clusters without customers (possible only in degenerate data), then order.
    used = np.flatnonzero(np.bincount(labels, minlength=centroids.shape[0]) > 0)
    order = used[engagement_order(centroids[used])]
    new_id = np.full(centroids.shape[0], -1, dtype=np.int32)
    new_id[order] = np.arange(order.shape[0], dtype=np.int32)
    return ClusterFit(labels=new_id[labels], centroids=centroids[order], inertia=inertia, k=k)
