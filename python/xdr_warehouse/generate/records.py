"""Drawing one block of records, column-wise, from the seed and the global record index.

The statistical model follows ``docs/dataset.md`` (its numbers are in ``model.py``). The
main ideas, all streaming-friendly (each record depends only on the seed, its global index
and ``n_records``):

- Sessions are those that *ended after* ``WINDOW_START`` (4/25 0:00), *started before*
  ``WINDOW_END`` (4/29 7:30) and ended before ``END_LIMIT`` (5/1 0:00). Durations follow a
  fitted quantile curve (median 86,399 s, ~30% capped at one day). Start times use
  stratified sampling ``F^-1((i + U_i) / n)``, so the whole file is sorted by ``Start``
  without any sort, and the duration is then drawn conditionally on the start.
- Customers: a pool of ``CUSTOMER_POOL_RATIO * n`` customers with Poisson-lognormal
  activity; each record draws its customer independently, so a customer's sessions are
  spread over the month. MSISDN/IMSI/IMEI/handset/home cell are pure functions of the
  customer (keyed bijections, so distinct customers get distinct numbers).
- ``Bearer Id`` is a function of a "bearer key" (the record index, or for ~10% of records
  a nearby record's index, which makes the ids repeat like in the real file).

Records are drawn in fixed blocks of ``BLOCK_SIZE`` with one RNG stream per block, so a
block's values depend neither on the other blocks nor on the process that draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xdr_warehouse.generate.model import (
    APP_COLUMNS,
    APP_RANGES,
    BEARER_NODES,
    BEARER_REPEAT_LAG,
    BEARER_REPEAT_SHARE,
    CELL_POOL,
    DL_TP_COLUMNS,
    DL_TP_LOW,
    DL_TP_REST,
    FOREIGN_IMSIS,
    HANDSETS,
    HOME_CELL_SHARE,
    HOME_IMSI,
    ODD_MSISDNS,
    REFERENCE_RECORDS,
    RTT_DL,
    RTT_UL,
    SPARSE_COLUMNS,
    TOTAL_DL_PARTS,
    TOTAL_UL_PARTS,
    TP_DL,
    TP_UL,
    UL_TP_COLUMNS,
    UL_TP_LOW,
    UL_TP_REST,
    UNDEFINED_IMEI_PREFIXES,
)
from xdr_warehouse.generate.primitives import (
    hash_uniform,
    near,
    permute,
    quantile_map,
    sample_ranks,
)
from xdr_warehouse.generate.tables import Model

#: Records per RNG stream. Fixed, so output does not depend on ``chunk_size``.
BLOCK_SIZE = 65_536


@dataclass
class Block:
    """One block of generated records, column-wise."""

    ints: dict[str, np.ndarray]  # int64 values (meaningless where null)
    nulls: dict[str, np.ndarray]  # bool null masks (absent = never null)
    start_ms: np.ndarray  # session start, ms since EPOCH
    end_ms: np.ndarray  # session end, ms since EPOCH
    bearer_mantissa: np.ndarray  # Bearer Id's 15 significant digits
    bearer_exp: np.ndarray  # its decimal exponent (18 or 19)
    cell: np.ndarray  # index into Model.cell_pool
    handset: np.ndarray  # index into HANDSETS

    def app_sums(self) -> dict[str, int]:
        """Exact per-application byte sums (for the summary row)."""
        return {c: int(self.ints[c].sum()) for c in APP_COLUMNS}


def block_count(model: Model) -> int:
    """Number of blocks in the file."""
    return math.ceil(model.n_records / BLOCK_SIZE)


def _block_rng(model: Model, block: int) -> np.random.Generator:
    """The block's own RNG stream (depends on seed and block index only)."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([model.seed, 0x58_44_52, block]))
    )


def generate_block(model: Model, block: int) -> Block:
    """Generate records [block * BLOCK_SIZE, ...) of the file."""
    first = block * BLOCK_SIZE
    m = min(BLOCK_SIZE, model.n_records - first)
    rng = _block_rng(model, block)
    index = np.arange(first, first + m, dtype=np.int64)
    ints: dict[str, np.ndarray] = {}
    nulls = _id_nulls(model.null_p, rng.random(m), rng.random(m))
    # stratified start quantiles keep the whole file sorted by Start
    start, duration = model.time.sample((index + rng.random(m)) / model.n_records, rng.random(m))
    end = start + duration
    ints["Start ms"] = start % 1000
    ints["End ms"] = end % 1000
    ints["Dur. (ms)"] = duration // 1000
    ints["Dur. (ms).1"] = duration
    handset, cell = _customer_columns(model, rng, ints)
    mantissa, exponent = _bearer(model, index, rng)
    _rtt_and_throughput(rng, model.null_p, ints, nulls)
    _sparse_measures(rng, ints, nulls, duration)
    _tp_buckets(rng, model.null_p, ints, nulls)
    _app_bytes(rng, ints)
    return Block(ints, nulls, start, end, mantissa, exponent, cell, handset)


