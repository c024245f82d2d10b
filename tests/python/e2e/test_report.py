"""The engagement report built end to end on the warehouse of the generated data
(including what happens to the last good report when a build is empty or broken).
Its numbers, sentences and charts on hand-made marts are unit tests:
tests/python/unit/test_report_*.py."""

from __future__ import annotations

import base64
import re
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse import atomic, job, publish, report
from xdr_warehouse.report import ReportError, build_report, charts, text

from conftest import PUBLIC_TABLES, Workspace

SECTIONS = ("overview", "top-customers", "clusters", "applications", "elbow", "data-quality")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def copy_marts(source: Path, target: Path, where: str = "") -> None:
    """A DuckDB file holding only schema marts (the shape of the published BI file)."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as src (read_only)")
        con.execute("create schema marts")
        tables = con.sql(
            "select table_name from duckdb_tables() where database_name = 'src' "
            "and schema_name = 'marts'"
        ).fetchall()
        for (table,) in tables:
            con.execute(f"create table marts.{table} as select * from src.marts.{table} {where}")


@pytest.fixture(scope="module")
def published_db(built_warehouse: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The BI file as the publish step writes it (schema marts only)."""
    folder = tmp_path_factory.mktemp("published")
    path = folder / "engagement.duckdb"
    publish.publish(built_warehouse.settings.marts_db, path, folder / "parquet", PUBLIC_TABLES)
    with duckdb.connect(str(path), read_only=True) as con:
        schemas = con.sql(
            "select distinct schema_name from duckdb_tables() where database_name = 'engagement'"
        ).fetchall()
    assert schemas == [("marts",)]
    return path


@pytest.fixture(scope="module")
def empty_db(published_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Marts of a header-only input: no rows anywhere, the audit row says 0 records."""
    path = tmp_path_factory.mktemp("empty") / "engagement.duckdb"
    copy_marts(published_db, path, where="where false")
    counts = ", ".join(
        f"0 as {column}"
        for column in (
            "read_record_count",
            "loaded_record_count",
            "quarantined_record_count",
            "unattributed_record_count",
            "unattributed_traffic_bytes",
            "unattributed_duration_ms",
            "no_bearer_id_record_count",
            "total_identity_mismatch_count",
            "text_reencoded_count",
            *(f"{reason}_count" for reason in text.QUARANTINE_REASONS),
        )
    )
    with duckdb.connect(str(path)) as con:
        con.execute(f"attach '{published_db}' as src (read_only)")
        con.execute(
            f"insert into marts.xdr_load_audit select * replace ({counts}, "
            "'/data/header_only.csv' as source_file, 'header_only.csv' as file_name) "
            "from src.marts.xdr_load_audit limit 1"
        )
    return path


@pytest.fixture(scope="module")
def good_report(published_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "reports"
    path = build_report(published_db, out)
    assert path == out / report.REPORT_FILE
    return path


@pytest.mark.slow
def test_report_has_every_section_chart_and_no_missing_values(good_report: Path):
    html = good_report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    assert '<meta name="xdr-report-status" content="complete">' in html
    assert not re.search(r"\bnan\b", html, re.IGNORECASE)
    assert "None" not in html
    assert "Undefined" not in html
    # Self-contained: no http(s) resource, every image an embedded PNG.
    assert not re.search(r"""(src|href)=["']https?:""", html)
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 8  # cluster metrics, sizes, scatter, apps, 3 top-users, elbow
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    charts = sorted(p.name for p in (good_report.parent / "charts").iterdir())
    assert len(charts) == 8
    for link in re.findall(r'<a href="(charts/[^"]+)"', html):
        assert (good_report.parent / link).is_file()
    for heading in (
        "Top 10 customers by sessions",
        "Top 10 customers by session time",
        "Top 10 customers by traffic",
        "Elbow method",
        "Quarantined records by reason",
    ):
        assert heading in html


@pytest.mark.slow
def test_report_numbers_come_from_the_marts(good_report: Path, published_db: Path):
    html = good_report.read_text(encoding="utf-8")
    with duckdb.connect(str(published_db), read_only=True) as con:
        customers = con.sql("select count(*) from marts.customer_engagement").fetchall()[0][0]
        high = con.sql(
            "select customer_share from marts.engagement_cluster_summary "
            "where metric = 'traffic_bytes' order by cluster_id desc limit 1"
        ).fetchall()[0][0]
        leader, leader_share = con.sql(
            "select application, traffic_share from marts.application_usage where usage_rank = 1"
        ).fetchall()[0]
        top_traffic = con.sql(
            "select msisdn from marts.top_customers_by_engagement "
            "where metric = 'traffic_bytes' and rank = 1"
        ).fetchall()[0][0]
        elbow_k = con.sql("select k from marts.engagement_elbow where is_elbow").fetchall()[0][0]
        read = con.sql("select sum(read_record_count) from marts.xdr_load_audit").fetchall()[0][0]
        model_id, fitted_at = con.sql(
            "select distinct cluster_model_id, model_fitted_at "
            "from marts.engagement_cluster_summary"
        ).fetchall()[0]
    assert f"This report covers {customers:,} customers" in html
    assert f"holds {text.fmt_share(high)} of the customers" in html
    assert f"{leader} carries the most traffic" in html
    assert f"({text.fmt_share(leader_share)} of all application traffic)" in html
    assert f"Customer {top_traffic} leads with" in html
    assert f"The elbow is at k = {elbow_k}" in html
    assert f"{read:,} records read" in html
    assert re.search(r"\(published \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", html)
    assert model_id.startswith("kmeans-")
    assert f"Clusters from model {model_id} fitted on {fitted_at:%Y-%m-%d %H:%M} UTC." in html
    assert "test_failures" not in html  # no build database given: no stored failures listed


@pytest.mark.slow
def test_report_is_deterministic(published_db: Path, good_report: Path, tmp_path: Path):
    again = build_report(published_db, tmp_path / "again")
    assert again.read_bytes() == good_report.read_bytes()
    for png in (good_report.parent / "charts").iterdir():
        assert (tmp_path / "again" / "charts" / png.name).read_bytes() == png.read_bytes()


@pytest.fixture
def last_good(good_report: Path, tmp_path: Path) -> Path:
    """A folder with a good report in it, as after a successful run."""
    shutil.copytree(good_report.parent, tmp_path / "reports")
    return tmp_path / "reports" / report.REPORT_FILE


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.mark.slow
def test_empty_build_keeps_the_last_good_report(last_good: Path, empty_db: Path):
    out = last_good.parent
    before = snapshot(out)
    written = build_report(empty_db, out)
    assert written == out / report.NO_DATA_FILE
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k != report.NO_DATA_FILE} == before
    no_data = written.read_text(encoding="utf-8")
    assert '<meta name="xdr-report-status" content="no-data">' in no_data
    assert "no customer data" in no_data and "header_only.csv" in no_data
    assert leftovers(out.parent) == []


