"""Numbers and sentences of the engagement report, written from the marts.

Everything here is pure: small pandas DataFrames with the marts' columns in,
strings out. No number or name in a sentence is written by hand; a run on other
data gives other sentences. The report's context module fills the HTML template
with what these functions return; the dashboard formats its numbers with them.

Units for people: bytes in decimal units (1 MB = 10^6 bytes, 1 GB = 10^9
bytes), durations in hours (the marts keep milliseconds), shares in percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from xdr_warehouse import vocabulary

MISSING = "–"

#: Decimal byte units, smallest first.
BYTE_UNITS: tuple[tuple[str, float], ...] = (
    ("B", 1.0),
    ("kB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("PB", 1e15),
)
MS_PER_HOUR = 3_600_000.0

#: Engagement metrics as the marts name them (top_customers_by_engagement.metric,
#: engagement_cluster_summary.metric), in report order (seed engagement_metrics).
METRICS: tuple[str, ...] = tuple(term.key for term in vocabulary.engagement_metrics())
#: customer_engagement column of each metric.
METRIC_COLUMNS: dict[str, str] = vocabulary.metric_columns()
METRIC_TITLES: dict[str, str] = {t.key: t.label for t in vocabulary.engagement_metrics()}
#: How a metric is named inside a sentence.
METRIC_WORDS: dict[str, str] = {t.key: t.phrase for t in vocabulary.engagement_metrics()}

#: Quarantine reasons (xdr_load_audit column <reason>_count) and their words
#: (seed quarantine_reasons).
QUARANTINE_REASONS: dict[str, str] = {t.key: t.phrase for t in vocabulary.quarantine_reasons()}


# --------------------------------------------------------------------------- numbers


def is_missing(value: object) -> bool:
    """True for None, NaN and pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _significant(x: float) -> str:
    """Three significant digits for values >= 1, with thousands separators."""
    ax = abs(x)
    if ax >= 100 or ax == 0:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:,.1f}"
    return f"{x:,.2f}"


def byte_unit(value: float) -> tuple[str, float]:
    """The largest decimal unit not larger than ``value`` (B for values below 1 kB)."""
    chosen = BYTE_UNITS[0]
    for unit in BYTE_UNITS:
        if abs(value) >= unit[1]:
            chosen = unit
    return chosen


def fmt_bytes(value: object, unit: str | None = None) -> str:
    """Bytes for people: ``fmt_bytes(1_234_567_890) == '1.23 GB'``.

    ``unit`` forces one unit (e.g. ``'GB'``) so a column of numbers compares.
    """
    if is_missing(value):
        return MISSING
    x = float(value)  # type: ignore[arg-type]
    name, factor = (unit, dict(BYTE_UNITS)[unit]) if unit else byte_unit(x)
    if name == "B":
        return f"{x:,.0f} B"
    return f"{_significant(x / factor)} {name}"


def common_byte_unit(values: Iterable[object]) -> str:
    """One unit for a column or axis: the unit of the largest value."""
    numbers = [abs(float(v)) for v in values if not is_missing(v)]  # type: ignore[arg-type]
    return byte_unit(max(numbers, default=0.0))[0]


def fmt_hours(ms: object) -> str:
    """Milliseconds as hours: ``fmt_hours(5_400_000) == '1.50 h'``."""
    if is_missing(ms):
        return MISSING
    return f"{_significant(float(ms) / MS_PER_HOUR)} h"  # type: ignore[arg-type]


def fmt_share(share: object) -> str:
    """A 0..1 share as a percentage with one decimal: ``fmt_share(0.1234) == '12.3%'``.

    Shares that would round to 0.0% or 100.0% without being exactly 0 or 1 say so
    (``'<0.1%'``, ``'>99.9%'``), so a small part never reads as nothing.
    """
    if is_missing(share):
        return MISSING
    pct = float(share) * 100  # type: ignore[arg-type]
    if pct == 0:
        return "0%"
    if 0 < pct < 0.05:
        return "<0.1%"
    if 99.95 <= pct < 100:
        return ">99.9%"
    return f"{pct:.1f}%"


