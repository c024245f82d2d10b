"""Shared fixtures: settings for an isolated workspace, a generated xDR file, a built warehouse.

Every test that builds gets its own :class:`Workspace`: a Settings object whose
build database, landing folder, dbt target and log folders, BI file, Parquet
exports and report lie under pytest's tmp dir, so tests never touch the user's
warehouse/ and can run beside a developer's build. dbt runs in-process
(dbtRunner) from the repository root with those settings passed as --vars, as
``xdr`` does: no test sets an environment variable for it.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from xdr_warehouse import job
from xdr_warehouse.dbt_runner import close_duckdb, dbt_command
from xdr_warehouse.ingest import IngestResult
from xdr_warehouse.settings import Settings
from xdr_warehouse.sql import quote_identifier, quote_literal

from browser import driver  # noqa: F401 - the headless Chromium fixture of the browser tests

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
    "+tests/dbt/assert_every_line_of_every_file_was_read.sql",
    "--indirect-selection",
    "cautious",
]


def public_tables_in_yaml() -> tuple[str, ...]:
    """The models the YAML under models/ marks ``access: public`` (the BI contract), sorted.

    Read from the YAML itself, independently of the dbt manifest that publish uses.
    """
    import yaml

    names = set()
    for path in (REPO / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            if model.get("access") == "public":
                names.add(model["name"])
    return tuple(sorted(names))


#: The BI contract: every public table of the published file but publish_info.
PUBLIC_TABLES = public_tables_in_yaml()


def workspace_settings(root: Path, **overrides: Any) -> Settings:
    """Settings with every path under ``root`` (no environment read)."""
    overrides.setdefault("project_dir", REPO)
    return Settings.from_env(
        {},
        build_db=root / "build.duckdb",
        published_db=root / "engagement.duckdb",
        export_dir=root / "parquet",
        report_dir=root / "reports",
        landing_dir=root / "landing",
        temp_dir=root / "tmp",
        log_dir=root / "logs",
        target_path=root / "target",
        data_dir=root / "data",
        **overrides,
    )


@dataclass(frozen=True)
class Workspace:
    """Where one test's ingest, dbt runs, publish and report read and write."""

    root: Path
    settings: Settings

    @property
    def build_db(self) -> Path:
        return self.settings.build_db

    def with_input(self, xdr_path: str | Path | None) -> Settings:
        return replace(self.settings, input_path=None if xdr_path is None else str(xdr_path))

    def ingest(self, xdr_path: str | Path) -> IngestResult:
        """Land ``xdr_path`` in this workspace's raw layer (raises XdrInputError)."""
        return job.ingest(self.settings, str(xdr_path))

    def dbt(
        self, args: Sequence[str], xdr_path: str | Path | None = None, **variables: Any
    ) -> dbtRunnerResult:
        """Ingest ``xdr_path`` (when given), then run one dbt command in-process."""
        if xdr_path is not None:
            self.ingest(xdr_path)
        extra = ["--vars", repr(variables)] if variables else []
        words = 1 if args[0] != "docs" else 2  # the command, then its options
        command = dbt_command(self.settings, list(args[:words]), [*args[words:], *extra, "--quiet"])
        with contextlib.chdir(REPO), contextlib.redirect_stdout(io.StringIO()):
            try:
                return dbtRunner().invoke(command)
            finally:
                close_duckdb()  # dbt-duckdb keeps the database open (keep_open: true)

    def cli(self, argv: Sequence[str], xdr_path: str | Path | None) -> int:
        """``xdr ARGV`` with this workspace's settings and input; returns the exit code."""
        from xdr_warehouse import cli

        return cli.main(list(argv), settings=self.with_input(xdr_path))

    def connect(self, db: Path | None = None, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """``db``; by default the build database with the public marts' file attached,
        as dbt sees them (``marts.<table>`` names any mart)."""
        if db is None:
            return connect_build(self.settings, read_only=read_only)
        return duckdb.connect(str(db), read_only=read_only)

    def query(self, sql: str, db: Path | None = None) -> list[tuple]:
        with self.connect(db) as con:
            return con.execute(sql).fetchall()

    def df(self, sql: str, db: Path | None = None):  # noqa: ANN201 - pandas DataFrame
        with self.connect(db) as con:
            return con.execute(sql).df()


def connect_build(settings: Settings, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """The build database with the public marts' file attached as dbt sees them
    (catalog ``bi``): ``marts.<table>`` names a public table or a private mart."""
    con = duckdb.connect(str(settings.build_db), read_only=read_only)
    try:
        mode = " (read_only)" if read_only else ""
        if settings.marts_db.exists() or not read_only:
            con.execute(f"attach {quote_literal(str(settings.marts_db))} as bi{mode}")
            build = con.execute("select current_database()").fetchall()[0][0]
            schemas = con.execute(
                "select database_name, schema_name from duckdb_schemas()"
                " where schema_name = 'marts' and database_name in (?, 'bi')"
                " order by database_name = 'bi'",
                [build],
            ).fetchall()
            path = ",".join(
                f"{quote_identifier(d)}.{quote_identifier(s)}"
                for d, s in [(build, "main"), *schemas]
            )
            con.execute(f"set search_path = {quote_literal(path)}")
    except BaseException:
        con.close()
        raise
    return con


def new_workspace(root: Path, **overrides: Any) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    return Workspace(root=root, settings=workspace_settings(root, **overrides))


#: Where the Spark tests live: one pytest-xdist work unit (see pytest_xdist_make_scheduler).
SPARK_TESTS = "tests/python/spark/"


def work_unit(nodeid: str) -> str:
    """The pytest-xdist work unit of a test: ``spark`` or the test's module."""
    return "spark" if nodeid.startswith(SPARK_TESTS) else nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Spark tests first: the longest work unit of a parallel run starts first."""
    items.sort(key=lambda item: work_unit(item.nodeid) != "spark")  # stable


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist's scheduler: a module per work unit, every Spark test in one.

    A module's tests run in one worker, so that its module fixtures are built
    once (``--dist loadscope``). The Spark tests share one unit: a JVM hosts one
    SparkSession, and the run's session and the DuckDB job the Spark jobs are
    compared with are session fixtures. Units start in collection order, the
    Spark unit (about a third of the suite) first, and the other workers take
    the modules one by one meanwhile. (xdist's ``--dist loadgroup`` would do
    this with marks, but it renames ``item._nodeid``, which pytest 9.2 ignores.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrSparkScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ModuleOrSparkScheduling(config, log)


#: The old name, for tests written against it.
DbtWorkspace = Workspace


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder of real sample files of the export (tests/fixtures/real_sample)."""
    return REAL_SAMPLE


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh, empty workspace for one test."""
    return new_workspace(tmp_path / "ws")


@pytest.fixture(scope="session")
def generated_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated xDR file in the raw export format (20,000 records + summary row)."""
    from xdr_warehouse.generate import generate_xdr

    path = tmp_path_factory.mktemp("data") / "xdr.csv"
    generate_xdr(path, E2E_RECORDS, seed=7)
    return path


@pytest.fixture(scope="session")
def built_warehouse(generated_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The warehouse after one successful ingest + `dbt build` on the generated file."""
    ws = new_workspace(tmp_path_factory.mktemp("warehouse"))
    result = ws.dbt(["build"], generated_csv)
    assert result.success, f"dbt build failed: {result.exception}"
    return ws
