"""Hand-made marts for the report's unit tests: DataFrames with the public marts' columns."""

from __future__ import annotations

import pandas as pd

from xdr_warehouse.report import text
from xdr_warehouse.report.marts import Marts


def cluster_summary(clusters: list[tuple[int, str, int, dict[str, tuple]]]) -> pd.DataFrame:
    """engagement_cluster_summary rows: (id, level, customers, {metric: (min, max, avg, total)})."""
    customers = sum(c[2] for c in clusters)
    rows = []
    for cid, level, n, metrics in clusters:
        for metric, (lo, hi, avg, total) in metrics.items():
            rows.append(
                {
                    "cluster_id": cid,
                    "engagement_level": level,
                    "metric": metric,
                    "min_value": lo,
                    "max_value": hi,
                    "avg_value": avg,
                    "total_value": total,
                    "customer_count": n,
                    "customer_share": n / customers,
                }
            )
    return pd.DataFrame(rows)


def three_clusters(high_traffic_total: float, high_min_traffic: float = 3e9) -> pd.DataFrame:
    gb = 1e9
    hour = 3_600_000
    return cluster_summary(
        [
            (
                0,
                "low",
                700,
                {
                    "sessions": (1, 2, 1.1, 770),
                    "duration_ms": (1 * hour, 50 * hour, 20 * hour, 700 * 20 * hour),
                    "traffic_bytes": (0.1 * gb, 1 * gb, 0.5 * gb, 35 * gb),
                },
            ),
            (
                1,
                "medium",
                250,
                {
                    "sessions": (3, 4, 3.2, 800),
                    "duration_ms": (60 * hour, 90 * hour, 70 * hour, 250 * 70 * hour),
                    "traffic_bytes": (1.1 * gb, 2 * gb, 1.6 * gb, 40 * gb),
                },
            ),
            (
                2,
                "high",
                50,
                {
                    "sessions": (5, 9, 6.0, 300),
                    "duration_ms": (100 * hour, 500 * hour, 200 * hour, 50 * 200 * hour),
                    "traffic_bytes": (high_min_traffic, 9 * gb, 5 * gb, high_traffic_total),
                },
            ),
        ]
    )


def elbow(
    inertia: list[float], elbow_k: int | None, sample: int = 500, customers: int = 500
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "k": range(1, len(inertia) + 1),
            "inertia": inertia,
            "is_elbow": [k == elbow_k for k in range(1, len(inertia) + 1)],
            "sample_size": sample,
            "customer_count": customers,
        }
    )


def usage_frame(totals: dict[str, float]) -> pd.DataFrame:
    all_bytes = sum(totals.values())
    ordered = sorted(totals.items(), key=lambda item: -item[1])
    return pd.DataFrame(
        {
            "application": [name for name, _ in ordered],
            "total_bytes": [value for _, value in ordered],
            "unattributed_bytes": [0.0] * len(ordered),
            "traffic_share": [value / all_bytes for _, value in ordered],
            "usage_rank": range(1, len(ordered) + 1),
            "is_top_application": [rank <= 3 for rank in range(1, len(ordered) + 1)],
            "user_count": [100] * len(ordered),
        }
    )


def audit_frame(**overrides: object) -> pd.DataFrame:
    row = {
        "source_file": "/data/a.csv",
        "file_name": "a.csv",
        "file_format": "csv",
        "size_bytes": 1_000_000,
        "read_record_count": 1001,
        "loaded_record_count": 990,
        "quarantined_record_count": 11,
        **{f"{reason}_count": 0 for reason in text.QUARANTINE_REASONS},
        "summary_row_count": 1,
        "invalid_value_count": 10,
        "unattributed_record_count": 9,
        "unattributed_traffic_bytes": 4_500_000_000,
        "unattributed_duration_ms": 36_000_000,
        "no_bearer_id_record_count": 0,
        "total_identity_mismatch_count": 0,
        "unknown_columns": [[]],
    }
    row.update(overrides)
    return pd.DataFrame(
        {key: [value] if key != "unknown_columns" else value for key, value in row.items()}
    )


def with_model(
    summary: pd.DataFrame,
    model_id: str = "kmeans-ab12cd34ef56",
    fitted_at: str = "2026-11-27 16:20:41",
) -> pd.DataFrame:
    """engagement_cluster_summary with its model columns, as the mart has them."""
    return summary.assign(cluster_model_id=model_id, model_fitted_at=pd.Timestamp(fitted_at))


def hand_made_marts(cluster_summary: pd.DataFrame | None = None) -> Marts:
    """Small but complete marts: six customers in three clusters, four applications."""
    hour, gb = 3_600_000, 1e9
    customers = pd.DataFrame(
        {
            "msisdn": range(33600000001, 33600000007),
            "session_count": [1, 2, 3, 4, 6, 9],
            "total_duration_ms": [h * hour for h in (2, 5, 60, 80, 150, 400)],
            "total_traffic_bytes": [b * gb for b in (0.2, 0.9, 1.2, 1.8, 4.0, 8.0)],
            "first_session_started_at": pd.Timestamp("2026-04-01 00:10"),
            "last_session_ended_at": pd.Timestamp("2026-04-30 23:50"),
        }
    )
    top = []
    for metric, column in text.METRIC_COLUMNS.items():
        ranked = customers.sort_values(column, ascending=False).head(3)
        for rank, row in enumerate(ranked.itertuples(), start=1):
            top.append(
                {
                    "metric": metric,
                    "rank": rank,
                    "tie_rank": rank,
                    "msisdn": row.msisdn,
                    "metric_value": getattr(row, column),
                    "same_value_customer_count": 1,
                    "is_tied": False,
                    "session_count": row.session_count,
                    "total_duration_ms": row.total_duration_ms,
                    "total_traffic_bytes": row.total_traffic_bytes,
                }
            )
    clusters = customers.assign(
        cluster_id=[0, 0, 1, 1, 2, 2], engagement_level=["low"] * 2 + ["medium"] * 2 + ["high"] * 2
    )
    usage = usage_frame({"Gaming": 50e9, "Other": 30e9, "Youtube": 15e9, "Email": 5e9})
    usage = usage.assign(
        total_dl_bytes=usage["total_bytes"] * 0.8, total_ul_bytes=usage["total_bytes"] * 0.2
    )
    top_users = pd.DataFrame(
        [
            {
                "application": app,
                "rank": rank,
                "msisdn": 33600000006 - rank,
                "dl_bytes": 2e9 / rank,
                "ul_bytes": 0.5e9 / rank,
                "total_bytes": 2.5e9 / rank,
            }
            for app in ("Gaming", "Other", "Youtube")
            for rank in (1, 2)
        ]
    )
    return Marts(
        engagement=customers,
        top_customers=pd.DataFrame(top),
        cluster_customers=clusters[
            [
                "msisdn",
                "cluster_id",
                "engagement_level",
                "session_count",
                "total_duration_ms",
                "total_traffic_bytes",
            ]
        ],
        cluster_summary=with_model(three_clusters(25e9))
        if cluster_summary is None
        else cluster_summary,
        elbow=elbow([1000.0, 500.0, 300.0, 250.0, 220.0], 3).assign(scaler="zscore"),
        usage=usage,
        top_users=top_users,
        audit=audit_frame(),
        publish_info=pd.DataFrame(
            {"publish_id": ["20261127T162100_000000Z"], "published_at_utc": ["2026-11-27 16:21"]}
        ),
    )
