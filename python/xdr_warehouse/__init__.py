"""Telecom xDR engagement warehouse: the Python side of the dbt + DuckDB project.

Modules:
- ``columns``: the raw xDR file's 55 columns (names as exported, aliases, kinds).
- ``generate``: a deterministic generator of xDR files in the raw format.
- ``ingest``: discovery and validation of input files for the staging layer.
- ``clustering``: engagement scaling, k-means and the elbow method.
- ``publish``: atomic publication of the BI database and Parquet exports.
- ``report``: the HTML/PNG report over the published marts.
- ``cli``: the ``xdr`` command (``python -m xdr_warehouse``).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