def fmt_count(value: object) -> str:
    """A whole number with thousands separators: ``fmt_count(12345) == '12,345'``."""
    if is_missing(value):
        return MISSING
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def fmt_number(value: object, decimals: int = 1) -> str:
    """A number with thousands separators and fixed decimals."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]


def fmt_msisdn(value: object) -> str:
    """An MSISDN as plain digits (no separators, no exponent, no '.0')."""
    if is_missing(value):
        return MISSING
    return str(int(value))  # type: ignore[call-overload]


def fmt_metric(metric: str, value: object, average: bool = False) -> str:
    """A value of an engagement metric in its unit for people.

    ``average=True`` writes session counts with one decimal (``'1.0 sessions'``).
    """
    if metric == "duration_ms":
        return fmt_hours(value)
    if metric == "traffic_bytes":
        return fmt_bytes(value)
    if metric == "sessions":
        if is_missing(value):
            return MISSING
        if average or float(value) != round(float(value)):  # type: ignore[arg-type]
            return f"{fmt_number(value)} sessions"
        return f"{fmt_count(value)} session{'' if float(value) == 1 else 's'}"  # type: ignore[arg-type]
    return fmt_number(value)


def fmt_utc(value: object) -> str:
    """A UTC time to the minute: ``'2026-11-27 16:20 UTC'`` (naive times are taken as UTC)."""
    if is_missing(value):
        return MISSING
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    return f"{stamp:%Y-%m-%d %H:%M} UTC"


def fmt_ratio(ratio: float) -> str:
    """A multiplier: ``fmt_ratio(3.94) == '3.9 times'``."""
    return f"{ratio:,.1f} times"


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    """``plural(1, 'file') == '1 file'``; ``plural(3, 'file') == '3 files'``."""
    return f"{fmt_count(n)} {word if n == 1 else (plural_word or word + 's')}"


def level_label(level: str) -> str:
    """How a cluster is named in text: 'high' -> 'high-engagement cluster'."""
    if level in ("low", "medium", "high"):
        return f"{level}-engagement cluster"
    return f"cluster {level}"


# --------------------------------------------------------------------------- overview


def overview_sentences(engagement: pd.DataFrame, audit: pd.DataFrame) -> list[str]:
    """What the report covers: customers, sessions, time, traffic, input files, period.

    ``engagement`` has customer_engagement's columns, ``audit`` xdr_load_audit's.
    """
    files = int(len(audit))
    loaded = int(audit["loaded_record_count"].sum()) if files else 0
    customers = int(len(engagement))
    sentences = [
        f"This report covers {plural(customers, 'customer')} with "
        f"{plural(int(engagement['session_count'].sum()), 'session')}, "
        f"{fmt_hours(engagement['total_duration_ms'].sum())} of session time and "
        f"{fmt_bytes(engagement['total_traffic_bytes'].sum())} of traffic, "
        f"from {plural(loaded, 'loaded xDR record')} in {plural(files, 'input file')}."
    ]
    starts = engagement["first_session_started_at"].dropna()
    ends = engagement["last_session_ended_at"].dropna()
    if len(starts) and len(ends):
        sentences.append(
            f"Sessions run from {pd.Timestamp(starts.min()):%Y-%m-%d %H:%M} "
            f"to {pd.Timestamp(ends.max()):%Y-%m-%d %H:%M}."
        )
    return sentences


# --------------------------------------------------------------------------- top customers


def top_customer_sentences(
    metric: str, top: pd.DataFrame, engagement_total: float, customers: int
) -> list[str]:
    """Sentences under one top-10 table.

    ``top``: the rows of top_customers_by_engagement for ``metric``;
    ``engagement_total``: the metric summed over all customers;
    ``customers``: number of customers.
    """
    what = METRIC_WORDS[metric]
    if top.empty:
        return [f"No customer has a value for {what}."]
    top = top.sort_values("rank")
    first = top.iloc[0]
    listed_total = float(top["metric_value"].sum())
    n = len(top)
    sentences = [
        f"The top {n} customers by {what} account for {fmt_metric(metric, listed_total)}, "
        f"{fmt_share(listed_total / engagement_total if engagement_total else 0)} of all "
        f"customers' {what}, while they are "
        f"{fmt_share(n / customers if customers else 0)} of the customers.",
        f"Customer {fmt_msisdn(first['msisdn'])} leads with "
        f"{fmt_metric(metric, first['metric_value'])}.",
    ]
    if "is_tied" in top and bool(top["is_tied"].fillna(False).any()):
        last = top.iloc[-1]
        shared = (
            int(last["same_value_customer_count"])
            if not is_missing(last["same_value_customer_count"])
            else 1
        )
        tied_listed = int(top["is_tied"].fillna(False).sum())
        sentence = (
            f"{plural(tied_listed, 'listed customer')} share{'s' if tied_listed == 1 else ''} "
            f"their value with another customer; ties are ordered by MSISDN"
        )
        listed_with_last = int((top["metric_value"] == last["metric_value"]).sum())
        if shared > listed_with_last:
            sentence += (
                f"; the value at rank {int(last['rank'])} "
                f"({fmt_metric(metric, last['metric_value'])}) is held by "
                f"{plural(shared, 'customer')}, {fmt_count(shared - listed_with_last)} "
                f"of them not listed for want of room"
            )
        sentences.append(sentence + ".")
    return sentences


# --------------------------------------------------------------------------- clusters


def cluster_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster from engagement_cluster_summary (ordered by cluster_id).

    Columns: cluster_id, engagement_level, customers, customer_share and, for
    each metric m, m_avg, m_min, m_max, m_total, m_share (share of the metric's
    total over all clusters).
    """
    rows: dict[int, dict[str, object]] = {}
    for record in summary.sort_values(["cluster_id", "metric"]).to_dict("records"):
        cid = int(record["cluster_id"])
        row = rows.setdefault(
            cid,
            {
                "cluster_id": cid,
                "engagement_level": str(record["engagement_level"]),
                "customers": int(record["customer_count"]),
                "customer_share": float(record["customer_share"]),
            },
        )
        m = str(record["metric"])
        for stat in ("min", "max", "avg", "total"):
            row[f"{m}_{stat}"] = float(record[f"{stat}_value"])
    frame = pd.DataFrame(list(rows.values()))
    if frame.empty:
        return frame
    for m in METRICS:
        if f"{m}_total" in frame:
            total = frame[f"{m}_total"].sum()
            frame[f"{m}_share"] = frame[f"{m}_total"] / total if total else 0.0
    return frame.sort_values("cluster_id").reset_index(drop=True)


