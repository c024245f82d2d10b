"""Tests of the dashboard (python/xdr_warehouse/dashboard).

A package, so that its conftest is imported as ``dashboard.conftest`` and never
takes the place of tests/python/conftest.py, which other tests import as
``conftest``.
"""
