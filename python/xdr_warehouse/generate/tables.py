"""The per-file tables every block of a file draws from (``Model.build(n_records, seed)``).

They derive from the constants of ``model.py``, ``n_records`` and the seed only, so each
process (this one or a helper) builds the same tables: the start/duration sampler, the
customer and cell rank weights, the handset and bearer-node choices, the null shares, the
keys of the keyed hashes, and the text pools the formats take strings from by index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xdr_warehouse.generate.model import (
    BEARER_NODES,
    BEARER_SPAN,
    CELL_POOL,
    CELL_SIGMA,
    CUSTOMER_POOL_RATIO,
    CUSTOMER_SIGMA,
    DURATION_QUANTILES,
    END_LIMIT_MS,
    EPOCH,
    HANDSETS,
    MSISDN_BLOCK,
    NULLS_BEARER,
    NULLS_BEARER_AND_IDS,
    NULLS_BEARER_AND_MSISDN,
    NULLS_DL_TP,
    NULLS_IMEI_ONLY,
    NULLS_IMSI_ONLY,
    NULLS_LOCATION_ONLY,
    NULLS_MSISDN_ONLY,
    NULLS_RTT_BOTH,
    NULLS_RTT_DL_ONLY,
    NULLS_UL_TP,
    REFERENCE_RECORDS,
    WINDOW_END_MS,
    WINDOW_START_MS,
)
from xdr_warehouse.generate.primitives import (
    arrow,
    derive_salt,
    hash_uniform,
    lognormal_rank_cdf,
    permute,
)


@dataclass(frozen=True)
class TimeModel:
    """Tables for the (start, duration) sampler; the ideas are in the docstring of records.py."""

    d_grid: np.ndarray  # duration (ms), increasing
    g_grid: np.ndarray  # cumulative selection weight of durations up to d_grid
    start_cdf: np.ndarray
    start_grid: np.ndarray  # start (ms since EPOCH) at start_cdf

    @classmethod
    def build(cls) -> TimeModel:
        """Tabulate the duration curve and the implied start-time distribution."""
        ku = np.array([k[0] for k in DURATION_QUANTILES])
        kd = np.array([k[1] for k in DURATION_QUANTILES]) * 1000.0
        u_grid = np.unique(np.concatenate((np.linspace(0.0, 1.0, 20_001), ku)))
        d_grid = np.interp(u_grid, ku, kd)
        # P(selected | D) is proportional to the length of the allowed start interval.
        span = np.minimum(WINDOW_END_MS - WINDOW_START_MS + d_grid, END_LIMIT_MS - WINDOW_START_MS)
        g = 1.0 / span
        g_grid = np.concatenate(([0.0], np.cumsum((g[1:] + g[:-1]) / 2 * np.diff(u_grid))))
        # A start s admits durations in [WINDOW_START - s, END_LIMIT - s].
        start_grid = np.linspace(WINDOW_START_MS - d_grid[-1], WINDOW_END_MS, 40_001)
        density = np.interp(END_LIMIT_MS - start_grid, d_grid, g_grid) - np.interp(
            WINDOW_START_MS - start_grid, d_grid, g_grid
        )
        density = np.maximum(density, 0.0) + 1e-9 * density.max()
        cdf = np.concatenate(([0.0], np.cumsum((density[1:] + density[:-1]) / 2)))
        return cls(d_grid, g_grid, cdf / cdf[-1], start_grid)

    def sample(self, p: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start (ms since EPOCH) at start-quantiles p, then duration (ms) given start."""
        start = np.rint(np.interp(p, self.start_cdf, self.start_grid)).astype(np.int64)
        lo = np.interp(WINDOW_START_MS - start, self.d_grid, self.g_grid)
        hi = np.interp(END_LIMIT_MS - start, self.d_grid, self.g_grid)
        duration = np.rint(np.interp(lo + v * (hi - lo), self.g_grid, self.d_grid)).astype(np.int64)
        return start, np.maximum(duration, int(self.d_grid[0]))