def cluster_sentences(summary: pd.DataFrame) -> list[str]:
    """The written interpretation of the clusters, from engagement_cluster_summary."""
    clusters = cluster_frame(summary)
    if clusters.empty:
        return ["There are no clusters: the clustering marts are empty."]
    customers = int(clusters["customers"].sum())
    sizes = [
        f"{level_label(r.engagement_level)} {plural(r.customers, 'customer')} "
        f"({fmt_share(r.customer_share)})"
        for r in clusters.itertuples()
    ]
    sentences = [
        f"k-means puts the {plural(customers, 'customer')} into "
        f"{plural(len(clusters), 'cluster')} ordered by engagement: "
        f"the {join_words(sizes)}."
    ]
    if len(clusters) == 1:
        return sentences
    top, low = clusters.iloc[-1], clusters.iloc[0]
    traffic_share = float(top.get("traffic_bytes_share", 0.0))
    time_share = float(top.get("duration_ms_share", 0.0))
    verb = "but carries" if traffic_share > top.customer_share else "and carries"
    sentences.append(
        f"The {level_label(top.engagement_level)} holds {fmt_share(top.customer_share)} of "
        f"the customers {verb} {fmt_share(traffic_share)} of their traffic and "
        f"{fmt_share(time_share)} of their session time."
    )
    sentences.append(
        f"Its average customer has {fmt_metric('sessions', top.sessions_avg, average=True)}, "
        f"{fmt_hours(top.duration_ms_avg)} of session time and "
        f"{fmt_bytes(top.traffic_bytes_avg)} of traffic, against "
        f"{fmt_metric('sessions', low.sessions_avg, average=True)}, "
        f"{fmt_hours(low.duration_ms_avg)} and "
        f"{fmt_bytes(low.traffic_bytes_avg)} in the {level_label(low.engagement_level)}"
        + (
            f" ({fmt_ratio(top.traffic_bytes_avg / low.traffic_bytes_avg)} the traffic)."
            if low.traffic_bytes_avg
            else "."
        )
    )
    overlapping = [
        METRIC_WORDS[m]
        for m in METRICS
        if any(
            clusters[f"{m}_max"].iloc[i] >= clusters[f"{m}_min"].iloc[i + 1]
            for i in range(len(clusters) - 1)
        )
    ]
    if overlapping:
        sentences.append(
            f"The clusters' ranges overlap on {join_words(overlapping)}: a customer's "
            "cluster depends on the three metrics together, not on one of them alone."
        )
    else:
        sentences.append("The clusters' ranges do not overlap on any of the three metrics.")
    return sentences


