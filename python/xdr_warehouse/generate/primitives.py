"""Vectorised building blocks that know nothing of xDR records.

Keyed hashing and bijections (so identifiers are pure functions of a key and the seed),
sampling from quantile curves and lognormal rank weights, uniforms correlated with other
uniforms, and numpy arrays as Arrow arrays with a null mask.
"""

from __future__ import annotations

import math
import statistics
import zlib

import numpy as np
import pyarrow as pa

from xdr_warehouse.generate.model import Knots


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fast, well-mixing bijection on uint64 (wraps silently)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def derive_salt(seed: int, name: str) -> np.uint64:
    """A 64-bit key derived from the seed and a purpose name (stable across runs)."""
    h = zlib.crc32(name.encode()) | (zlib.adler32(name.encode()) << 32)
    return np.uint64((h ^ (seed * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF)


def hash_uniform(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """Deterministic uniform [0, 1) numbers from integer keys."""
    h = _mix64(keys.astype(np.uint64) ^ salt)
    h = _mix64(h + salt)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def permute(x: np.ndarray, domain: int, salt: np.uint64) -> np.ndarray:
    """A keyed bijection of [0, domain): 4-round Feistel network plus cycle walking."""
    half = max(1, math.ceil(math.ceil(math.log2(max(domain, 2))) / 2))
    mask = np.uint64((1 << half) - 1)
    keys = [
        _mix64(np.array([(int(salt) + r) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
        for r in range(4)
    ]

    def feistel(v: np.ndarray) -> np.ndarray:
        left, right = v >> np.uint64(half), v & mask
        for key in keys:
            left, right = right, left ^ (_mix64(right ^ key) & mask)
        return (left << np.uint64(half)) | right

    y = feistel(x.astype(np.uint64))
    bad = np.flatnonzero(y >= np.uint64(domain))
    while bad.size:
        y[bad] = feistel(y[bad])
        bad = bad[y[bad] >= np.uint64(domain)]
    return y.astype(np.int64)


def near(u: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    """Uniforms correlated with the uniforms ``u``: u + U(-spread, spread), folded into [0, 1].

    Folding (reflecting at 0 and 1) a uniform plus symmetric noise keeps it exactly uniform,
    so the marginal distribution of whatever is derived from it does not change.
    """
    y = np.abs(u + spread * (2.0 * rng.random(u.size) - 1.0))
    return np.where(y > 1.0, 2.0 - y, y)


def arrow(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A numeric numpy array (int64/float64) as Arrow, NULL where ``mask``.

    Built from buffers: cheaper than ``pa.array`` and it does not import pandas.
    """
    values = np.ascontiguousarray(values)
    arrow_type = pa.from_numpy_dtype(values.dtype)
    if mask is None or not mask.any():
        return pa.Array.from_buffers(arrow_type, values.size, [None, pa.py_buffer(values)])
    validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
    buffers = [validity, pa.py_buffer(values)]
    return pa.Array.from_buffers(arrow_type, values.size, buffers, null_count=int(mask.sum()))


def quantile_map(u: np.ndarray, knots: Knots) -> np.ndarray:
    """Map uniforms through a quantile curve, interpolating in log1p space; int64 out."""
    ku = np.array([k[0] for k in knots], dtype=np.float64)
    kv = np.log1p(np.array([k[1] for k in knots], dtype=np.float64))
    return np.floor(np.expm1(np.interp(u, ku, kv))).astype(np.int64)


def lognormal_rank_cdf(sigma: float, points: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Tabulated CDF over ranks t in [0, 1] whose weight is exp(sigma * z_(1-t)).

    Rank 0 is the heaviest. Returns (cdf, t) for ``np.interp(u, cdf, t)`` sampling.
    """
    t = np.concatenate(([0.0], np.logspace(-14, 0, points)))
    mids = np.sqrt(t[1:] * t[:-1])
    mids[0] = t[1] / 2
    inv = statistics.NormalDist().inv_cdf
    weights = np.exp(sigma * np.array([inv(1.0 - m) for m in mids]))
    cdf = np.concatenate(([0.0], np.cumsum(weights * np.diff(t))))
    return cdf / cdf[-1], t


def sample_ranks(u: np.ndarray, table: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    """Draw ranks in [0, size) with the lognormal weights of ``table``."""
    cdf, t = table
    return np.minimum((np.interp(u, cdf, t) * size).astype(np.int64), size - 1)
