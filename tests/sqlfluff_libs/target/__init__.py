"""Stand-in for dbt's ``target`` when sqlfluff renders the Jinja (the DuckDB build)."""

type = "duckdb"  # noqa: A001 - dbt's attribute name
name = "dev"
