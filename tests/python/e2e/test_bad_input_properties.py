"""Property-based: small xDR files with random corruption never crash the build,
never lose a record, and never touch the published file when the build fails."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xdr_warehouse.columns import RAW_CSV_HEADER
from xdr_warehouse.generate import generate_xdr

from conftest import LOAD_CHAIN, Workspace, new_workspace

pytestmark = pytest.mark.slow

N_RECORDS = 60
NUMERIC = [i for i, name in enumerate(RAW_CSV_HEADER) if "Bytes" in name or "(ms)" in name]
PERCENT = [i for i, name in enumerate(RAW_CSV_HEADER) if name.endswith("(%)")]
MSISDN = RAW_CSV_HEADER.index("MSISDN/Number")
TEXT = [RAW_CSV_HEADER.index(name) for name in ("Handset Type", "Last Location Name")]
RUNS = itertools.count()

#: corruption kind -> does the corrupted line have to be quarantined?
KINDS = {
    "too_few_fields": True,
    "too_many_fields": True,
    "not_utf8": True,
    "stray_quote_in_number": True,
    "text_in_number": True,
    "negative_number": True,
    "percent_over_100": True,
    "no_msisdn": False,  # loads, as an unattributed session
    "quote_in_text": False,  # loads: the export never quotes, a quote is just a character
}


def corrupt(line: str, kind: str, column: int) -> bytes:
    fields = line.split(",")
    if kind == "too_few_fields":
        fields = fields[: 1 + column % 50]
    elif kind == "too_many_fields":
        fields.append("surplus")
    elif kind == "not_utf8":
        return (",".join(fields)).encode().replace(b",", b",\xff", 1)
    elif kind == "stray_quote_in_number":
        fields[NUMERIC[column % len(NUMERIC)]] = '"' + fields[NUMERIC[column % len(NUMERIC)]]
    elif kind == "quote_in_text":
        fields[TEXT[column % len(TEXT)]] = '"' + fields[TEXT[column % len(TEXT)]]
    elif kind == "text_in_number":
        fields[NUMERIC[column % len(NUMERIC)]] = "n/a"
    elif kind == "negative_number":
        fields[NUMERIC[column % len(NUMERIC)]] = "-1"
    elif kind == "percent_over_100":
        fields[PERCENT[column % len(PERCENT)]] = "250"
    elif kind == "no_msisdn":
        fields[MSISDN] = ""
    return ",".join(fields).encode()


@pytest.fixture(scope="module")
def base_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("prop") / "base.csv"
    generate_xdr(path, N_RECORDS, seed=5, summary_row=False)
    return path.read_text().splitlines()


@pytest.fixture(scope="module")
def prop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prop_runs")


corruptions = st.lists(
    st.tuples(st.integers(1, N_RECORDS), st.sampled_from(sorted(KINDS)), st.integers(0, 10_000)),
    min_size=1,
    max_size=6,
    unique_by=lambda c: c[0],
)


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=corruptions)
def test_random_corruption_loses_nothing(
    base_lines: list[str], prop_root: Path, changes: list[tuple[int, str, int]]
) -> None:
    lines = [line.encode() for line in base_lines]
    for line_index, kind, column in changes:
        lines[line_index] = corrupt(base_lines[line_index], kind, column)
    run = prop_root / f"run{next(RUNS)}"  # Hypothesis may replay an example
    run.mkdir()
    path = run / "export.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")

    ws = new_workspace(run / "dbt")
    result = ws.dbt(["build", *LOAD_CHAIN], path)
    assert result.success, result.exception  # the data tests include the reconciliations

    (read, loaded, quarantined, unattributed) = ws.query(
        "select read_record_count, loaded_record_count, quarantined_record_count,"
        " unattributed_record_count from marts.xdr_load_audit"
    )[0]
    assert read == N_RECORDS  # one record per line, nothing swallowed or dropped
    assert read == loaded + quarantined
    lines_out = {r[0] for r in ws.query("select line_number from marts.xdr_quarantined_records")}
    must = {i + 1 for i, kind, _ in changes if KINDS[kind]}  # file line = index + 1
    assert must <= lines_out <= {i + 1 for i, _, _ in changes}
    sessions = ws.query("select coalesce(sum(session_count), 0) from marts.customer_engagement")
    assert sessions[0][0] + unattributed == loaded


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def published(base_lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace whose BI file was published by a successful main job."""
    root = tmp_path_factory.mktemp("published")
    ws = new_workspace(root / "dbt")
    good = root / "good.csv"
    good.write_text("\n".join(base_lines) + "\n")
    assert ws.cli(["run", "--skip-report"], good) == 0
    return ws


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    column=st.integers(0, len(RAW_CSV_HEADER) - 1),
    how=st.sampled_from(["drop", "misspell", "blank"]),
)
def test_unusable_input_never_touches_the_published_file(
    published: Workspace, base_lines: list[str], column: int, how: str
) -> None:
    header = base_lines[0].split(",")
    if how == "drop":
        header.pop(column)
    elif how == "misspell":
        header[column] = header[column].replace(" ", "_") + "x"
    else:
        header[column] = ""
    bad = published.root / f"bad_{how}_{column}.csv"
    bad.write_text("\n".join([",".join(header), *base_lines[1:]]) + "\n")

    target = published.settings.published_db
    before = sha256(target)
    assert published.cli(["run", "--skip-report"], bad) == 1
    assert sha256(target) == before
