"""Tests of the Spark engine (python/xdr_warehouse/spark), marked ``spark``.

A package, so that its conftest is imported as ``spark.conftest`` and never
takes the place of tests/python/conftest.py.
"""
