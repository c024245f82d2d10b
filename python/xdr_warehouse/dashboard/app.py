"""The dashboard's Streamlit script: ``make dashboard`` runs it.

    streamlit run python/xdr_warehouse/dashboard/app.py -- --published-db PATH

Streamlit runs this file again for every interaction. The published file is
opened once per server process (``st.cache_resource``) and re-opened by
:class:`~xdr_warehouse.dashboard.queries.PublishedWarehouse` after a publish;
each run draws the page picked in the sidebar from one publish. With no
published file, the page says so and how to make one instead of failing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import streamlit as st

from xdr_warehouse.dashboard.queries import PublishedWarehouse, WarehouseUnavailableError
from xdr_warehouse.dashboard.views import choose_page
from xdr_warehouse.settings import Settings

APP_TITLE = "Customer engagement"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The script's own arguments (those after ``--`` on the streamlit command line)."""
    parser = argparse.ArgumentParser(
        prog="streamlit run app.py --", description="Customer-engagement dashboard."
    )
    parser.add_argument(
        "--published-db",
        type=Path,
        default=None,
        help="published DuckDB file, opened read-only (default: the settings', XDR_PUBLISHED_DB)",
    )
    return parser.parse_args(list(argv))


@st.cache_resource(show_spinner=False)
def published_warehouse(path: str) -> PublishedWarehouse:
    """One reader of the published file per server process, shared by all sessions."""
    return PublishedWarehouse(Path(path))


def main(argv: Sequence[str]) -> None:
    """Draw the page picked in the sidebar from the published file named in ``argv``."""
    path = (
        (parse_args(argv).published_db or Settings.from_env().published_db).expanduser().resolve()
    )
    page = choose_page()
    st.set_page_config(page_title=f"{page.title} · {APP_TITLE}", layout="wide")
    st.sidebar.caption(f"{APP_TITLE} dashboard, reading {path} (read-only).")
    st.title(page.title)
    try:
        with published_warehouse(str(path)).snapshot() as marts:
            page.render(marts)
    except WarehouseUnavailableError as problem:
        st.warning(str(problem))
    except duckdb.Error as error:
        st.error(
            f"Could not read {path}: {str(error).splitlines()[0]} "
            "(the dashboard reads the BI contract v2 tables of schema marts)."
        )


if __name__ == "__main__":
    main(sys.argv[1:])
