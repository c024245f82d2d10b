"""The statistical model of the real TellCo export, as data (no I/O, no randomness).

Every number here is a public fact about the real 150,000-record file (``docs/dataset.md``,
cited as DATASET.md with its section) or a parameter fitted to those facts: the session time
window and duration curve, the customer, bearer and location parameters, the null counts,
the quantile curves of the measures, the application byte ranges and the handset catalogue.
``tables.py`` turns them into the per-file sampling tables; ``records.py`` draws from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from xdr_warehouse.columns import APPLICATIONS, RAW_NAMES

REFERENCE_RECORDS = 150_000  # the real file's size; null counts below are for it

# --------------------------------------------------------------------------- time model
EPOCH = datetime(2019, 4, 1)
MS_PER_DAY = 86_400_000
WINDOW_START_MS = 24 * MS_PER_DAY  # 2019-04-25 00:00: every session ends after this
WINDOW_END_MS = 28 * MS_PER_DAY + 7 * 3_600_000 + 30 * 60_000  # 2019-04-29 07:30: last start
END_LIMIT_MS = 30 * MS_PER_DAY  # 2019-05-01 00:00: every session ends before this
#: Session duration quantile curve (u, seconds), fitted to DATASET.md 2.3: min 7142,
#: q25 57,440, median 86,399 (u 0.40-0.70 is the one-day cap 86,399.000-86,399.999 s),
#: q75 132,430, mean 104,609, std 81,038, max ~1.86e6.
DURATION_QUANTILES: tuple[tuple[float, float], ...] = (
    (0.0, 7142.0),
    (0.02, 15000.0),
    (0.10, 32000.0),
    (0.25, 57440.5),
    (0.40, 86399.0),
    (0.70, 86399.999),
    (0.7001, 86400.5),
    (0.75, 132430.2),
    (0.85, 184189.0),
    (0.93, 221139.0),
    (0.98, 304258.0),
    (0.995, 377275.0),
    (0.9995, 841196.0),
    (0.99999, 1500000.0),
    (1.0, 1860000.0),
)

# ----------------------------------------------------------------------- customer model
CUSTOMER_POOL_RATIO = 2.3  # pool customers per record (most have 0 or 1 session)
CUSTOMER_SIGMA = 0.82  # lognormal activity spread (sets the sessions-per-customer tail)
MSISDN_BLOCK = 120_000_000  # 336xxxxxxxx and the start of 337xxxxxxxx
#: Rare MSISDN shapes (share of customers, base): 13-15 digit numbers seen in the data.
ODD_MSISDNS: tuple[tuple[float, int], ...] = (
    (0.00015, 3_197_000_000_000),
    (0.00003, 337_000_000_000_000),
    (0.00001, 882_390_000_000_000),
)
#: IMSI prefixes (share of customers, MCC+MNC * 10**10).
FOREIGN_IMSIS: tuple[tuple[float, int], ...] = (
    (0.0007, 20404 * 10**10),
    (0.0007, 21407 * 10**10),
)
HOME_IMSI = 20820 * 10**10
MAX_RECORDS = 400_000_000  # its customers stay below the 10**9 IMSI MSINs (keyed bijection)

# ------------------------------------------------------------------------- bearer model
#: (mantissa base with 15 digits, decimal exponent, share). Bimodal like the real ids:
#: q25 = median = 7.349883e18, q75 = 1.304243e19, min 6.917538e18, max 1.318654e19.
BEARER_NODES: tuple[tuple[int, int, float], ...] = (
    (691_753_800_000_000, 18, 0.02),
    (716_344_600_000_000, 18, 0.02),
    (727_782_500_000_000, 18, 0.05),
    (734_988_300_000_000, 18, 0.42),
    (130_424_259_000_000, 19, 0.25),
    (131_144_834_000_000, 19, 0.20),
    (131_865_400_000_000, 19, 0.04),
)
#: Mantissa units that all bearer keys of a file spread over (ids advance with time, so
#: each node's ids stay within its 7-digit prefix up to ~45M records); never below one
#: unit per key, so ids never collide by accident.
BEARER_SPAN = 45_000_000
BEARER_REPEAT_SHARE = 0.108  # records that reuse a nearby record's bearer id
BEARER_REPEAT_LAG = 5000

# ---------------------------------------------------------------------- location model
CELL_POOL = 80_000
CELL_SIGMA = 1.3
HOME_CELL_SHARE = 0.4  # records located in the customer's home cell

# ------------------------------------------------------------------------- null counts
#: Null counts at 150,000 records (DATASET.md 3.1), scaled by n / 150,000.
NULLS_BEARER = 991  # those rows also have no Last Location Name
NULLS_BEARER_AND_MSISDN = 562  # null-bearer rows without MSISDN
NULLS_BEARER_AND_IDS = 561  # ... and without IMSI, IMEI, handset (subset of the 562)
# Outside that group the masks nest: IMSI (9) within IMEI + handset (11) within MSISDN (504).
NULLS_MSISDN_ONLY = 504  # the 1,066 null MSISDN minus the 562
NULLS_IMEI_ONLY = 11  # IMEI + handset null (572 - 561)
NULLS_IMSI_ONLY = 9  # IMSI null (570 - 561)
NULLS_LOCATION_ONLY = 162  # 1,153 - 991
NULLS_RTT_BOTH = 27812
NULLS_RTT_DL_ONLY = 17
NULLS_DL_TP = 754  # the four DL TP buckets and "Vol DL < 6250B"
NULLS_UL_TP = 792
UNDEFINED_HANDSETS = 8987

# ------------------------------------------------------------------ other distributions
# Quantile curves (u, value), interpolated in log1p space, from DATASET.md 2.4.
Knots = tuple[tuple[float, float], ...]
RTT_DL: Knots = (
    (0, 0), (0.01, 4), (0.05, 16), (0.25, 32), (0.5, 45), (0.75, 70), (0.9, 130),
    (0.97, 300), (0.995, 1300), (0.9995, 6000), (0.99995, 30000), (1, 96923),
)  # fmt: skip
RTT_UL: Knots = (
    (0, 0), (0.1, 1), (0.25, 2), (0.5, 5), (0.75, 15), (0.9, 35), (0.97, 75),
    (0.995, 260), (0.9995, 1200), (0.99995, 3500), (1, 7120),
)  # fmt: skip
TP_DL: Knots = (
    (0, 0), (0.05, 10), (0.25, 43), (0.5, 63), (0.6, 120), (0.66, 1500), (0.75, 19710),
    (0.85, 36000), (0.93, 55000), (0.98, 80000), (0.998, 140000), (1, 378160),
)  # fmt: skip
TP_UL: Knots = (
    (0, 0), (0.05, 10), (0.25, 47), (0.5, 63), (0.62, 150), (0.75, 1120), (0.85, 3200),
    (0.93, 6500), (0.98, 16000), (0.998, 38000), (1, 58613),
)  # fmt: skip
DL_TP_LOW: Knots = (
    (0, 0), (0.01, 30), (0.05, 70), (0.12, 85), (0.25, 91), (0.4, 98), (0.5, 100), (1, 100),
)  # fmt: skip
UL_TP_LOW: Knots = ((0, 0), (0.002, 40), (0.02, 85), (0.1, 96), (0.25, 99), (0.4, 100), (1, 100))
DL_TP_COLUMNS = RAW_NAMES[16:20]  # "DL TP < 50 Kbps (%)" .. "DL TP > 1 Mbps (%)"
UL_TP_COLUMNS = RAW_NAMES[20:24]  # "UL TP < 10 Kbps (%)" .. "UL TP > 300 Kbps (%)"
DL_TP_REST = (3.07, 1.72, 1.61)  # mean shares of the other three DL buckets
UL_TP_REST = (0.78, 0.15, 0.08)


@dataclass(frozen=True)
class SparseColumn:
    """A column driven by the shared per-session activity level.

    A record's score is its session's activity level jittered by up to ``spread`` (see
    ``primitives.near``), so the score is uniform. The value is NULL when the score falls below the
    column's null share; otherwise its quantile among the non-null values is the score's.
    """

    name: str
    nulls: int  # at 150,000 records
    knots: Knots
    spread: float = 0.5


SPARSE_COLUMNS: tuple[SparseColumn, ...] = (
    SparseColumn("TCP DL Retrans. Vol (Bytes)", 88146, (
        (0, 2), (0.05, 800), (0.25, 35651), (0.5, 568730), (0.75, 3768308), (0.9, 1.5e7),
        (0.97, 6e7), (0.995, 3.5e8), (0.9995, 2.5e9), (1, 4.294426e9))),
    SparseColumn("TCP UL Retrans. Vol (Bytes)", 96649, (
        (0, 1), (0.05, 300), (0.25, 4695), (0.5, 20950), (0.75, 84020), (0.9, 3e5),
        (0.97, 1.2e6), (0.995, 8e6), (0.9995, 1e8), (0.99995, 1.2e9), (1, 2.908226e9))),
    SparseColumn("HTTP DL (Bytes)", 81474, (
        (0, 40), (0.05, 3000), (0.25, 112403), (0.5, 1.94e6), (0.75, 2.5e7), (0.9, 1.3e8),
        (0.97, 5e8), (0.995, 2.2e9), (0.9995, 1.2e10), (0.99995, 3e10), (1, 7.253064e10))),
    SparseColumn("HTTP UL (Bytes)", 81810, (
        (0, 40), (0.05, 1500), (0.25, 24322), (0.5, 229733), (0.75, 1.54e6), (0.9, 5e6),
        (0.97, 1.8e7), (0.995, 5e7), (0.9995, 2.5e8), (1, 1.49189e9))),
    SparseColumn("Activity Duration DL (ms)", 0, (
        (0, 0), (0.05, 500), (0.25, 14878), (0.5, 39304), (0.6, 120000), (0.75, 679609),
        (0.9, 4.5e6), (0.97, 1.2e7), (0.995, 3.5e7), (0.9999, 9e7), (1, 1.365365e8))),
    SparseColumn("Activity Duration UL (ms)", 0, (
        (0, 0), (0.05, 800), (0.25, 21540), (0.5, 46793), (0.6, 110000), (0.75, 599095),
        (0.9, 3.3e6), (0.97, 9e6), (0.995, 2.8e7), (0.9999, 8e7), (1, 1.449113e8))),
    SparseColumn("Nb of sec with 125000B < Vol DL", 97538, (
        (0, 1), (0.25, 20), (0.5, 128), (0.75, 693), (0.9, 2500), (0.97, 6500),
        (0.995, 15000), (0.9999, 45000), (1, 81476))),
    SparseColumn("Nb of sec with 1250B < Vol UL < 6250B", 92894, (
        (0, 1), (0.25, 10), (0.5, 52), (0.75, 203), (0.9, 600), (0.97, 1500),
        (0.995, 6000), (0.9999, 30000), (1, 85412))),
    SparseColumn("Nb of sec with 31250B < Vol DL < 125000B", 93586, (
        (0, 1), (0.25, 26), (0.5, 164), (0.75, 757), (0.9, 2200), (0.97, 5000),
        (0.995, 11000), (0.9999, 30000), (1, 58525))),
    SparseColumn("Nb of sec with 37500B < Vol UL", 130254, (
        (0, 1), (0.25, 2), (0.5, 8), (0.75, 35), (0.9, 120), (0.97, 450), (0.995, 3000),
        (0.9999, 35000), (1, 50553))),
    SparseColumn("Nb of sec with 6250B < Vol DL < 31250B", 88317, (
        (0, 1), (0.25, 39), (0.5, 288), (0.75, 1092), (0.9, 2600), (0.97, 6000),
        (0.995, 12000), (0.9999, 35000), (1, 66913))),
    SparseColumn("Nb of sec with 6250B < Vol UL < 37500B", 111843, (
        (0, 1), (0.25, 3), (0.5, 8), (0.75, 31), (0.9, 110), (0.97, 420), (0.995, 2800),
        (0.9999, 32000), (1, 49565))),
    SparseColumn("Nb of sec with Vol DL < 6250B", 0, (
        (0, 1), (0.25, 87), (0.5, 203), (0.6, 500), (0.75, 2650), (0.9, 10000),
        (0.97, 25000), (0.995, 50000), (0.9999, 250000), (1, 604061))),
    SparseColumn("Nb of sec with Vol UL < 1250B", 0, (
        (0, 1), (0.25, 106), (0.5, 217), (0.6, 500), (0.75, 2451), (0.9, 11000),
        (0.97, 28000), (0.995, 55000), (0.9999, 260000), (1, 604122))),
)  # fmt: skip

#: Per-application byte ranges [min, max] (DATASET.md 2.4/2.5); values are i.i.d. uniform.
APP_RANGES: dict[str, tuple[int, int]] = {
    "Social Media DL (Bytes)": (12, 3_586_064),
    "Social Media UL (Bytes)": (0, 65_870),
    "Google DL (Bytes)": (207, 11_462_832),
    "Google UL (Bytes)": (3, 4_121_357),
    "Email DL (Bytes)": (14, 3_586_146),
    "Email UL (Bytes)": (2, 936_418),
    "Youtube DL (Bytes)": (53, 23_259_098),
    "Youtube UL (Bytes)": (105, 22_011_962),
    "Netflix DL (Bytes)": (42, 23_259_189),
    "Netflix UL (Bytes)": (35, 22_011_955),
    "Gaming DL (Bytes)": (2516, 843_441_889),
    "Gaming UL (Bytes)": (59, 16_558_794),
    "Other DL (Bytes)": (3290, 843_442_489),
    "Other UL (Bytes)": (148, 16_558_816),
}
APP_COLUMNS: tuple[str, ...] = tuple(col for _, dl, ul in APPLICATIONS for col in (dl, ul))
#: Total DL = the six named apps' DL (Other DL excluded); Total UL = all seven apps' UL.
TOTAL_DL_PARTS: tuple[str, ...] = tuple(dl for app, dl, _ in APPLICATIONS if app != "Other")
TOTAL_UL_PARTS: tuple[str, ...] = tuple(ul for _, _, ul in APPLICATIONS)

#: Handset catalogue: (manufacturer, type, rows in the real 150k file, IMEI prefix).
#: Manufacturer totals match DATASET.md 3.4 (Apple 59,565, Samsung 40,839, Huawei 34,423).
HANDSETS: tuple[tuple[str, str, int, int], ...] = (
    ("Huawei", "Huawei B528S-23A", 19752, 86),
    ("Huawei", "Huawei E5180", 2079, 86),
    ("Huawei", "Huawei P20 Lite Huawei Nova 3E", 2021, 86),
    ("Huawei", "Huawei P20", 1480, 86),
    ("Huawei", "Huawei Mate 20 Lite", 1500, 86),
    ("Huawei", "Huawei P Smart", 1400, 86),
    ("Huawei", "Huawei B525S-23A", 1300, 86),
    ("Huawei", "Huawei Mate 10 Lite", 1000, 86),
    ("Huawei", "Huawei Y6 2018", 997, 86),
    ("Huawei", "Huawei P30 Lite", 900, 86),
    ("Huawei", "Huawei Y7 2019", 800, 86),
    ("Huawei", "Huawei Honor 8X", 700, 86),
    ("Huawei", "Huawei E5576-320", 494, 86),
    ("Apple", "Apple iPhone 6S (A1688)", 9419, 35),
    ("Apple", "Apple iPhone 6 (A1586)", 9023, 35),
    ("Apple", "Apple iPhone 7 (A1778)", 6326, 35),
    ("Apple", "Apple iPhone Se (A1723)", 5187, 35),
    ("Apple", "Apple iPhone 8 (A1905)", 4993, 35),
    ("Apple", "Apple iPhone Xr (A2105)", 4568, 35),
    ("Apple", "Apple iPhone X (A1901)", 3813, 35),
    ("Apple", "Apple iPhone Xs (A2097)", 3000, 35),
    ("Apple", "Apple iPhone 8 Plus (A1897)", 2800, 35),
    ("Apple", "Apple iPhone 7 Plus (A1784)", 2700, 35),
    ("Apple", "Apple iPhone 6S Plus (A1687)", 2100, 35),
    ("Apple", "Apple iPhone Xs Max (A2101)", 1900, 35),
    ("Apple", "Apple iPhone 6 Plus (A1522)", 1300, 35),
    ("Apple", "Apple iPhone 5S (A1457)", 1200, 35),
    ("Apple", "Apple iPhone 11 (A2221)", 800, 35),
    ("Apple", "Apple iPad Air 2 (A1567)", 436, 35),
    ("Samsung", "Samsung Galaxy S8 (Sm-G950F)", 4520, 35),
    ("Samsung", "Samsung Galaxy A5 Sm-A520F", 3724, 35),
    ("Samsung", "Samsung Galaxy J5 (Sm-J530)", 3696, 35),
    ("Samsung", "Samsung Galaxy J3 (Sm-J330)", 3484, 35),
    ("Samsung", "Samsung Galaxy S7 (Sm-G930X)", 3199, 35),
    ("Samsung", "Samsung Galaxy A8 (2018)", 3000, 35),
    ("Samsung", "Samsung Galaxy S9 (Sm-G960F)", 2900, 35),
    ("Samsung", "Samsung Galaxy S8 Plus (Sm-G955F)", 2500, 35),
    ("Samsung", "Samsung Galaxy Note 8 (Sm-N950F Ds)", 2100, 35),
    ("Samsung", "Samsung Galaxy J7 (Sm-J730)", 2000, 35),
    ("Samsung", "Samsung Galaxy A7 (2018)", 1800, 35),
    ("Samsung", "Samsung Galaxy S9 Plus (Sm-G965F)", 1700, 35),
    ("Samsung", "Samsung Galaxy A40 (Sm-A405F)", 1500, 35),
    ("Samsung", "Samsung Sm-G390F", 1400, 35),
    ("Samsung", "Samsung Galaxy Note 9 (Sm-N960F)", 1316, 35),
    ("Samsung", "Samsung Galaxy S10 (Sm-G973F)", 1000, 35),
    ("Samsung", "Samsung Galaxy J6 (Sm-J600F)", 1000, 35),
    ("Xiaomi Communications Co Ltd", "Xiaomi Communica. Redmi Note5", 700, 86),
    ("Xiaomi Communications Co Ltd", "Xiaomi Communica. Mi A2 Lite", 400, 86),
    ("Xiaomi Communications Co Ltd", "Xiaomi Communica. Redmi 6A", 300, 86),
    ("Sony Mobile Communications Ab", "Sony Mobile Comm. Xperia Xa2", 350, 35),
    ("Sony Mobile Communications Ab", "Sony Mobile Comm. Xperia Xz1 Compact", 200, 35),
    ("Wiko Global Sasu", "Wiko Global Sasu. Wiko View", 450, 35),
    ("Wiko Global Sasu", "Wiko Global Sasu. Wiko Lenny 5", 200, 35),
    ("Oneplus Technology (Shenzhen) Co Ltd", "Oneplus Technolo. Oneplus 6T", 400, 86),
    ("A-Link Telecom International Co Limited", "A-Link Telecom I. Cubot X18 Plus", 200, 86),
    ("A-Link Telecom International Co Limited", "A-Link Telecom I. Cubot Note Plus", 100, 86),
    ("Motorola Mobility Llc", "Motorola Mobilit. Moto G6", 300, 35),
    ("Hmd Global Oy", "Hmd Global Oy Nokia 5.1", 250, 35),
    ("Hmd Global Oy", "Hmd Global Oy Nokia 3310 3G", 150, 35),
    ("Lg Electronics Inc", "Lg Electronics In. Lg G7 Thinq", 250, 35),
    ("Asustek", "Asustek Asus Zenfone Max Pro M1", 150, 35),
    ("Google", "Google Pixel 2", 150, 35),
    ("Zte", "Zte Blade A7", 150, 86),
    ("Tcl Communication Ltd", "Tcl Communication. Alcatel 1X", 200, 35),
    ("Blackberry", "Blackberry Key2", 50, 35),
    ("Quectel Wireless Solutions Co Ltd", "Quectel Wireless. Quectel Ec25-E", 600, 86),
    ("Sierra Wireless", "Sierra Wireless Em7455", 64, 35),
    ("undefined", "undefined", UNDEFINED_HANDSETS, 0),
)
#: IMEI vendor prefixes an ``undefined`` handset's customer draws from.
UNDEFINED_IMEI_PREFIXES = np.array([35, 35, 35, 35, 86, 86, 86, 1, 99, 1], dtype=np.int64)
