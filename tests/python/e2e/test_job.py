"""The job's steps as users run them: `xdr run -- DBT_ARGS`, `xdr publish` after a
failed build, contracts that stop a breaking change, and plain dbt on a fresh clone."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse.generate import generate_xdr

from conftest import Workspace, new_workspace
from helpers_publish import copy_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "xdr.csv"
    generate_xdr(path, 3_000, seed=31)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dbt_arguments_reach_the_published_file_the_report_and_the_dashboard(
    workspace: Workspace, small_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert workspace.cli(["run", "--", "--vars", "{cluster_k: 4}"], small_csv) == 0
    published = workspace.settings.published_db
    with duckdb.connect(str(published), read_only=True) as con:
        levels = con.execute(
            "select distinct cluster_id, engagement_level from marts.customer_clusters order by 1"
        ).fetchall()
        summary = con.execute(
            "select count(distinct cluster_id) from marts.engagement_cluster_summary"
        ).fetchall()
    assert levels == [(i, f"level_{i + 1}") for i in range(4)] and summary == [(4,)]
    # a first build fits a model: its imports were preloaded while DuckDB staged the input
    log = (workspace.settings.log_dir / "xdr.log").read_text()
    assert "preloaded sklearn.cluster, kneed in" in log
    html = (workspace.settings.report_dir / "engagement_report.html").read_text()
    assert "4 clusters ordered by engagement" in html and "k = 4 used for the clusters" in html

    from streamlit.testing.v1 import AppTest

    from xdr_warehouse.dashboard.server import APP

    monkeypatch.setattr(sys, "argv", [str(APP), "--published-db", str(published)])
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["page"] = "clusters"
    app.run()
    assert not app.exception
    shown = {level for frame in app.dataframe for level in frame.value.get("engagement_level", [])}
    assert {"level_1", "level_2", "level_3", "level_4"} <= shown


def test_publish_after_a_failed_test_refuses_and_changes_nothing(
    small_csv: Path, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    ws = new_workspace(tmp_path / "ws", project_dir=project)
    assert ws.cli(["run", "--skip-report"], small_csv) == 0
    published, release = ws.settings.published_db, (ws.settings.export_dir / "current").resolve()
    before = sha256(published)
    (project / "tests" / "dbt" / "assert_deliberately_fails.sql").write_text(
        "-- Added by test_job.py to a copy of the project: always fails.\n"
        "select msisdn from {{ ref('customer_engagement') }}\n"
    )
    build = subprocess.run(
        [sys.executable, "-m", "xdr_warehouse", "build"],
        cwd=project, capture_output=True, text=True, timeout=600,
        env=ws_env(ws),
    )  # fmt: skip
    assert build.returncode == 1 and "assert_deliberately_fails" in build.stderr
    publish = subprocess.run(
        [sys.executable, "-m", "xdr_warehouse", "publish"],
        cwd=project, capture_output=True, text=True, timeout=600,
        env=ws_env(ws),
    )  # fmt: skip
    assert publish.returncode == 1
    assert publish.stderr.count("\n") == 1
    assert "the last dbt build did not pass: assert_deliberately_fails (fail)" in publish.stderr
    assert sha256(published) == before
    assert (ws.settings.export_dir / "current").resolve() == release


def ws_env(ws: Workspace) -> dict[str, str]:
    """The environment of an `xdr` child process working in ``ws``."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDR_", "DBT_"))}
    settings = ws.settings
    env.update(
        XDR_BUILD_DB=str(settings.build_db),
        XDR_PUBLISHED_DB=str(settings.published_db),
        XDR_EXPORT_DIR=str(settings.export_dir),
        XDR_LANDING_DIR=str(settings.landing_dir),
        XDR_TEMP_DIR=str(settings.temp_dir),
        XDR_LOG_DIR=str(settings.log_dir),
        DBT_TARGET_PATH=str(settings.target_path),
        PYTHONPATH=str(settings.project_dir / "python"),
    )
    return env


