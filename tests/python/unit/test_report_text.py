"""Numbers and sentences of the report (xdr_warehouse.report.text), from hand-made marts."""

from __future__ import annotations

import pandas as pd
import pytest

from xdr_warehouse.report import text

from report_frames import audit_frame, elbow, three_clusters, usage_frame, with_model

# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0, None, "0 B"),
        (999, None, "999 B"),
        (1_500, None, "1.50 kB"),
        (45_600_000, None, "45.6 MB"),
        (912_300_000, None, "912 MB"),
        (1_234_567_890, None, "1.23 GB"),
        (8_612_251_133_043, None, "8.61 TB"),
        (2_500_000_000_000_000, None, "2.50 PB"),
        (1_500_000_000, "MB", "1,500 MB"),
        (250_000, "GB", "0.00 GB"),
        (None, None, text.MISSING),
        (float("nan"), None, text.MISSING),
    ],
)
def test_fmt_bytes(value, unit, expected):
    assert text.fmt_bytes(value, unit) == expected


def test_common_byte_unit_is_the_unit_of_the_largest_value():
    assert text.common_byte_unit([12_000_000, 3_400_000_000, None]) == "GB"
    assert text.common_byte_unit([999, 12]) == "B"
    assert text.common_byte_unit([]) == "B"


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0, "0 h"),
        (5_400_000, "1.50 h"),
        (36_000_000, "10.0 h"),
        (1_234.4 * 3_600_000, "1,234 h"),
        (pd.NA, text.MISSING),
    ],
)
def test_fmt_hours(ms, expected):
    assert text.fmt_hours(ms) == expected


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (0, "0%"),
        (0.1234, "12.3%"),
        (0.0004, "<0.1%"),
        (0.9999, ">99.9%"),
        (1, "100.0%"),
        (None, text.MISSING),
    ],
)
def test_fmt_share(share, expected):
    assert text.fmt_share(share) == expected


def test_counts_msisdns_and_metrics_read_as_people_write_them():
    assert text.fmt_count(1234567) == "1,234,567"
    assert text.fmt_msisdn(33664962239.0) == "33664962239"
    assert text.fmt_msisdn(pd.Series([33664962239], dtype="int64")[0]) == "33664962239"
    assert text.fmt_metric("sessions", 1) == "1 session"
    assert text.fmt_metric("sessions", 12) == "12 sessions"
    assert text.fmt_metric("sessions", 3.9) == "3.9 sessions"
    assert text.fmt_metric("duration_ms", 7_200_000) == "2.00 h"
    assert text.fmt_metric("traffic_bytes", 2_060_000_000) == "2.06 GB"
    assert text.join_words(["a", "b", "c"]) == "a, b and c"
    assert text.plural(1, "file") == "1 file"
    assert text.plural(2_000, "file") == "2,000 files"


# --------------------------------------------------------------------------- sentences


def test_cluster_sentences_state_sizes_and_the_high_clusters_share_of_traffic():
    sentences = text.cluster_sentences(three_clusters(high_traffic_total=25e9))
    joined = " ".join(sentences)
    assert "1,000 customers into 3 clusters" in joined
    assert "low-engagement cluster 700 customers (70.0%)" in joined
    assert "high-engagement cluster 50 customers (5.0%)" in joined
    # 25 of 100 GB of traffic; 10,000 of 14,000 + 17,500 + 10,000 hours of session time.
    assert (
        "The high-engagement cluster holds 5.0% of the customers but carries 25.0% of their "
        "traffic and 24.1% of their session time." in joined
    )
    assert "6.0 sessions, 200 h of session time and 5.00 GB of traffic" in joined
    assert "10.0 times the traffic" in joined
    assert "do not overlap" in joined


def test_cluster_sentences_change_with_the_data():
    sentences = " ".join(
        text.cluster_sentences(three_clusters(high_traffic_total=2e9, high_min_traffic=0.5e9))
    )
    assert "holds 5.0% of the customers and carries 2.6% of their traffic" in sentences
    assert "overlap on traffic" in sentences


