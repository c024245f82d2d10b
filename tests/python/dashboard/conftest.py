"""Fixtures of the dashboard tests: published files that follow BI contract v2.

The files are built by dashboard_fixture (DuckDB SQL, no dbt), so these tests
do not depend on the pipeline's table names. ``expected`` answers a query on a
file with a connection of its own, closed at once: the independent side of the
comparisons (and a connection left open would keep DuckDB's instance of the
file alive in this process, see queries.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from .dashboard_fixture import FixturePublish, build_fixture_warehouse

REPO = Path(__file__).resolve().parents[3]
APP = REPO / "python" / "xdr_warehouse" / "dashboard" / "app.py"
APP_TIMEOUT = 30
#: A second publish, different in every figure the pages show.
SECOND_PUBLISH = FixturePublish(
    customers=250,
    seed=11,
    publish_id="20260116T090000Z",
    published_at_utc=FixturePublish().published_at_utc.replace(day=16, hour=9, minute=0),
    engine="spark",
    unattributed_sessions=6,
)


def expected(db: Path, sql: str, parameters: Sequence[object] = ()) -> pd.DataFrame:
    """The rows of one query on ``db``, read on a connection of the test's own."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(parameters)).df()


@pytest.fixture(scope="session", params=["fixture", "pipeline"])
def published_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published file, shared by read-only tests: the hand-made fixture publish (300
    customers), and the file the publish step writes from a real build (20,000
    generated records, built by dbt)."""
    folder = tmp_path_factory.mktemp("published")
    if request.param == "fixture":
        return build_fixture_warehouse(folder / "engagement.duckdb")
    from xdr_warehouse.publish import publish

    from conftest import PUBLIC_TABLES

    built = request.getfixturevalue("built_warehouse")
    publish(
        built.settings.marts_db, folder / "engagement.duckdb", folder / "parquet", PUBLIC_TABLES
    )
    return folder / "engagement.duckdb"


@pytest.fixture
def start_app(published_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Run app.py under AppTest as ``streamlit run app.py -- --published-db DB`` would.

    Streamlit passes the script's arguments in sys.argv, so the test sets it.
    ``page`` opens a page by its ``?page=`` slug.
    """

    def start(db: Path = published_db, page: str | None = None) -> AppTest:
        monkeypatch.setattr(sys, "argv", [str(APP), "--published-db", str(db)])
        app = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
        if page is not None:
            app.query_params["page"] = page
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    return start