def cluster_model_sentence(summary: pd.DataFrame) -> str | None:
    """Which k-means model the clusters come from and when it was fitted.

    From engagement_cluster_summary's cluster_model_id and model_fitted_at (UTC);
    None when the marts have no such columns or no clusters.
    """
    columns = ["cluster_model_id", "model_fitted_at"]
    if not set(columns) <= set(summary.columns):
        return None
    models = summary[columns].dropna().drop_duplicates().sort_values(columns[::-1])
    if models.empty:
        return None
    fitted = [
        f"{r.cluster_model_id} fitted on {fmt_utc(r.model_fitted_at)}" for r in models.itertuples()
    ]
    if len(fitted) == 1:
        return f"Clusters from model {fitted[0]}."
    return f"Clusters from {len(fitted)} models: {join_words(fitted)}."


# --------------------------------------------------------------------------- elbow


def elbow_sentences(elbow: pd.DataFrame, k_used: int) -> list[str]:
    """Inertia against k, where the elbow is and whether it agrees with the k used."""
    if elbow.empty:
        return ["The elbow table is empty: no inertia was computed."]
    elbow = elbow.sort_values("k").reset_index(drop=True)
    first, last = elbow.iloc[0], elbow.iloc[-1]
    sentences = [
        f"Inertia (the sum of squared distances of the customers to their cluster centre, "
        f"in scaled units) falls from {fmt_number(first.inertia, 0)} at k = {int(first.k)} "
        f"to {fmt_number(last.inertia, 0)} at k = {int(last.k)}."
    ]
    if {"sample_size", "customer_count"} <= set(elbow.columns):
        sample, customers = int(first.sample_size), int(first.customer_count)
        if sample < customers:
            sentences.append(
                f"The curve is computed on a random sample of {fmt_count(sample)} of the "
                f"{plural(customers, 'customer')}."
            )
    chosen = elbow[elbow["is_elbow"].fillna(False).astype(bool)]
    if chosen.empty:
        sentences.append(
            f"No elbow was found, so k = {k_used} is a setting, not a finding of the curve."
        )
        return sentences
    k_elbow = int(chosen.iloc[0].k)
    if k_elbow == k_used:
        sentences.append(
            f"The elbow is at k = {k_elbow}, which agrees with the k = {k_used} used for the "
            "clusters."
        )
    else:
        sentences.append(
            f"The elbow is at k = {k_elbow}, which does not agree with the k = {k_used} used "
            "for the clusters."
        )
    by_k = elbow.set_index("k")["inertia"].astype(float)
    gains = []
    for k in (k_elbow, k_elbow + 1):
        if k - 1 in by_k.index and k in by_k.index and by_k[k - 1] > 0:
            gains.append((k, 1 - by_k[k] / by_k[k - 1]))
    if len(gains) == 2:
        sentences.append(
            f"Going from {gains[0][0] - 1} to {gains[0][0]} clusters removes "
            f"{fmt_share(gains[0][1])} of the inertia, from {gains[1][0] - 1} to {gains[1][0]} "
            f"only {fmt_share(gains[1][1])}."
        )
    if k_elbow != k_used and k_used in by_k.index and by_k.iloc[0] > 0:
        explained = {k: 1 - by_k[k] / by_k.iloc[0] for k in (k_used, k_elbow)}
        sentences.append(
            f"Relative to k = {int(by_k.index[0])}, k = {k_used} removes "
            f"{fmt_share(explained[k_used])} of the inertia and k = {k_elbow} "
            f"{fmt_share(explained[k_elbow])}."
        )
    return sentences


