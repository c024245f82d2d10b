"""Stand-in for dbt's `adapter` object when sqlfluff renders models (lint only)."""

from collections.abc import Callable

#: Dispatched macros that return SQL snippets rather than a function call: their
#: DuckDB values (macros/cross_engine.sql, duckdb__xdr_line_columns and
#: duckdb__xdr_inline_cte).
SNIPPETS: dict[str, str | dict[str, str]] = {
    "xdr_inline_cte": "not materialized",
    "xdr_line_columns": {
        "number": "cast(null as bigint)",
        "detail": "quarantine_detail",
        "raw_line": "raw_line",
        "reencoded": "false",
        "joins": "",
    },
}


def quote(identifier: str) -> str:
    """Quote an identifier as dbt-duckdb does."""
    return f'"{identifier}"'


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    """An engine-specific macro as a plain SQL function call of the same name.

    sqlfluff lints the shared SQL; the dispatched macros hold the dialects and
    are linted by their own files. A string literal stays a string literal.
    """

    def render(*args: object) -> str | dict[str, str]:
        if macro_name in SNIPPETS:
            return SNIPPETS[macro_name]
        if macro_name.endswith("string_literal"):
            return "'" + str(args[0]).replace("'", "''") + "'"
        parts = [", ".join(map(str, a)) if isinstance(a, list | tuple) else str(a) for a in args]
        return f"{macro_name}({', '.join(parts)})"

    return render
