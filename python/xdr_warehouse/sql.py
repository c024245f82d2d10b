"""The one place where text becomes part of SQL.

Values from outside (file paths, header names, field text, settings) never reach
SQL by string formatting: they are bound parameters (``?``) wherever DuckDB or
Spark takes one. The few places that cannot take a parameter (a path inside a
``create view`` statement, an identifier) call these functions, which quote
any text, quotes, backslashes, semicolons, ``--``, newlines and Unicode
included, so that it is always read back as exactly one literal or name
(tests/python/unit/test_sql.py checks that with Hypothesis).
"""

from __future__ import annotations


def quote_literal(text: str) -> str:
    """``text`` as one SQL string literal (single quotes doubled)."""
    if "\x00" in text:
        raise ValueError("a SQL literal cannot hold a NUL character")
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """``name`` as one quoted SQL identifier (double quotes doubled)."""
    if "\x00" in name:
        raise ValueError("a SQL identifier cannot hold a NUL character")
    return '"' + name.replace('"', '""') + '"'


def quote_spark_identifier(name: str) -> str:
    """``name`` as one quoted Spark SQL identifier (backticks doubled)."""
    if "\x00" in name:
        raise ValueError("a SQL identifier cannot hold a NUL character")
    return "`" + name.replace("`", "``") + "`"
