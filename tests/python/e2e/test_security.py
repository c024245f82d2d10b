"""Hostile input: a file name can never become SQL, and odd exports load or get a
precise one-line message. See the README's "When the input is bad" table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xdr_warehouse.columns import RAW_CSV_HEADER
from xdr_warehouse.generate import generate_xdr
from xdr_warehouse.ingest.prescan import MAX_LINE_BYTES

from conftest import LOAD_CHAIN, REPO, Workspace, new_workspace

pytestmark = pytest.mark.slow

INJECTION = "a'); copy (select 42 as x) to 'pwned.csv'; --.csv"
HOSTILE_NAMES = [
    "o'neil; drop table x.csv",
    INJECTION,
    'back\\slash "double" -- dash.csv',
    "new\nline.csv",
    "glob [1] * ?.csv",
    "Société Générale ☎.csv",
]
HANDSET = RAW_CSV_HEADER.index("Handset Manufacturer")
LOCATION = RAW_CSV_HEADER.index("Last Location Name")


@pytest.fixture(scope="module")
def export_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("export") / "x.csv"
    generate_xdr(path, 2_000, seed=21)
    return path.read_text().splitlines()


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


def build(ws: Workspace, xdr_path: Path | str) -> None:
    result = ws.dbt(["build", *LOAD_CHAIN], xdr_path)
    assert result.success, result.exception


def test_hostile_file_and_folder_names_load_like_any_file(
    workspace: Workspace, export_lines: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "in'; drop schema raw cascade; --" / "sub\\dir"
    folder.mkdir(parents=True)
    lines = export_lines[:201]
    for name in HOSTILE_NAMES:  # the same records in every file: duplicates after the first
        (folder / name).write_text("\n".join(lines) + "\n")
    repo_before = set(os.listdir(REPO))
    cwd_before = set(os.listdir(Path.cwd()))

    build(workspace, folder)

    audit = dict(workspace.query("select file_name, read_record_count from marts.xdr_load_audit"))
    assert audit == {name: 200 for name in HOSTILE_NAMES}
    loaded = workspace.query("select sum(loaded_record_count) from marts.xdr_load_audit")
    assert loaded == [(200,)]
    # nothing but the warehouse was written: no pwned.csv anywhere
    assert set(os.listdir(REPO)) == repo_before and set(os.listdir(Path.cwd())) == cwd_before
    assert not list(tmp_path.rglob("pwned*")) and not list(REPO.rglob("pwned*"))
    assert workspace.query("select count(*) from raw.xdr_files") == [(len(HOSTILE_NAMES),)]


NAME_CHARS = st.characters(
    blacklist_categories=("Cs",), blacklist_characters="/\x00", min_codepoint=1
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=st.text(NAME_CHARS, min_size=1, max_size=40))
def test_any_file_name_is_data_never_sql(
    export_lines: list[str], tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    """Ingest lands a file with any name; its records read back in full and its
    name comes back as data, never as part of a statement."""
    if name in {".", ".."}:
        return
    root = tmp_path_factory.mktemp("names")
    path = root / "in" / f"{name}.csv"
    path.parent.mkdir()
    path.write_text("\n".join(export_lines[:11]) + "\n")
    ws = new_workspace(root / "ws")
    ws.ingest(path)
    assert ws.query("select count(*) from raw.xdr_lines") == [(10,)]  # header + 10 records
    assert ws.query("select file_name from raw.xdr_files") == [(path.name,)]
    assert not list(root.rglob("pwned*"))


def test_windows_1252_text_loads_every_session_and_is_counted(
    workspace: Workspace, export_lines: list[str], tmp_path: Path
) -> None:
    data = []
    changed = 0
    for i, line in enumerate(export_lines):
        fields = line.split(",")
        if 0 < i < len(export_lines) - 1 and i % 68 == 0:  # 29 sessions
            fields[HANDSET] = "Soci\xe9t\xe9 G\xe9n\xe9rale"
            data.append(",".join(fields).encode("cp1252"))
            changed += 1
        else:
            data.append(line.encode())
    assert changed == 29
    path = tmp_path / "cp1252.csv"
    path.write_bytes(b"\n".join(data) + b"\n")
    build(workspace, path)
    row = workspace.query(
        "select loaded_record_count, quarantined_record_count, summary_row_count,"
        " text_reencoded_count from marts.xdr_load_audit"
    )
    assert row == [(2_000, 1, 1, 29)]
    sessions = (
        workspace.query("select sum(session_count) from marts.customer_engagement")[0][0]
        + workspace.query("select sum(unattributed_record_count) from marts.xdr_load_audit")[0][0]
    )
    assert sessions == 2_000


def test_long_fields_load_and_a_line_over_the_maximum_is_quarantined_with_its_length(
    workspace: Workspace, export_lines: list[str], tmp_path: Path
) -> None:
    lines = list(export_lines[:51])
    fields = lines[3].split(",")
    fields[LOCATION] = "L" * 2_000_000  # a valid 2 MB field
    lines[3] = ",".join(fields)
    fields = lines[5].split(",")
    fields[LOCATION] = "L" * (MAX_LINE_BYTES + 1)  # past the documented maximum
    lines[5] = ",".join(fields)
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    build(workspace, path)
    quarantined = workspace.query(
        "select line_number, quarantine_reason, quarantine_detail, length(raw_line)"
        " from marts.xdr_quarantined_records"
    )
    assert len(quarantined) == 1
    line, reason, detail, kept = quarantined[0]
    assert (line, reason, kept) == (6, "malformed_line", 1_000)
    assert detail.startswith(f"line longer than {MAX_LINE_BYTES:,} bytes")
    assert workspace.query("select loaded_record_count from marts.xdr_load_audit") == [(49,)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda h: h.replace(",", ";"), "separated by ';' (a European Excel export?)"),
        (lambda h: "<!DOCTYPE html><html>", "is an HTML or XML page"),
    ],
)
def test_an_export_that_is_not_comma_separated_stops_in_one_line(
    workspace: Workspace,
    export_lines: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: object,
    message: str,
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(content(export_lines[0]) + "\n" + "\n".join(export_lines[1:10]) + "\n")
    assert workspace.cli(["run", "--skip-report"], path) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(path) in err
    assert not workspace.build_db.exists()