def test_a_changed_column_type_of_a_public_model_fails_with_the_contract_error(
    small_csv: Path, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    model = project / "models" / "marts" / "engagement" / "customer_engagement.sql"
    model.write_text(
        model.read_text().replace(
            "        session_count,", "        cast(session_count as double) as session_count,"
        )
    )
    ws = new_workspace(tmp_path / "ws", project_dir=project)
    result = ws.dbt(["build", "--select", "+customer_engagement"], small_csv)
    assert not result.success
    messages = " ".join(r.message or "" for r in result.result.results if r.status == "error")
    assert "contract" in messages.lower() and "session_count" in messages


def test_plain_dbt_works_on_a_fresh_clone_before_any_data(tmp_path: Path) -> None:
    ws = new_workspace(tmp_path / "fresh")
    for command in (
        ["ls", "--resource-type", "source"],
        ["compile"],
        ["build"],
        ["docs", "generate"],
    ):
        result = ws.dbt(command)
        assert result.success, (command, result.exception)
    sources = ws.dbt(["ls", "--resource-type", "source", "--output", "name"]).result
    assert sorted(sources) == [
        "build_state.applied_file_versions",
        "xdr.files", "xdr.line_notes", "xdr.lines", "xdr.parquet_rows",
    ]  # fmt: skip
    public = ws.dbt(
        ["ls", "--select", "access:public", "--resource-type", "model", "--output", "name"]
    ).result
    from conftest import PUBLIC_TABLES

    assert sorted(public) == sorted(PUBLIC_TABLES)
    assert ws.query("select count(*) from marts.customer_engagement") == [(0,)]
    assert (ws.settings.target_path / "catalog.json").exists()


def project_with_a_slow_model(folder: Path, rows: int) -> Path:
    """A copy of the project with one more model, ``slow_on_purpose``, whose query
    hashes ``rows`` numbers (300M: about a second on 2 cores; 800M: a few)."""
    project = copy_project(folder)
    (project / "models" / "slow_on_purpose.sql").write_text(
        "-- Added by test_job.py to a copy of the project: a query that takes a while.\n"
        "{{ config(materialized='table') }}\n"
        f"select count(*) as n from range({rows}) as numbers(i) where hash(i) % 7 = 0\n"
    )
    return project


def test_a_long_build_says_what_runs_and_how_far_it_is(
    tmp_path: Path, small_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # progress every 0.2 s instead of 10 s: every node that runs longer is reported.
    # On a fast machine every node of the small build may end sooner (the cluster fit
    # too, once an earlier test imported scikit-learn), so a copy of the project adds
    # one model that runs for about a second.
    project = project_with_a_slow_model(tmp_path / "project", rows=300_000_000)
    ws = new_workspace(tmp_path / "progress", project_dir=project, progress_seconds=0.2)
    assert ws.cli(["build"], small_csv) == 0
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if line.startswith("    ... ")]
    assert progress, lines
    assert all("(running " in line for line in progress), progress
    # the lines name nodes of the project: models, data tests or unit tests (which ones
    # run longest depends on the machine)
    nodes = {
        part.split(" (running ")[0]
        for line in progress
        for part in line.removeprefix("    ... ").split("; ")
    }
    manifest = json.loads((ws.settings.target_path / "manifest.json").read_text())
    project_nodes = {
        node["name"] for kind in ("nodes", "unit_tests") for node in manifest[kind].values()
    }
    # the ingest step before dbt reports itself by its name
    assert nodes & project_nodes and nodes <= project_nodes | {"ingest"}, (nodes, progress)


def test_a_long_query_reports_the_share_duckdb_has_done(
    tmp_path: Path, small_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = project_with_a_slow_model(tmp_path / "project", rows=800_000_000)
    ws = new_workspace(tmp_path / "ws", project_dir=project, progress_seconds=0.2)
    assert ws.cli(["build", "--", "--select", "slow_on_purpose"], small_csv) == 0
    lines = capsys.readouterr().out.splitlines()
    shares = [
        int(line.split("%")[0].rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("    ... slow_on_purpose (running") and "%" in line
    ]
    assert shares, lines
    assert all(0 <= share <= 100 for share in shares), shares
    # the share rises while the query runs; dbt's statements after it start at 0 again
    rising = shares[: shares.index(max(shares)) + 1]
    assert max(shares) > 0 and rising == sorted(rising), shares


def test_a_build_of_only_a_seed_is_recorded(workspace: Workspace, small_csv: Path) -> None:
    # on-run-end once failed here: dbt's own transaction was open when it began one
    # (the tests of the models that use the seed would fail: those models do not exist yet)
    argv = ["build", "--", "--select", "engagement_metrics", "--exclude", "resource_type:test"]
    assert workspace.cli(argv, small_csv) == 0
    rows = workspace.query("select passed, whole_project from audit.dbt_builds")
    assert rows == [(True, False)]


def test_the_daily_build_leaves_unit_tests_to_ci_unless_asked(
    small_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from xdr_warehouse import cli

    project = copy_project(tmp_path / "project")
    model = project / "models" / "marts" / "engagement" / "top_customers_by_engagement.sql"
    text = model.read_text()
    assert text.count("msisdn asc") == 2
    # ties listed by the highest MSISDN: wrong, and only the unit test can tell
    model.write_text(text.replace("msisdn asc", "msisdn desc"))
    ws = new_workspace(tmp_path / "ws", project_dir=project)
    assert ws.cli(["build"], small_csv) == 0
    results = json.loads((ws.settings.target_path / "run_results.json").read_text())["results"]
    kinds = {result["unique_id"].split(".")[0] for result in results}
    assert "test" in kinds and "unit_test" not in kinds, kinds

    capsys.readouterr()
    assert cli.main(["build"], settings=replace(ws.settings, unit_tests=True)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unit_test top_customers_break_ties_by_msisdn_and_show_them" in err, err
