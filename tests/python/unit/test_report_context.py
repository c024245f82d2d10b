"""The report's sections and HTML from hand-made marts, without dbt
(xdr_warehouse.report.context and .build's render_html)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from xdr_warehouse.report import charts
from xdr_warehouse.report import context as report_context
from xdr_warehouse.report.build import render_html
from xdr_warehouse.report.stored_failures import StoredFailures

from report_frames import hand_made_marts, three_clusters

MODEL_SENTENCE = "Clusters from model kmeans-ab12cd34ef56 fitted on 2026-11-27 16:20 UTC."
BUILD_DB = Path("/data/warehouse/build.duckdb")
STORED = (
    StoredFailures(BUILD_DB, "int_sessions_seconds_column_is_floor_of_ms_column", 4),
    StoredFailures(BUILD_DB, "int_sessions_total_dl_is_the_six_named_applications", 0),
)


@pytest.fixture(scope="module", autouse=True)
def quick_charts() -> Iterator[None]:
    """Charts are tested in test_report_charts.py; here a stand-in PNG is enough."""
    with pytest.MonkeyPatch.context() as patch:
        for name in dir(charts):
            if name.endswith("_chart"):
                patch.setattr(charts, name, lambda *args, **kwargs: b"\x89PNG stand-in")
        yield


@pytest.fixture(scope="module")
def html() -> str:
    """The complete report of the hand-made marts, with two stored-failure tables."""
    context, _charts = report_context.report_context(hand_made_marts(), STORED)
    return render_html({**context, "source_db": "engagement.duckdb", "published_at": None})


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.DOTALL)
    assert match, name
    return match.group(1)


def test_the_clusters_section_names_the_model_and_when_it_was_fitted(html: str):
    section_, _charts, k_used = report_context.cluster_section(hand_made_marts())
    assert section_["model"] == MODEL_SENTENCE and k_used == 3
    assert MODEL_SENTENCE in section(html, "clusters")
    assert "kmeans-" not in html.replace(section(html, "clusters"), "")


def test_a_summary_without_model_columns_has_no_model_sentence():
    marts = hand_made_marts(cluster_summary=three_clusters(25e9))
    section_, _charts, _k = report_context.cluster_section(marts)
    assert section_["model"] is None
    context, _charts = report_context.report_context(marts)
    page = render_html({**context, "source_db": "e.duckdb", "published_at": None})
    assert 'id="cluster-model"' not in page and "None" not in page


def test_data_quality_lists_each_stored_failure_table_with_its_rows_and_query(html: str):
    quality = section(html, "data-quality")
    assert "Rows stored by the warning-level tests" in quality
    rows = re.findall(
        r"<tr><td class=\"text\"><code>(test_failures\.\w+)</code></td><td>([\d,]+)</td>"
        r"<td class=\"text command\"><code>([^<]+)</code></td></tr>",
        quality,
    )
    assert rows == [
        (
            "test_failures.int_sessions_seconds_column_is_floor_of_ms_column",
            "4",
            "duckdb -readonly /data/warehouse/build.duckdb -c "
            "&#34;select * from test_failures.int_sessions_seconds_column_is_floor_of_ms_column"
            "&#34;",
        ),
        (
            "test_failures.int_sessions_total_dl_is_the_six_named_applications",
            "0",
            "duckdb -readonly /data/warehouse/build.duckdb -c "
            "&#34;select * from test_failures.int_sessions_total_dl_is_the_six_named_applications"
            "&#34;",
        ),
    ]
    assert "1 warning-level test of 2 stored 4 failing rows" in quality


def test_without_stored_failures_there_is_no_such_table():
    context, _charts = report_context.report_context(hand_made_marts())
    assert context["data_quality"]["stored_failures"] == []
    page = render_html({**context, "source_db": "e.duckdb", "published_at": None})
    assert 'id="stored-failures"' not in page and "test_failures" not in page


def test_the_no_data_report_also_lists_the_stored_failures():
    marts = hand_made_marts()
    empty = replace(marts, engagement=marts.engagement.head(0))
    context, charts = report_context.report_context(empty, STORED)
    assert context["status"] == report_context.STATUS_NO_DATA and charts == []
    page = render_html({**context, "source_db": "e.duckdb", "published_at": None})
    assert "test_failures.int_sessions_seconds_column_is_floor_of_ms_column" in page


def test_hand_made_report_has_every_section_and_no_missing_values(html: str):
    for name in ("overview", "top-customers", "clusters", "applications", "elbow"):
        assert section(html, name)
    assert not re.search(r"\bnan\b", html, re.IGNORECASE)
    assert "None" not in html and "Undefined" not in html