def test_cluster_frame_computes_each_clusters_share_of_each_metric():
    frame = text.cluster_frame(three_clusters(high_traffic_total=25e9))
    assert list(frame["engagement_level"]) == ["low", "medium", "high"]
    assert frame["traffic_bytes_share"].round(4).tolist() == [0.35, 0.4, 0.25]
    assert frame["sessions_share"].sum() == pytest.approx(1.0)


def test_elbow_sentence_says_whether_the_elbow_agrees_with_k():
    curve = [1000.0, 500.0, 300.0, 250.0, 220.0]
    agrees = " ".join(text.elbow_sentences(elbow(curve, 3), k_used=3))
    assert "falls from 1,000 at k = 1 to 220 at k = 5" in agrees
    assert "The elbow is at k = 3, which agrees with the k = 3 used" in agrees
    assert "from 2 to 3 clusters removes 40.0% of the inertia, from 3 to 4 only 16.7%" in agrees
    assert "sample" not in agrees

    disagrees = " ".join(text.elbow_sentences(elbow(curve, 2, 200, 900), k_used=3))
    assert "The elbow is at k = 2, which does not agree with the k = 3 used" in disagrees
    assert "k = 3 removes 70.0% of the inertia and k = 2 50.0%" in disagrees
    assert "random sample of 200 of the 900 customers" in disagrees

    none = " ".join(text.elbow_sentences(elbow(curve, None), k_used=3))
    assert "No elbow was found" in none


def test_application_sentences_name_the_leaders_from_the_data():
    usage = usage_frame({"Gaming": 50e9, "Other": 30e9, "Youtube": 15e9, "Email": 5e9})
    joined = " ".join(text.application_sentences(usage))
    assert "Gaming carries the most traffic, 50.0 GB (50.0% of all application traffic)" in joined
    assert "followed by Other (30.0%) and Youtube (15.0%)" in joined
    assert "top 3 applications carry 95.0%" in joined
    assert "Email carries the least, 5.00 GB (5.0%)" in joined

    other = " ".join(text.application_sentences(usage_frame({"Netflix": 9e12, "Email": 1e12})))
    assert other.startswith("Netflix carries the most traffic, 9.00 TB (90.0%")


def test_top_users_sentences():
    top = pd.DataFrame(
        {
            "rank": [1, 2],
            "msisdn": [33600000001, 33600000002],
            "dl_bytes": [3e9, 1e9],
            "ul_bytes": [1e9, 0],
            "total_bytes": [4e9, 1e9],
        }
    )
    row = pd.Series({"total_bytes": 60e9, "unattributed_bytes": 10e9, "user_count": 2000})
    joined = " ".join(text.top_users_sentences("Gaming", top, row))
    assert "The top 2 of Gaming's 2,000 users used 5.00 GB together, 10.0%" in joined
    assert "The heaviest, 33600000001, used 4.00 GB (3.00 GB down, 1.00 GB up)" in joined


def test_top_customer_sentences_explain_ties():
    top = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "msisdn": [33600000009, 33600000001, 33600000002],
            "metric_value": [12, 9, 9],
            "same_value_customer_count": [1, 5, 5],
            "is_tied": [False, True, True],
        }
    )
    joined = " ".join(text.top_customer_sentences("sessions", top, 300, 100))
    assert "The top 3 customers by sessions account for 30 sessions, 10.0%" in joined
    assert "while they are 3.0% of the customers" in joined
    assert "Customer 33600000009 leads with 12 sessions." in joined
    assert "2 listed customers share their value" in joined
    assert "is held by 5 customers, 3 of them not listed" in joined

    untied = top.assign(same_value_customer_count=1, is_tied=False, metric_value=[5e9, 4e9, 3e9])
    joined = " ".join(text.top_customer_sentences("traffic_bytes", untied, 100e9, 100))
    assert "account for 12.0 GB, 12.0% of all customers' traffic" in joined
    assert "share" not in joined.replace("shares", "")


