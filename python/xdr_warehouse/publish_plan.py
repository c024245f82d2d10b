"""Which build the build database last ran, and which one the published file holds."""

from __future__ import annotations

import duckdb

from xdr_warehouse.publish import INFO_TABLE, SCHEMA
from xdr_warehouse.settings import Settings


def last_build_id(settings: Settings) -> str | None:
    """The invocation id of the build database's last dbt build."""
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        rows = con.execute(
            "select invocation_id from audit.dbt_builds order by finished_at desc limit 1"
        ).fetchall()
    return rows[0][0] if rows else None


def published_build(settings: Settings) -> str | None:
    """The build the published file holds (None: no file, or not one build's)."""
    try:
        with duckdb.connect(str(settings.published_db), read_only=True) as con:
            rows = con.execute(
                f"select distinct source_build_id from {SCHEMA}.{INFO_TABLE}"
            ).fetchall()
    except duckdb.Error:  # no file, or one written before builds were recorded
        return None
    return rows[0][0] if len(rows) == 1 else None
