"""The disk-space estimate ``xdr run`` checks before dbt starts (xdr_warehouse.diskspace)."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from xdr_warehouse import diskspace, job
from xdr_warehouse.diskspace import DISK_BYTES_PER_RECORD, disk_warning, estimated_records
from xdr_warehouse.generate import generate_xdr
from xdr_warehouse.ingest import inspect_inputs
from xdr_warehouse.job import JobError

from conftest import new_workspace

RECORDS = 20_000
Usage = namedtuple("Usage", "total used free")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 20,000 generated records as CSV, gzipped CSV, Parquet and XLSX."""
    folder = tmp_path_factory.mktemp("diskspace")
    paths = {}
    for fmt in ("csv", "csv.gz", "parquet", "xlsx"):
        paths[fmt] = folder / f"xdr.{fmt}"
        generate_xdr(paths[fmt], RECORDS, seed=5, fmt=fmt)
    return paths


def _free(monkeypatch: pytest.MonkeyPatch, free_bytes: int) -> None:
    monkeypatch.setattr(diskspace.shutil, "disk_usage", lambda _: Usage(0, 0, free_bytes))


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "xlsx"])
def test_records_are_estimated_from_size_and_format(inputs: dict[str, Path], fmt: str) -> None:
    landing = inputs["csv"].parent / "landing"  # XLSX is converted to text there
    estimate = estimated_records(inspect_inputs(str(inputs[fmt]), landing))
    assert 0.8 * RECORDS <= estimate <= 1.25 * RECORDS


def test_warning_names_the_folder_the_need_and_the_free_space(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = inspect_inputs(str(inputs["csv"]), tmp_path / "landing")
    need = estimated_records(files) * DISK_BYTES_PER_RECORD
    build_db = tmp_path / "not" / "yet" / "build.duckdb"
    _free(monkeypatch, need - 1)
    warning = disk_warning(files, build_db)
    assert warning is not None and "\n" not in warning
    assert str(tmp_path) in warning and "XDR_BUILD_DB" in warning
    assert f"{need / 1e9:,.1f} GB" in warning
    _free(monkeypatch, need)
    assert disk_warning(files, build_db) is None


def test_an_existing_build_database_counts_as_already_used(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = inspect_inputs(str(inputs["csv"]), tmp_path / "landing")
    need = estimated_records(files) * DISK_BYTES_PER_RECORD
    build_db = tmp_path / "build.duckdb"
    build_db.write_bytes(b"\0" * 1_000_000)
    _free(monkeypatch, need - 1_000_000)
    assert disk_warning(files, build_db) is None
    _free(monkeypatch, need - 1_000_001)
    assert disk_warning(files, build_db) is not None


def test_the_real_disk_has_room_for_a_small_build(inputs: dict[str, Path], tmp_path: Path) -> None:
    assert shutil.disk_usage(tmp_path).free > 1e9  # the premise of this test
    assert (
        disk_warning(
            inspect_inputs(str(inputs["csv"]), tmp_path / "landing"), tmp_path / "build.duckdb"
        )
        is None
    )


def test_xdr_run_prints_the_warning_before_dbt_starts(
    inputs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _free(monkeypatch, 1_000)
    started = []

    def no_dbt(*args: object) -> None:
        started.append(args)
        raise JobError("dbt stopped by the test")

    monkeypatch.setattr(job, "build", no_dbt)
    code = new_workspace(tmp_path).cli(["run", "--skip-report"], inputs["csv"])
    out = capsys.readouterr().out
    assert code == 1 and started  # the warning does not stop the job
    warnings = [line for line in out.splitlines() if "warning: this build may need" in line]
    assert len(warnings) == 1 and str(tmp_path) in warnings[0]
    assert out.index("warning:") < out.index("dbt build")