@pytest.mark.slow
def test_next_good_build_replaces_the_no_data_note(
    last_good: Path, empty_db: Path, published_db: Path
):
    out = last_good.parent
    build_report(empty_db, out)
    build_report(published_db, out)
    assert not (out / report.NO_DATA_FILE).exists()
    assert report.report_status(out / report.REPORT_FILE) == report.STATUS_COMPLETE


@pytest.mark.slow
def test_empty_build_without_a_previous_report_says_there_is_no_data(
    empty_db: Path, tmp_path: Path
):
    written = build_report(empty_db, tmp_path / "reports")
    assert written == tmp_path / "reports" / report.REPORT_FILE
    html = written.read_text(encoding="utf-8")
    assert report.report_status(written) == report.STATUS_NO_DATA
    assert "No data" in html and "gave no loadable xDR record" in html
    assert '<section id="data-quality">' in html
    assert "<img" not in html
    assert not re.search(r"\bnan\b", html, re.IGNORECASE) and "None" not in html


@pytest.mark.slow
def test_missing_or_incomplete_database_keeps_the_last_good_report(
    last_good: Path, published_db: Path, tmp_path: Path
):
    out = last_good.parent
    before = snapshot(out)
    with pytest.raises(ReportError, match="no published database at"):
        build_report(tmp_path / "missing.duckdb", out)
    broken = tmp_path / "broken.duckdb"
    copy_marts(published_db, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("drop table marts.engagement_elbow")
    with pytest.raises(ReportError, match=r"lacks the public table\(s\) marts.engagement_elbow"):
        build_report(broken, out)
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


@pytest.mark.slow
def test_failure_while_writing_keeps_the_last_good_report(
    last_good: Path, published_db: Path, monkeypatch: pytest.MonkeyPatch
):
    out = last_good.parent
    before = snapshot(out)

    def broken_chart(*args, **kwargs):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(charts, "elbow_chart", broken_chart)
    with pytest.raises(RuntimeError, match="chart failed"):
        build_report(published_db, out)
    monkeypatch.undo()

    def broken_swap(new_dir: Path, out_dir: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "swap_folder", broken_swap)
    with pytest.raises(OSError, match="disk full"):
        build_report(published_db, out)
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


@pytest.mark.slow
def test_swap_without_atomic_exchange_also_works(
    last_good: Path, published_db: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    out = last_good.parent
    (out / report.NO_DATA_FILE).write_text("stale")
    build_report(published_db, out)
    assert not (out / report.NO_DATA_FILE).exists()
    assert report.report_status(out / report.REPORT_FILE) == report.STATUS_COMPLETE
    assert leftovers(out.parent) == []


@pytest.mark.slow
def test_folder_with_other_files_is_never_replaced(published_db: Path, tmp_path: Path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="holds files the report did not write"):
        build_report(published_db, out)
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_report_step_reads_its_paths_from_the_settings(
    built_warehouse: Workspace,
    published_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    settings = replace(
        built_warehouse.settings, published_db=published_db, report_dir=tmp_path / "out"
    )
    path = job.report(settings)
    assert path == tmp_path / "out" / report.REPORT_FILE and path.is_file()
    assert f"wrote {path}" in capsys.readouterr().out
    # The build database's stored test failures: one line per table with its rows and query.
    stored = built_warehouse.query(
        "select table_name from information_schema.tables "
        "where table_schema = 'test_failures' order by table_name"
    )
    assert len(stored) >= 3
    html = path.read_text(encoding="utf-8")
    for (table,) in stored:
        rows = built_warehouse.query(f"select count(*) from test_failures.{table}")[0][0]
        assert (
            f'<tr><td class="text"><code>test_failures.{table}</code></td><td>{rows:,}</td>'
            f'<td class="text command"><code>duckdb -readonly {settings.build_db} -c '
            f"&#34;select * from test_failures.{table}&#34;</code></td></tr>"
        ) in html
    for name in (
        "int_sessions_seconds_column_is_floor_of_ms_column",
        "int_sessions_total_dl_is_the_six_named_applications",
        "int_sessions_total_ul_is_the_seven_applications",
    ):
        assert (name,) in stored