# --------------------------------------------------------------------------- applications


def application_sentences(usage: pd.DataFrame) -> list[str]:
    """Total traffic per application, from application_usage."""
    if usage.empty or float(usage["total_bytes"].sum()) == 0:
        return ["No application traffic was loaded."]
    usage = usage.sort_values("usage_rank")
    top = usage[usage["is_top_application"].fillna(False).astype(bool)]
    lead = usage.iloc[0]
    others = [f"{r.application} ({fmt_share(r.traffic_share)})" for r in top.iloc[1:].itertuples()]
    sentence = (
        f"{lead.application} carries the most traffic, {fmt_bytes(lead.total_bytes)} "
        f"({fmt_share(lead.traffic_share)} of all application traffic)"
    )
    if others:
        sentence += f", followed by {join_words(others)}"
    sentences = [sentence + "."]
    if len(top) > 1:
        sentences.append(
            f"Together the top {len(top)} applications carry "
            f"{fmt_share(top['traffic_share'].sum())} of the traffic."
        )
    last = usage.iloc[-1]
    if len(usage) > len(top):
        sentences.append(
            f"{last.application} carries the least, {fmt_bytes(last.total_bytes)} "
            f"({fmt_share(last.traffic_share)})."
        )
    return sentences


def top_users_sentences(application: str, top: pd.DataFrame, usage_row: pd.Series) -> list[str]:
    """Sentences under one application's top-10 chart.

    ``top``: top_users_by_application rows of the application; ``usage_row``: its
    application_usage row (total_bytes, unattributed_bytes, user_count).
    """
    if top.empty:
        return [f"No customer used {application}."]
    top = top.sort_values("rank")
    first = top.iloc[0]
    customer_bytes = float(usage_row["total_bytes"]) - float(usage_row["unattributed_bytes"])
    listed = float(top["total_bytes"].sum())
    users = int(usage_row["user_count"])
    return [
        f"The top {len(top)} of {application}'s {plural(users, 'user')} used "
        f"{fmt_bytes(listed)} together, "
        f"{fmt_share(listed / customer_bytes if customer_bytes else 0)} of the "
        f"application's customer traffic.",
        f"The heaviest, {fmt_msisdn(first['msisdn'])}, used {fmt_bytes(first['total_bytes'])} "
        f"({fmt_bytes(first['dl_bytes'])} down, {fmt_bytes(first['ul_bytes'])} up).",
    ]


# --------------------------------------------------------------------------- data quality


def quarantine_rows(audit: pd.DataFrame) -> list[tuple[str, int]]:
    """(reason for people, records) for every reason with records, most first."""
    rows = []
    for reason, label in QUARANTINE_REASONS.items():
        column = f"{reason}_count"
        if column in audit:
            n = int(audit[column].fillna(0).sum())
            if n:
                rows.append((label, n))
    return sorted(rows, key=lambda row: -row[1])


