"""One row per input file: checked header, column mapping, size and signature.

Thin dbt Python model: the work is in ``xdr_warehouse.ingest``. A missing file or
a missing required column stops the build here, before any record is read.
"""

from xdr_warehouse.ingest import inspect_inputs, manifest_table


def model(dbt, session):
    dbt.config(materialized="table")
    return manifest_table(inspect_inputs(dbt.config.get("xdr_path")))
