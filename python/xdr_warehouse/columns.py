"""The raw xDR file's columns, exactly as the operator exports them.

The export has 55 columns. Column 6 and column 29 are both headed ``Dur. (ms)``:
the first holds seconds, the second milliseconds. Readers rename the second one
(pandas: ``Dur. (ms).1``, DuckDB: ``Dur. (ms)_1``); this module calls it by the
pandas name, which is also the name the field dictionary uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdr_warehouse import vocabulary

DURATION_MS_RAW = "Dur. (ms).1"


@dataclass(frozen=True)
class RawColumn:
    """One raw column: its name in the file, its staging name and its kind.

    kind is one of: ``id_decimal`` (float-formatted ids kept exact as decimal),
    ``integer`` (whole numbers, BIGINT), ``percent`` (0..100 integer),
    ``timestamp`` (``M/D/YYYY H:MM`` text), ``text``.
    """

    raw_name: str
    name: str
    kind: str


RAW_COLUMNS: tuple[RawColumn, ...] = (
    RawColumn("Bearer Id", "bearer_id", "id_decimal"),
    RawColumn("Start", "started_at", "timestamp"),
    RawColumn("Start ms", "start_ms_offset", "integer"),
    RawColumn("End", "ended_at", "timestamp"),
    RawColumn("End ms", "end_ms_offset", "integer"),
    RawColumn("Dur. (ms)", "duration_s", "integer"),
    RawColumn("IMSI", "imsi", "integer"),
    RawColumn("MSISDN/Number", "msisdn", "integer"),
    RawColumn("IMEI", "imei", "integer"),
    RawColumn("Last Location Name", "last_location_name", "text"),
    RawColumn("Avg RTT DL (ms)", "avg_rtt_dl_ms", "integer"),
    RawColumn("Avg RTT UL (ms)", "avg_rtt_ul_ms", "integer"),
    RawColumn("Avg Bearer TP DL (kbps)", "avg_bearer_tp_dl_kbps", "integer"),
    RawColumn("Avg Bearer TP UL (kbps)", "avg_bearer_tp_ul_kbps", "integer"),
    RawColumn("TCP DL Retrans. Vol (Bytes)", "tcp_dl_retrans_bytes", "integer"),
    RawColumn("TCP UL Retrans. Vol (Bytes)", "tcp_ul_retrans_bytes", "integer"),
    RawColumn("DL TP < 50 Kbps (%)", "dl_tp_lt_50_kbps_pct", "percent"),
    RawColumn("50 Kbps < DL TP < 250 Kbps (%)", "dl_tp_50_250_kbps_pct", "percent"),
    RawColumn("250 Kbps < DL TP < 1 Mbps (%)", "dl_tp_250_1000_kbps_pct", "percent"),
    RawColumn("DL TP > 1 Mbps (%)", "dl_tp_gt_1_mbps_pct", "percent"),
    RawColumn("UL TP < 10 Kbps (%)", "ul_tp_lt_10_kbps_pct", "percent"),
    RawColumn("10 Kbps < UL TP < 50 Kbps (%)", "ul_tp_10_50_kbps_pct", "percent"),
    RawColumn("50 Kbps < UL TP < 300 Kbps (%)", "ul_tp_50_300_kbps_pct", "percent"),
    RawColumn("UL TP > 300 Kbps (%)", "ul_tp_gt_300_kbps_pct", "percent"),
    RawColumn("HTTP DL (Bytes)", "http_dl_bytes", "integer"),
    RawColumn("HTTP UL (Bytes)", "http_ul_bytes", "integer"),
    RawColumn("Activity Duration DL (ms)", "activity_duration_dl_ms", "integer"),
    RawColumn("Activity Duration UL (ms)", "activity_duration_ul_ms", "integer"),
    RawColumn(DURATION_MS_RAW, "duration_ms", "integer"),
    RawColumn("Handset Manufacturer", "handset_manufacturer", "text"),
    RawColumn("Handset Type", "handset_type", "text"),
    RawColumn("Nb of sec with 125000B < Vol DL", "secs_dl_gt_125000b", "integer"),
    RawColumn("Nb of sec with 1250B < Vol UL < 6250B", "secs_ul_1250_6250b", "integer"),
    RawColumn("Nb of sec with 31250B < Vol DL < 125000B", "secs_dl_31250_125000b", "integer"),
    RawColumn("Nb of sec with 37500B < Vol UL", "secs_ul_gt_37500b", "integer"),
    RawColumn("Nb of sec with 6250B < Vol DL < 31250B", "secs_dl_6250_31250b", "integer"),
    RawColumn("Nb of sec with 6250B < Vol UL < 37500B", "secs_ul_6250_37500b", "integer"),
    RawColumn("Nb of sec with Vol DL < 6250B", "secs_dl_lt_6250b", "integer"),
    RawColumn("Nb of sec with Vol UL < 1250B", "secs_ul_lt_1250b", "integer"),
    RawColumn("Social Media DL (Bytes)", "social_media_dl_bytes", "integer"),
    RawColumn("Social Media UL (Bytes)", "social_media_ul_bytes", "integer"),
    RawColumn("Google DL (Bytes)", "google_dl_bytes", "integer"),
    RawColumn("Google UL (Bytes)", "google_ul_bytes", "integer"),
    RawColumn("Email DL (Bytes)", "email_dl_bytes", "integer"),
    RawColumn("Email UL (Bytes)", "email_ul_bytes", "integer"),
    RawColumn("Youtube DL (Bytes)", "youtube_dl_bytes", "integer"),
    RawColumn("Youtube UL (Bytes)", "youtube_ul_bytes", "integer"),
    RawColumn("Netflix DL (Bytes)", "netflix_dl_bytes", "integer"),
    RawColumn("Netflix UL (Bytes)", "netflix_ul_bytes", "integer"),
    RawColumn("Gaming DL (Bytes)", "gaming_dl_bytes", "integer"),
    RawColumn("Gaming UL (Bytes)", "gaming_ul_bytes", "integer"),
    RawColumn("Other DL (Bytes)", "other_dl_bytes", "integer"),
    RawColumn("Other UL (Bytes)", "other_ul_bytes", "integer"),
    RawColumn("Total UL (Bytes)", "total_ul_bytes", "integer"),
    RawColumn("Total DL (Bytes)", "total_dl_bytes", "integer"),
)

RAW_NAMES: tuple[str, ...] = tuple(c.raw_name for c in RAW_COLUMNS)

#: The header line of the raw CSV export: the second duration column is
#: literally ``Dur. (ms)`` again.
RAW_CSV_HEADER: tuple[str, ...] = tuple(
    "Dur. (ms)" if name == DURATION_MS_RAW else name for name in RAW_NAMES
)

#: Other spellings of a column seen in re-exports, mapped to the canonical name.
ALIASES: dict[str, str] = {
    "Dur. (ms)_1": DURATION_MS_RAW,  # DuckDB's rename of the duplicate header
    "Dur. (ms)1": DURATION_MS_RAW,
}

#: (application, DL raw column, UL raw column) in the export's order; the
#: applications come from seeds/applications.csv.
APPLICATIONS: tuple[tuple[str, str, str], ...] = tuple(
    (name, f"{name} DL (Bytes)", f"{name} UL (Bytes)") for _, name in vocabulary.applications()
)
