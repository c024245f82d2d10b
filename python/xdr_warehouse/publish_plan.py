"""Plan a publish: copy every table, or apply what changed to a copy of the published file.

Every passing build of the whole project logs the customers it changed
(``audit.customer_changes``, on-run-end macro xdr_record_build). When the
published file holds an earlier build of the same build database, and no build
since was a full one, ``xdr publish`` applies the customers changed since to a
copy of the published file (:class:`~xdr_warehouse.publish.PublishDelta`)
instead of copying every row: its cost follows the change, not the warehouse.
Anything else (first publish, a full build, an unknown or old published file)
publishes every table.
"""

from __future__ import annotations

import duckdb

from xdr_warehouse.dbt_runner import publish_keys
from xdr_warehouse.publish import INFO_TABLE, SCHEMA, PublishDelta
from xdr_warehouse.settings import Settings
from xdr_warehouse.sql import quote_identifier, quote_literal


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


def _distinct(database: str, table: str, column: str, con: duckdb.DuckDBPyConnection) -> set:
    return {
        value
        for (value,) in con.execute(
            f"select distinct {quote_identifier(column)} from "
            f"{database}.{SCHEMA}.{quote_identifier(table)}"
        ).fetchall()
    }


def plan_delta(settings: Settings) -> PublishDelta | None:
    """The changes to apply to the published file, or None to publish every table."""
    if not settings.published_db.exists():
        return None
    base = published_build(settings)
    if base is None:
        return None
    keyed = publish_keys(settings)
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        builds = con.execute(
            "select invocation_id, passed, whole_project, full_build from audit.dbt_builds"
            " order by finished_at"
        ).fetchall()
        ids = [b[0] for b in builds]
        if base not in ids:
            return None
        since = [b for b in builds[ids.index(base) + 1 :] if b[1] and b[2]]
        last = builds[-1]
        if not (last[1] and last[2]) or any(b[3] for b in since):
            return None
        changed = [
            msisdn
            for (msisdn,) in con.execute(
                "select distinct msisdn from audit.customer_changes"
                " where list_contains(?, invocation_id)",
                [[b[0] for b in since]],
            ).fetchall()
        ]
        con.execute(f"attach {quote_literal(str(settings.published_db))} as published (read_only)")
        replace = frozenset(
            name
            for name, (_, whole_when) in keyed.items()
            if whole_when
            and _distinct("published", name, whole_when, con)
            != _distinct(_build_name(con), name, whole_when, con)
        )
    return PublishDelta(
        base_build_id=base,
        keys={name: key for name, (key, _) in keyed.items()},
        changed=changed,
        replace=replace,
    )


def _build_name(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchall()[0][0]
