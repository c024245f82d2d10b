"""A dbt-duckdb plugin: the raw layer exists whenever dbt opens the build database.

Listed under ``plugins`` of the ``dev`` output in profiles.yml. When dbt opens the
build database it creates the raw schema, tables and (empty) views that
``xdr ingest`` fills, if they are not there yet, so plain ``dbt build``, ``dbt
docs generate``, ``dbt compile`` and ``dbt ls`` work on a fresh clone before any
data was ingested (the marts are then empty, and ``on-run-start`` says how to
load data). The table definitions live in one place:
:mod:`xdr_warehouse.ingest.raw_duckdb`.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from xdr_warehouse.ingest.raw_duckdb import create_raw_layer


class Plugin(BasePlugin):
    """Creates the raw layer on the connection dbt opens."""

    def configure_connection(self, conn: Any) -> None:
        create_raw_layer(conn)