@dataclass(frozen=True)
class Model:
    """Everything a block needs besides its own RNG stream (read-only, thread-safe)."""

    n_records: int
    seed: int
    n_customers: int
    msisdn_domain: int
    time: TimeModel
    customer_cdf: tuple[np.ndarray, np.ndarray]
    cell_cdf: tuple[np.ndarray, np.ndarray]
    handset_cum: np.ndarray
    handset_prefix: np.ndarray
    bearer_cum: np.ndarray
    bearer_base: np.ndarray
    bearer_exp: np.ndarray
    bearer_step: int
    null_p: dict[str, float]
    salts: dict[str, np.uint64]
    # string pools for the text columns (taken by index)
    minute_offset: int
    minute_pool: pa.Array = field(repr=False)
    cell_pool: pa.Array = field(repr=False)
    cell_numeric: np.ndarray = field(repr=False)  # xlsx numeric value, or NaN for text
    manufacturer_pool: pa.Array = field(repr=False)
    type_pool: pa.Array = field(repr=False)

    @classmethod
    def build(cls, n_records: int, seed: int) -> Model:
        """Derive the tables for ``n_records`` records and ``seed``."""
        salts = {
            name: derive_salt(seed, name)
            for name in (
                "msisdn", "msisdn_form", "imsi", "imsi_form", "imei", "handset",
                "undefined_imei", "home_cell", "cell_name", "cell_form", "bearer_node",
                "bearer_jitter",
            )
        }  # fmt: skip
        n_customers = max(1, round(CUSTOMER_POOL_RATIO * n_records))
        not_a = REFERENCE_RECORDS - NULLS_BEARER
        null_p = {
            "bearer": NULLS_BEARER / REFERENCE_RECORDS,
            "a_msisdn": NULLS_BEARER_AND_MSISDN / NULLS_BEARER,
            "a_ids": NULLS_BEARER_AND_IDS / NULLS_BEARER,
            "msisdn": NULLS_MSISDN_ONLY / not_a,
            "imei": NULLS_IMEI_ONLY / not_a,
            "imsi": NULLS_IMSI_ONLY / not_a,
            "location": NULLS_LOCATION_ONLY / not_a,
            "rtt_both": NULLS_RTT_BOTH / REFERENCE_RECORDS,
            "rtt_dl": NULLS_RTT_DL_ONLY / REFERENCE_RECORDS,
            "dl_tp": NULLS_DL_TP / REFERENCE_RECORDS,
            "ul_tp": NULLS_UL_TP / REFERENCE_RECORDS,
            "vol_dl": 1 / REFERENCE_RECORDS,
            "vol_ul": 1 / REFERENCE_RECORDS,
        }
        rows = np.array([h[2] for h in HANDSETS], dtype=np.float64)
        nodes = np.array([b[2] for b in BEARER_NODES])
        minute_offset, minute_pool = _minute_pool()
        cell_pool, cell_numeric = _cell_pool(salts)
        return cls(
            n_records=n_records,
            seed=seed,
            n_customers=n_customers,
            msisdn_domain=MSISDN_BLOCK * math.ceil(n_customers / MSISDN_BLOCK),
            time=TimeModel.build(),
            customer_cdf=lognormal_rank_cdf(CUSTOMER_SIGMA),
            cell_cdf=lognormal_rank_cdf(CELL_SIGMA),
            handset_cum=np.cumsum(rows) / rows.sum(),
            handset_prefix=np.array([h[3] for h in HANDSETS], dtype=np.int64),
            bearer_cum=np.cumsum(nodes) / nodes.sum(),
            bearer_base=np.array([b[0] for b in BEARER_NODES], dtype=np.int64)
            + (hash_uniform(np.arange(len(BEARER_NODES)), salts["bearer_node"]) * 1e7).astype(
                np.int64
            ),
            bearer_exp=np.array([b[1] for b in BEARER_NODES], dtype=np.int64),
            bearer_step=max(1, BEARER_SPAN // n_records),
            null_p=null_p,
            salts=salts,
            minute_pool=minute_pool,
            minute_offset=minute_offset,
            cell_pool=cell_pool,
            cell_numeric=cell_numeric,
            manufacturer_pool=pa.array([h[0] for h in HANDSETS]),
            type_pool=pa.array([h[1] for h in HANDSETS]),
        )


def _minute_pool() -> tuple[int, pa.Array]:
    """``M/D/YYYY H:MM`` text for every minute a Start or End can fall in."""
    first = (WINDOW_START_MS - int(DURATION_QUANTILES[-1][1] * 1000)) // 60_000 - 1
    last = END_LIMIT_MS // 60_000 + 1
    minutes = np.arange(first, last + 1, dtype=np.int64)
    stamps = np.datetime64(EPOCH, "m") + minutes.astype("timedelta64[m]")
    days = stamps.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    month = (months - days.astype("datetime64[Y]").astype("datetime64[M]")).astype(int) + 1
    day = (days - months).astype(int) + 1
    year = days.astype("datetime64[Y]").astype(int) + 1970
    minute_of_day = (stamps - days).astype(int)
    parts = [
        pc.cast(arrow(month), pa.string()),
        pc.cast(arrow(day), pa.string()),
        pc.binary_join_element_wise(
            pc.cast(arrow(year), pa.string()),
            pc.cast(arrow(minute_of_day // 60), pa.string()),
            " ",
        ),
    ]
    date_hour = pc.binary_join_element_wise(*parts, "/")
    mins = pc.utf8_lpad(pc.cast(arrow(minute_of_day % 60), pa.string()), 2, "0")
    return int(first), pc.binary_join_element_wise(date_hour, mins, ":")


def _cell_pool(salts: dict[str, np.uint64]) -> tuple[pa.Array, np.ndarray]:
    """Names of the location cells by rank, plus their xlsx numeric value (or NaN).

    Mostly ``D42335A``-style codes, some ``CELL_208_20_520025_1`` and some Excel-mangled
    ``9.16456699548519E+015`` numbers (numeric cells in the xlsx).
    """
    rank = np.arange(CELL_POOL, dtype=np.int64)
    code = permute(rank, 900_000, salts["cell_name"])
    form = hash_uniform(rank, salts["cell_form"])
    letters = np.array(list("DLT"))[code // 300_000]
    sectors = np.array(list("ABC"))[(code // 100_000) % 3]
    digits = np.char.zfill((code % 100_000).astype("U5"), 5)
    names = np.char.add(np.char.add(letters, digits), sectors)
    cell = np.char.add(
        np.char.add("CELL_208_20_", (520_000 + code % 480_000).astype("U6")),
        np.char.add("_", (1 + code % 3).astype("U1")),
    )
    mantissa = 916_456_000_000_000 + code * 1_111
    mangled = np.char.add(
        np.char.add("9.", np.char.zfill((mantissa % 10**14).astype("U14"), 14)), "E+015"
    )
    is_cell = form < 0.05
    is_mangled = (form >= 0.05) & (form < 0.08)
    names = np.where(is_cell, cell, np.where(is_mangled, mangled, names))
    numeric = np.where(is_mangled, mantissa.astype(np.float64) * 10.0, np.nan)
    return pa.array(names.tolist()), numeric
