"""The elbow method: k-means inertia for k = k_min .. k_max, and the k where it bends.

The curve is fitted on the customers of the elbow sample
(``int_customers_sampled_for_elbow``, about ``elbow_sample_size`` customers
drawn by a hash of the MSISDN), scaled with the cluster model's scaler, in
float32, ``elbow_n_init`` runs per k; k stops at the number of distinct rows
in the sample, so no k has empty clusters. The fits of the k values run in
parallel threads (:func:`fit_workers`), each fit on its own ``threads`` OpenMP
threads with its own seed, so the curve is the same bit for bit as fitting one k
after the other. The elbow is kneed's
``KneeLocator(curve="convex", direction="decreasing")``; when it finds none,
the k with the largest second difference of inertia; with fewer than three k
values, the smallest k with the lowest inertia.
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from threadpoolctl import threadpool_limits

from xdr_warehouse.clustering.kmeans import distinct_rows, kmeans
from xdr_warehouse.clustering.settings import ClusteringError

ELBOW_SCHEMA = pa.schema(
    [
        pa.field("k", pa.int32(), nullable=False),
        pa.field("inertia", pa.float64(), nullable=False),
        pa.field("is_elbow", pa.bool_(), nullable=False),
        pa.field("elbow_method", pa.string(), nullable=False),
        pa.field("sample_size", pa.int64(), nullable=False),
        pa.field("customer_count", pa.int64(), nullable=False),
        pa.field("distinct_point_count", pa.int64(), nullable=False),
        pa.field("scaler", pa.string(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
    ]
)


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
        # imported here: kneed imports scipy.signal (1 s); builds that keep the model
        # draw no elbow
        from kneed import KneeLocator

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


def fit_workers(threads: int, fits: int) -> int:
    """How many of ``fits`` k-means fits of ``threads`` OpenMP threads each to run at
    once: one per ``threads`` cores; one when a fit uses every core (``threads`` 0)."""
    if threads < 1 or fits < 2:
        return 1
    return max(1, min(fits, (os.cpu_count() or 1) // threads))


def curve_inertias(
    sample: np.ndarray,
    ks: np.ndarray,
    seed: int,
    n_init: int,
    max_iter: int,
    threads: int,
    workers: int | None = None,
) -> np.ndarray:
    """The k-means inertia of each k in ``ks``, the fits spread over ``workers`` threads.

    A fit is deterministic given its seed and its OpenMP thread count (set per
    thread), so the order the fits run in changes nothing. scikit-learn's Lloyd
    loop runs outside Python's lock; the largest k, the slowest fit, starts first.
    BLAS stays at one thread while the fits run, so that scikit-learn's own
    one-thread BLAS limit, set and restored around each Lloyd loop, is the same
    value in every thread.
    """
    workers = fit_workers(threads, len(ks)) if workers is None else max(1, workers)

    def inertia(k: int) -> float:
        return float(kmeans(sample, int(k), seed, n_init, max_iter, threads).inertia_)

    largest_first = [int(k) for k in ks[::-1]]
    with threadpool_limits(limits=1, user_api="blas"):
        if workers == 1:
            values = [inertia(k) for k in largest_first]
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="xdr-elbow") as pool:
                values = list(pool.map(inertia, largest_first))
    return np.array(values[::-1], dtype=np.float64)


def elbow_curve(
    scaled_sample: np.ndarray,
    customers: int,
    k_min: int = 1,
    k_max: int = 10,
    seed: int = 42,
    n_init: int = 3,
    max_iter: int = 300,
    threads: int = 1,
    workers: int | None = None,
) -> ElbowCurve:
    """k-means inertia for k = k_min..k_max on the (scaled) sample rows, and the elbow.

    ``customers`` is the number of customers the sample was drawn from. No rows
    (or k_min above the distinct rows) gives an empty curve with ``elbow_k`` None.
    ``workers``: fits run at once (default :func:`fit_workers`); the curve does
    not depend on it.
    """
    sample = np.ascontiguousarray(scaled_sample, dtype=np.float32)
    distinct = distinct_rows(sample, k_max).shape[0]
    ks = np.arange(k_min, min(k_max, distinct) + 1, dtype=np.int64)
    inertias = curve_inertias(sample, ks, seed, n_init, max_iter, threads, workers)
    elbow_k, method = find_elbow(ks, inertias) if ks.shape[0] else (None, "none")
    return ElbowCurve(
        ks=ks,
        inertias=inertias,
        elbow_k=elbow_k,
        method=method,
        sample_size=int(sample.shape[0]),
        customers=int(customers),
        distinct_points=int(distinct),
    )


def elbow_to_arrow(curve: ElbowCurve, scaler: str, seed: int) -> pa.Table:
    """The elbow table: one row per k, explicit Arrow types."""
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
