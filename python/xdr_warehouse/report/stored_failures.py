"""Rows stored by the warning-level dbt tests, counted in the build database.

The warning-level tests that set ``store_failures: true`` (e.g. the identity
tests of int_sessions in models/intermediate/_int__models.yml) keep their
failing rows in tables of schema ``test_failures`` of the private build
database; the published file does not hold them. The report's data-quality
section lists each table with its row count and the command that shows the
rows, so :func:`read_stored_failures` opens the build database read-only and
counts them.

This is the one thing the report reads besides the published file, and it is
optional: without a build database, or without the schema, there is nothing to
list; a build database that cannot be read (e.g. locked by a running dbt build)
is logged and skipped, and never stops the report.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import duckdb

from xdr_warehouse.sql import quote_identifier

log = logging.getLogger(__name__)

SCHEMA = "test_failures"
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _sql_name(name: str) -> str:
    return name if _PLAIN_NAME.fullmatch(name) else quote_identifier(name)


def shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it lies below it (as `xdr` and `make`
    run from the project folder), else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


@dataclass(frozen=True)
class StoredFailures:
    """One table of schema test_failures: its name and how many rows it holds."""

    build_db: Path
    name: str
    rows: int

    @property
    def table(self) -> str:
        """``test_failures.<name>``, as an analyst writes it in SQL."""
        return f"{SCHEMA}.{_sql_name(self.name)}"

    @property
    def command(self) -> str:
        """The shell command that lists the stored rows, read-only."""
        sql = f"select * from {self.table}"
        quoted_sql = f'"{sql}"' if _PLAIN_NAME.fullmatch(self.name) else shlex.quote(sql)
        return f"duckdb -readonly {shlex.quote(shown_path(self.build_db))} -c {quoted_sql}"


def read_stored_failures(build_db: Path | None) -> tuple[StoredFailures, ...]:
    """Every table of schema test_failures in ``build_db`` with its row count, by name.

    Empty when ``build_db`` is None, missing or has no such schema; a build
    database that cannot be opened or read is logged and gives an empty result.
    """
    if build_db is None or not Path(build_db).is_file():
        return ()
    build_db = Path(build_db)
    try:
        con = duckdb.connect(str(build_db), read_only=True)
    except duckdb.Error as err:
        log.warning("stored test failures not counted: cannot open %s read-only: %s", build_db, err)
        return ()
    try:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name",
                [SCHEMA],
            ).fetchall()
        ]
        return tuple(
            StoredFailures(
                build_db,
                name,
                int(
                    con.execute(
                        f"select count(*) from {quote_identifier(SCHEMA)}.{quote_identifier(name)}"
                    ).fetchone()[0]
                ),
            )
            for name in names
        )
    except duckdb.Error as err:
        log.warning("stored test failures not counted: cannot read %s: %s", build_db, err)
        return ()
    finally:
        con.close()
