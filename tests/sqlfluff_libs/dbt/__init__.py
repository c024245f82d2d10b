"""Stand-in for dbt's `dbt` macro namespace when sqlfluff renders models (lint only)."""


def string_literal(value: str) -> str:
    """Render a SQL string literal as dbt's default string_literal macro does."""
    escaped = value.replace("'", "''")
    return f"'{escaped}'"


def type_string() -> str:
    """dbt's cross-database string type, as on DuckDB."""
    return "varchar"
