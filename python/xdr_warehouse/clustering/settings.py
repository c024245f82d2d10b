"""Clustering and elbow settings: the dbt vars ``cluster_*`` and ``elbow_*``, checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Supported scalers.
SCALERS: tuple[str, ...] = ("zscore", "minmax", "log_zscore", "robust")


class ClusteringError(ValueError):
    """A setting or input the clustering cannot use, stated in one line."""


@dataclass(frozen=True)
class ClusterSettings:
    """Clustering and elbow settings (the dbt vars of the same names, prefixed)."""

    k: int = 3
    scaler: str = "zscore"
    seed: int = 42
    n_init: int = 10
    max_iter: int = 300
    fit_sample_size: int = 250_000
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

    #: Field name -> (dbt var name, type).
    VARS = {
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

    @classmethod
    def from_config(cls, get: Callable[[str], Any]) -> ClusterSettings:
        """Build settings from a ``get(var name)`` lookup such as dbt's ``dbt.config.get``.

        Values rendered from ``var()`` in YAML arrive as strings; they are
        converted here. A missing (None) or empty value keeps the default.
        """
        values: dict[str, Any] = {}
        for field, (key, kind) in cls.VARS.items():
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
