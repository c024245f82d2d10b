"""The report's charts (xdr_warehouse.report.charts): tick labels and the scatter sample."""

from __future__ import annotations

import pandas as pd

from xdr_warehouse.report import charts


def test_chart_ticks_are_plain_numbers():
    assert charts.plain_tick(1e10) == "10,000,000,000"
    assert charts.plain_tick(2.5) == "2.5"
    assert charts.plain_tick(0.125) == "0.12"
    assert charts.plain_tick(-0.0) == "0"


def test_scatter_sample_is_proportional_when_clusters_are_large():
    customers = pd.DataFrame(
        {"msisdn": range(100_000), "cluster_id": [0] * 73_000 + [1] * 22_500 + [2] * 4_500}
    )
    counts = charts.sample_customers(customers, 20_000)["cluster_id"].value_counts()
    assert counts.to_dict() == {0: 14_600, 1: 4_500, 2: 900}


def test_scatter_sample_is_deterministic_bounded_and_keeps_small_clusters():
    customers = pd.DataFrame(
        {
            "msisdn": range(33600000000, 33600050000),
            "cluster_id": [0] * 49_900 + [2] * 100,
        }
    )
    sample = charts.sample_customers(customers, 5_000)
    assert len(sample) == 5_000
    assert (sample["cluster_id"] == 2).sum() == 100  # floor: 5,000 // 50 points
    assert sample["msisdn"].is_unique and sample["msisdn"].is_monotonic_increasing
    assert sample.equals(charts.sample_customers(customers.sample(frac=1, random_state=3), 5_000))
