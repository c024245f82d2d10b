"""The ``spark`` engine: the SparkSession, a standalone cluster on this machine, the raw layer.

- :mod:`.session`: the process's SparkSession (loopback only; dbt-spark's
  ``method: session`` runs on it);
- :mod:`.cluster`: a Spark standalone master and two workers from the pip
  package's own scripts (``make spark-cluster``);
- :mod:`.raw`: ingest's raw layer as Spark tables, the counterpart of
  :mod:`xdr_warehouse.ingest.raw_duckdb`.
"""