def _customer_columns(
    model: Model, rng: np.random.Generator, ints: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Draw each record's customer; fill MSISDN/IMSI/IMEI; return (handset, cell) indexes.

    Handset and home cell are functions of the customer; a record is in its customer's
    home cell with probability ``HOME_CELL_SHARE``, else in a cell drawn by cell weight.
    """
    m = ints["Start ms"].size
    customer = sample_ranks(rng.random(m), model.customer_cdf, model.n_customers)
    ints["MSISDN/Number"] = _msisdn(model, customer)
    ints["IMSI"] = _imsi(model, customer)
    pick = hash_uniform(customer, model.salts["handset"])
    handset = np.minimum(np.searchsorted(model.handset_cum, pick, side="right"), len(HANDSETS) - 1)
    ints["IMEI"] = _imei(model, customer, handset)
    home_pick = hash_uniform(customer, model.salts["home_cell"])
    home = sample_ranks(home_pick, model.cell_cdf, CELL_POOL)
    roaming = sample_ranks(rng.random(m), model.cell_cdf, CELL_POOL)
    return handset, np.where(rng.random(m) < HOME_CELL_SHARE, home, roaming)


def _app_bytes(rng: np.random.Generator, ints: dict[str, np.ndarray]) -> None:
    """i.i.d. uniform per-application bytes and the two totals (exact identities)."""
    m = ints["Start ms"].size
    for col in APP_COLUMNS:
        low, high = APP_RANGES[col]
        ints[col] = rng.integers(low, high + 1, size=m, dtype=np.int64)
    ints["Total UL (Bytes)"] = np.sum([ints[c] for c in TOTAL_UL_PARTS], axis=0)
    ints["Total DL (Bytes)"] = np.sum([ints[c] for c in TOTAL_DL_PARTS], axis=0)


def _id_nulls(p: dict[str, float], ua: np.ndarray, ub: np.ndarray) -> dict[str, np.ndarray]:
    """Null masks of the id, location and handset columns from two uniforms per record."""
    group_a = ua < p["bearer"]
    within = ua / p["bearer"]  # uniform inside the null-Bearer group
    other = ~group_a
    ids = (group_a & (within < p["a_ids"])) | (other & (ub < p["imei"]))
    location_from = p["msisdn"]
    return {
        "Bearer Id": group_a,
        "MSISDN/Number": (group_a & (within < p["a_msisdn"])) | (other & (ub < p["msisdn"])),
        "IMSI": (group_a & (within < p["a_ids"])) | (other & (ub < p["imsi"])),
        "IMEI": ids,
        "Handset Manufacturer": ids,
        "Handset Type": ids,
        "Last Location Name": group_a
        | (other & (ub >= location_from) & (ub < location_from + p["location"])),
    }


def _msisdn(model: Model, customer: np.ndarray) -> np.ndarray:
    """MSISDN of each customer: 336/337xxxxxxxx, a few odd 13-15 digit numbers."""
    v = permute(customer, model.msisdn_domain, model.salts["msisdn"])
    out = 33_600_000_000 + v
    form = hash_uniform(customer, model.salts["msisdn_form"])
    edge = 0.0
    for share, base in ODD_MSISDNS:
        sel = (form >= edge) & (form < edge + share)
        out[sel] = base + v[sel]
        edge += share
    return out


def _imsi(model: Model, customer: np.ndarray) -> np.ndarray:
    """IMSI of each customer: 20820 + 10-digit MSIN (skewed to 1.0e9-1.95e9), some 204/214."""
    v = permute(customer, 1_000_000_000, model.salts["imsi"])
    msin = np.where(v < 950_000_000, v + 1_000_000_000, v - 650_000_000)
    out = HOME_IMSI + msin
    form = hash_uniform(customer, model.salts["imsi_form"])
    edge = 0.0
    for share, base in FOREIGN_IMSIS:
        sel = (form >= edge) & (form < edge + share)
        out[sel] = base + msin[sel]
        edge += share
    return out


def _imei(model: Model, customer: np.ndarray, handset: np.ndarray) -> np.ndarray:
    """IMEI (14 digits, prefix from the handset's vendor) of each customer."""
    prefix = model.handset_prefix[handset]
    undefined = prefix == 0
    pick = (
        hash_uniform(customer, model.salts["undefined_imei"]) * UNDEFINED_IMEI_PREFIXES.size
    ).astype(np.int64)
    prefix = np.where(undefined, UNDEFINED_IMEI_PREFIXES[pick], prefix)
    return prefix * 10**12 + permute(customer, 10**12, model.salts["imei"])


def _bearer(
    model: Model, index: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Bearer Id as (15-digit mantissa, exponent), a function of a bearer key.

    The key is the record's index, or for ~10% of records a nearby record's index.
    """
    m = index.size
    repeat = rng.random(m) < BEARER_REPEAT_SHARE
    lag = rng.integers(1, BEARER_REPEAT_LAG + 1, size=m, dtype=np.int64)
    back = index - lag
    other = np.where(back >= 0, back, np.minimum(index + lag, model.n_records - 1))
    key = np.where(repeat, other, index)
    node = np.searchsorted(
        model.bearer_cum, hash_uniform(key, model.salts["bearer_node"]), side="right"
    )
    node = np.minimum(node, len(BEARER_NODES) - 1)
    step = model.bearer_step
    jitter = (hash_uniform(key, model.salts["bearer_jitter"]) * step).astype(np.int64)
    return model.bearer_base[node] + step * key + jitter, model.bearer_exp[node]


def _rtt_and_throughput(
    rng: np.random.Generator,
    p: dict[str, float],
    ints: dict[str, np.ndarray],
    nulls: dict[str, np.ndarray],
) -> None:
    """Average RTT and bearer throughput, each UL value correlated with its DL value."""
    m = next(iter(ints.values())).size
    r = rng.random(m)
    nulls["Avg RTT UL (ms)"] = r < p["rtt_both"]
    nulls["Avg RTT DL (ms)"] = r < p["rtt_both"] + p["rtt_dl"]
    rtt, tp = rng.random(m), rng.random(m)
    ints["Avg RTT DL (ms)"] = quantile_map(rtt, RTT_DL)
    ints["Avg RTT UL (ms)"] = quantile_map(near(rtt, 0.4, rng), RTT_UL)
    ints["Avg Bearer TP DL (kbps)"] = quantile_map(tp, TP_DL)
    ints["Avg Bearer TP UL (kbps)"] = quantile_map(near(tp, 0.3, rng), TP_UL)


def _sparse_measures(
    rng: np.random.Generator,
    ints: dict[str, np.ndarray],
    nulls: dict[str, np.ndarray],
    duration_ms: np.ndarray,
) -> None:
    """TCP, HTTP, activity and "Nb of sec" columns, driven by one activity level.

    Activity durations are capped at the session's duration, "Nb of sec" at its seconds.
    """
    activity = rng.random(duration_ms.size)
    seconds = duration_ms // 1000
    for col in SPARSE_COLUMNS:
        score = near(activity, col.spread, rng)
        p_null = col.nulls / REFERENCE_RECORDS
        if p_null > 0:
            nulls[col.name] = score < p_null
        u = np.clip((score - p_null) / (1.0 - p_null), 0.0, 1.0)
        values = quantile_map(u, col.knots)
        if col.name.startswith("Activity"):
            values = np.minimum(values, duration_ms)
        elif col.name.startswith("Nb of sec"):
            values = np.minimum(values, seconds)
        ints[col.name] = values


def _tp_buckets(
    rng: np.random.Generator,
    p: dict[str, float],
    ints: dict[str, np.ndarray],
    nulls: dict[str, np.ndarray],
) -> None:
    """Integer throughput-bucket percentages summing to about 100 per direction."""
    m = next(iter(ints.values())).size
    for names, low_knots, rest, key, vol in (
        (DL_TP_COLUMNS, DL_TP_LOW, DL_TP_REST, "dl_tp", "Nb of sec with Vol DL < 6250B"),
        (UL_TP_COLUMNS, UL_TP_LOW, UL_TP_REST, "ul_tp", "Nb of sec with Vol UL < 1250B"),
    ):
        low = quantile_map(rng.random(m), low_knots)
        share = rng.exponential(size=(3, m)) * np.array(rest)[:, None]
        share /= share.sum(axis=0)
        remainder = 100 - low
        ints[names[0]] = low
        for name, s in zip(names[1:], share, strict=True):
            ints[name] = np.floor(remainder * s).astype(np.int64)
        r = rng.random(m)
        missing = r < p[key]
        for name in names:
            nulls[name] = missing
        nulls[vol] = r < p[key] + p["vol_dl" if key == "dl_tp" else "vol_ul"]