def data_quality_sentences(audit: pd.DataFrame) -> list[str]:
    """Records read, loaded, quarantined (by reason) and unattributed, from xdr_load_audit."""
    if audit.empty:
        return ["No input file was loaded."]
    read = int(audit["read_record_count"].sum())
    loaded = int(audit["loaded_record_count"].sum())
    quarantined = int(audit["quarantined_record_count"].sum())
    if read == 0:
        return [f"No record was read: {plural(len(audit), 'input file')} without data rows."]
    sentences = [
        f"{plural(read, 'record')} read from {plural(len(audit), 'input file')}: "
        f"{fmt_count(loaded)} loaded as sessions ({fmt_share(loaded / read if read else 0)}) "
        f"and {fmt_count(quarantined)} quarantined."
    ]
    reasons = quarantine_rows(audit)
    if reasons:
        sentences.append(
            "Quarantined: " + join_words([f"{fmt_count(n)} {label}" for label, n in reasons]) + "."
        )
    unattributed = int(audit["unattributed_record_count"].sum())
    if unattributed:
        sentences.append(
            f"{plural(unattributed, 'loaded session')} "
            f"({fmt_share(unattributed / loaded if loaded else 0)}) "
            f"{'has' if unattributed == 1 else 'have'} no MSISDN: "
            f"{fmt_bytes(audit['unattributed_traffic_bytes'].sum())} of traffic and "
            f"{fmt_hours(audit['unattributed_duration_ms'].sum())} of session time that count "
            "in the application totals but in no customer's."
        )
    elif loaded:
        sentences.append("Every loaded session has an MSISDN.")
    if "no_bearer_id_record_count" in audit:
        no_bearer = int(audit["no_bearer_id_record_count"].sum())
        if no_bearer:
            sentences.append(
                f"{plural(no_bearer, 'loaded session')} {'has' if no_bearer == 1 else 'have'} "
                "no Bearer Id; they still count as sessions."
            )
    if "total_identity_mismatch_count" in audit:
        mismatches = int(audit["total_identity_mismatch_count"].sum())
        if mismatches:
            sentences.append(
                f"In {plural(mismatches, 'loaded session')} Total DL or Total UL differs from "
                "the sum of the applications' bytes."
            )
        elif loaded:
            sentences.append(
                "In every loaded session Total DL and Total UL equal the sum of the "
                "applications' bytes."
            )
    return sentences


def stored_failures_sentences(counts: Sequence[tuple[str, int]]) -> list[str]:
    """What the tests that store their failing rows found: ``counts`` is (table, rows).

    The tables are in schema test_failures of the build database, not in the
    published file; the report lists each with the command that shows its rows.
    """
    if not counts:
        return []
    failing = [(table, rows) for table, rows in counts if rows]
    where = "in schema test_failures of the build database (not in the published file)"
    if not failing and len(counts) == 1:
        return [
            "The warning-level test that stores its failing rows found none: its table "
            f"{counts[0][0]} {where} is empty."
        ]
    if not failing:
        return [
            f"The {plural(len(counts), 'warning-level test')} that store their failing rows "
            f"found none: their {fmt_count(len(counts))} tables {where} are empty."
        ]
    total = sum(rows for _, rows in failing)
    return [
        f"{plural(len(failing), 'warning-level test')} of {fmt_count(len(counts))} stored "
        f"{plural(total, 'failing row')} {where}: "
        + join_words([f"{fmt_count(rows)} in {table}" for table, rows in failing])
        + ". The table below gives the command that lists them."
    ]


def no_data_sentences(audit: pd.DataFrame) -> list[str]:
    """Why a report has no customer data."""
    loaded = int(audit["loaded_record_count"].sum()) if len(audit) else 0
    if not len(audit):
        return ["The published warehouse has no input file and no customer data."]
    if loaded == 0:
        return [
            f"The published warehouse has no customer data: {plural(len(audit), 'input file')} "
            "gave no loadable xDR record."
        ]
    return [
        f"The published warehouse has no customer data: none of the "
        f"{plural(loaded, 'loaded session')} has an MSISDN."
    ]
