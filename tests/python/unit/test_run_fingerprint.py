"""The fingerprint ``xdr run`` compares with the published build's (xdr_warehouse.uptodate)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from xdr_warehouse.ingest import InputFile, LandedFile
from xdr_warehouse.settings import Settings
from xdr_warehouse.uptodate import fingerprint

REPO = Path(__file__).resolve().parents[3]


def landed(path: str, signature: str, file_id: int = 1) -> LandedFile:
    file = InputFile(
        source_file=path,
        file_name=Path(path).name,
        file_format="csv",
        size_bytes=10,
        modified_at=datetime(2026, 11, 28),
        file_signature=signature,
        header=(),
        field_positions=(),
        unknown_columns=(),
        reader="lines",
        read_path=Path(path),
    )
    return LandedFile(file_id, file, is_new=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small dbt project: its configuration, a model, a macro and a test."""
    root = tmp_path / "project"
    for name in ("dbt_project.yml", "profiles.yml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    for relative, text in {
        "models/a.sql": "select 1 as a\n",
        "macros/m.sql": "{% macro m() %}1{% endmacro %}\n",
        "tests/dbt/t.sql": "select 1 where false\n",
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


FILES = [landed("/in/a.csv", "10:1"), landed("/in/b.csv", "20:2", 2)]


def test_the_same_run_has_the_same_fingerprint_whatever_the_file_order(project: Path) -> None:
    settings = Settings.from_env({}, project_dir=project)
    assert fingerprint(settings, FILES) == fingerprint(settings, FILES[::-1])
    assert len(fingerprint(settings, FILES)) == 64


def test_a_new_changed_or_removed_input_file_changes_it(project: Path) -> None:
    settings = Settings.from_env({}, project_dir=project)
    base = fingerprint(settings, FILES)
    assert fingerprint(settings, [*FILES, landed("/in/c.csv", "5:3", 3)]) != base
    assert fingerprint(settings, [FILES[0], landed("/in/b.csv", "21:4", 3)]) != base
    assert fingerprint(settings, FILES[:1]) != base


def test_a_changed_setting_changes_it(project: Path) -> None:
    settings = Settings.from_env({}, project_dir=project)
    base = fingerprint(settings, FILES)
    assert fingerprint(replace(settings, publish_storage_version="v1.2.0"), FILES) != base
    assert fingerprint(replace(settings, memory_limit="2GB"), FILES) != base


@pytest.mark.parametrize(
    "edit",
    ["models/a.sql", "macros/m.sql", "tests/dbt/t.sql", "dbt_project.yml", "models/new.yml"],
)
def test_an_edited_or_added_project_file_changes_it(project: Path, edit: str) -> None:
    settings = Settings.from_env({}, project_dir=project)
    base = fingerprint(settings, FILES)
    path = project / edit
    path.write_text((path.read_text() if path.exists() else "") + "\n# edited\n")
    assert fingerprint(settings, FILES) != base


def test_files_outside_the_project_paths_and_caches_leave_it(project: Path) -> None:
    settings = Settings.from_env({}, project_dir=project)
    base = fingerprint(settings, FILES)
    (project / "README.md").write_text("notes\n")
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")
    (project / "models" / "__pycache__").mkdir()
    (project / "models" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert fingerprint(settings, FILES) == base
