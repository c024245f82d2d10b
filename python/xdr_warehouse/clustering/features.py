"""The customers' engagement features as a numpy matrix, sorted by MSISDN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from xdr_warehouse.clustering.settings import ClusteringError

#: Engagement features, in the order of the feature matrix columns.
FEATURES: tuple[str, ...] = ("session_count", "total_duration_ms", "total_traffic_bytes")
#: Output column holding each feature's scaled value.
SCALED_COLUMNS: tuple[str, ...] = tuple(f"scaled_{name}" for name in FEATURES)


class Relation(Protocol):
    """What :func:`read_features` needs of a DuckDB relation."""

    def select(self, *args: str) -> Relation: ...
    def fetchnumpy(self) -> dict[str, np.ndarray]: ...


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


def read_features(relation: Relation) -> CustomerFeatures:
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
