"""Shared fixtures: a generated xDR file and a warehouse built on it by dbt.

dbt runs in-process (dbtRunner) from the repository root, with its own build
database, target and log folders under pytest's tmp dirs, so tests never touch
the user's warehouse/ and can run beside a developer's build.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

REPO = Path(__file__).resolve().parents[2]
#: Real sample rows of the export, kept in the repository (see its README.md).
REAL_SAMPLE = REPO / "tests" / "fixtures" / "real_sample"
E2E_RECORDS = 20_000
#: `dbt build` arguments for the chain that loads, quarantines and accounts for
#: records (staging to customer_engagement, the audit and the quarantine), with
#: only the tests whose every parent is in it. Clustering is tested elsewhere.
LOAD_CHAIN = [
    "--select",
    "+customer_engagement",
    "+xdr_load_audit",
    "+xdr_quarantined_records",
    "--indirect-selection",
    "cautious",
]


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@dataclass(frozen=True)
class DbtWorkspace:
    """Where one test's dbt runs read and write."""

    root: Path
    build_db: Path

    def env(self, xdr_path: str | Path, **extra: str) -> dict[str, str]:
        return {
            "XDR_PATH": str(xdr_path),
            "XDR_BUILD_DB": str(self.build_db),
            "XDR_TEMP_DIR": str(self.root / "tmp"),
            "DBT_TARGET_PATH": str(self.root / "target"),
            "DBT_LOG_PATH": str(self.root / "logs"),
            **extra,
        }

    def dbt(self, args: list[str], xdr_path: str | Path, **extra: str) -> dbtRunnerResult:
        """Run one dbt command in-process from the repository root."""
        cwd = Path.cwd()
        os.chdir(REPO)
        try:
            with environment(**self.env(xdr_path, **extra)):
                return dbtRunner().invoke([*args, "--no-partial-parse", "--quiet"])
        finally:
            os.chdir(cwd)

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.build_db), read_only=True) as con:
            return con.sql(sql).fetchall()

    def df(self, sql: str):  # noqa: ANN201 - pandas DataFrame
        with duckdb.connect(str(self.build_db), read_only=True) as con:
            return con.sql(sql).df()


def new_workspace(root: Path) -> DbtWorkspace:
    root.mkdir(parents=True, exist_ok=True)
    return DbtWorkspace(root=root, build_db=root / "build.duckdb")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder of real sample files of the export (tests/fixtures/real_sample)."""
    return REAL_SAMPLE


@pytest.fixture
def workspace(tmp_path: Path) -> DbtWorkspace:
    """A fresh, empty dbt workspace for one test."""
    return new_workspace(tmp_path / "dbt")


@pytest.fixture(scope="session")
def generated_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated xDR file in the raw export format (20,000 records + summary row)."""
    from xdr_warehouse.generate import generate_xdr

    path = tmp_path_factory.mktemp("data") / "xdr.csv"
    generate_xdr(path, E2E_RECORDS, seed=7)
    return path


@pytest.fixture(scope="session")
def built_warehouse(generated_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> DbtWorkspace:
    """The warehouse after one successful `dbt build` on the generated file."""
    ws = new_workspace(tmp_path_factory.mktemp("warehouse"))
    result = ws.dbt(["build"], generated_csv)
    assert result.success, f"dbt build failed: {result.exception}"
    return ws