def test_data_quality_sentences_account_for_every_record():
    joined = " ".join(text.data_quality_sentences(audit_frame()))
    assert "1,001 records read from 1 input file: 990 loaded as sessions (98.9%)" in joined
    assert "and 11 quarantined" in joined
    assert "Quarantined: 10 invalid value and 1 summary row of column means." in joined
    assert "9 loaded sessions (0.9%) have no MSISDN: 4.50 GB of traffic and 10.0 h" in joined
    assert "equal the sum of the applications' bytes" in joined

    clean = " ".join(
        text.data_quality_sentences(
            audit_frame(
                read_record_count=990,
                quarantined_record_count=0,
                summary_row_count=0,
                invalid_value_count=0,
                unattributed_record_count=0,
                no_bearer_id_record_count=3,
                total_identity_mismatch_count=2,
            )
        )
    )
    assert "Quarantined" not in clean
    assert "Every loaded session has an MSISDN." in clean
    assert "3 loaded sessions have no Bearer Id" in clean
    assert "In 2 loaded sessions Total DL or Total UL differs" in clean


def test_no_data_sentences():
    header_only = audit_frame(
        read_record_count=0,
        loaded_record_count=0,
        quarantined_record_count=0,
        summary_row_count=0,
        invalid_value_count=0,
        unattributed_record_count=0,
    )
    assert "no customer data" in text.no_data_sentences(header_only)[0]
    assert "gave no loadable xDR record" in text.no_data_sentences(header_only)[0]
    no_msisdn = audit_frame(loaded_record_count=5, unattributed_record_count=5)
    assert "none of the 5 loaded sessions has an MSISDN" in text.no_data_sentences(no_msisdn)[0]


# --------------------------------------------------------------------------- model, stored failures


def test_utc_times_read_to_the_minute():
    assert text.fmt_utc(pd.Timestamp("2026-11-27 16:20:41")) == "2026-11-27 16:20 UTC"
    assert text.fmt_utc(pd.Timestamp("2026-11-27 17:20", tz="Europe/Paris")) == (
        "2026-11-27 16:20 UTC"
    )
    assert text.fmt_utc(None) == text.MISSING


def test_cluster_model_sentence_names_the_model_and_when_it_was_fitted():
    summary = with_model(three_clusters(25e9), "kmeans-ab12cd34ef56", "2026-11-27 16:20:41")
    assert text.cluster_model_sentence(summary) == (
        "Clusters from model kmeans-ab12cd34ef56 fitted on 2026-11-27 16:20 UTC."
    )
    other = with_model(three_clusters(25e9), "kmeans-0000ffff1111", "2027-01-02 03:04:05")
    assert "kmeans-0000ffff1111 fitted on 2027-01-02 03:04 UTC" in text.cluster_model_sentence(
        other
    )


def test_cluster_model_sentence_without_model_columns_or_clusters_is_none():
    assert text.cluster_model_sentence(three_clusters(25e9)) is None  # an older published file
    assert text.cluster_model_sentence(with_model(three_clusters(25e9)).head(0)) is None


def test_two_models_in_one_summary_are_both_named_oldest_first():
    summary = pd.concat(
        [
            with_model(three_clusters(25e9), "kmeans-new", "2026-11-28 08:00"),
            with_model(three_clusters(25e9), "kmeans-old", "2026-11-27 16:20"),
        ]
    )
    assert text.cluster_model_sentence(summary) == (
        "Clusters from 2 models: kmeans-old fitted on 2026-11-27 16:20 UTC and "
        "kmeans-new fitted on 2026-11-28 08:00 UTC."
    )


def test_stored_failures_sentence_counts_rows_and_says_where_they_are():
    counts = [("test_failures.a", 12), ("test_failures.b", 0), ("test_failures.c", 1)]
    assert text.stored_failures_sentences(counts) == [
        "2 warning-level tests of 3 stored 13 failing rows in schema test_failures of the "
        "build database (not in the published file): 12 in test_failures.a and 1 in "
        "test_failures.c. The table below gives the command that lists them."
    ]
    assert text.stored_failures_sentences([("test_failures.a", 0)]) == [
        "The warning-level test that stores its failing rows found none: its table "
        "test_failures.a in schema test_failures of the build database (not in the published "
        "file) is empty."
    ]
    clean = " ".join(text.stored_failures_sentences([("test_failures.a", 0), ("t.b", 0)]))
    assert "The 2 warning-level tests that store their failing rows found none" in clean
    assert "their 2 tables in schema test_failures" in clean and clean.endswith("are empty.")
    assert text.stored_failures_sentences([]) == []
