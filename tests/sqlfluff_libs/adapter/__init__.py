"""Stand-in for dbt's `adapter` object when sqlfluff renders models (lint only)."""


def quote(identifier: str) -> str:
    """Quote an identifier as dbt-duckdb does."""
    return f'"{identifier}"'
