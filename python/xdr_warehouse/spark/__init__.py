"""The ``spark`` engine.

- :mod:`.session`: the process's SparkSession (loopback only; dbt-spark's
  ``method: session`` runs on it).
"""
