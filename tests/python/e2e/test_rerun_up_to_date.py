"""``xdr run`` with nothing new: it finds the published build current and does nothing.

A run builds and publishes when the input files, the project or the settings
differ from those of the published build (xdr_warehouse.uptodate), when a build
ran since that publish, when the published file is not the one recorded, or
with --force / --full-refresh.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from xdr_warehouse.generate import generate_xdr

from conftest import Workspace, new_workspace

pytestmark = pytest.mark.slow

UP_TO_DATE = "==> up to date:"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def builds(ws: Workspace) -> int:
    return ws.query("select count(*) from audit.dbt_builds")[0][0]


def run(ws: Workspace, folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``xdr run ARGS`` on ``folder``; its output (the exit code must be 0)."""
    capsys.readouterr()
    assert ws.cli(["run", *args], folder) == 0
    return capsys.readouterr().out


@pytest.fixture
def input_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    generate_xdr(folder / "day1.csv", 800, seed=5)
    return folder


def test_a_rerun_with_nothing_new_builds_and_publishes_nothing(
    tmp_path: Path, input_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = new_workspace(tmp_path / "ws")
    first = run(ws, input_folder, capsys, "--skip-report")
    assert UP_TO_DATE not in first and builds(ws) == 1
    published = sha256(ws.settings.published_db)

    again = run(ws, input_folder, capsys, "--skip-report")
    assert UP_TO_DATE in again and "==> dbt build" not in again and "==> publish" not in again
    assert builds(ws) == 1
    assert sha256(ws.settings.published_db) == published

    # the report is written once from the published file, then found current
    assert "write the report" in run(ws, input_folder, capsys)
    report = ws.settings.report_dir / "engagement_report.html"
    written = report.stat().st_mtime_ns
    assert "write the report" not in run(ws, input_folder, capsys)
    assert report.stat().st_mtime_ns == written and builds(ws) == 1


def test_new_input_force_another_build_or_a_missing_release_each_build_again(
    tmp_path: Path, input_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = new_workspace(tmp_path / "ws")
    run(ws, input_folder, capsys, "--skip-report")
    sessions = ws.query("select sum(session_count) from marts.customer_engagement")[0][0]

    generate_xdr(input_folder / "day2.csv", 300, seed=6)
    assert UP_TO_DATE not in run(ws, input_folder, capsys, "--skip-report")
    assert builds(ws) == 2
    grown = ws.query(
        "select sum(session_count) from marts.customer_engagement", ws.settings.published_db
    )[0][0]
    assert grown > sessions

    assert UP_TO_DATE not in run(ws, input_folder, capsys, "--skip-report", "--force")
    assert builds(ws) == 3

    # a build since the publish (here `xdr build`; a failed build alike): the
    # published file no longer holds the last build, so the run builds and publishes
    assert ws.cli(["build"], None) == 0 and builds(ws) == 4
    assert UP_TO_DATE not in run(ws, input_folder, capsys, "--skip-report")
    assert builds(ws) == 5
    assert UP_TO_DATE in run(ws, input_folder, capsys, "--skip-report")

    # the published file is gone: build and publish it again
    ws.settings.published_db.unlink()
    assert UP_TO_DATE not in run(ws, input_folder, capsys, "--skip-report")
    assert builds(ws) == 6 and ws.settings.published_db.exists()
    assert UP_TO_DATE in run(ws, input_folder, capsys, "--skip-report")
