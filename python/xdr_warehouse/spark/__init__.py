"""The ``spark`` engine.

- :mod:`.session`: the process's SparkSession (loopback only; dbt-spark's
  ``method: session`` runs on it);
- :mod:`.raw`: ingest's raw layer as Spark tables, the counterpart of
  :mod:`xdr_warehouse.ingest.raw_duckdb`.
"""
