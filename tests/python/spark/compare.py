"""Compare two published BI files table by table: what "equal to DuckDB" means for Spark.

Integers, texts, booleans and times exactly; doubles within a relative
tolerance (the engines add in different orders); the ranked lists row by row;
the quarantine reason by reason; cluster labels by the adjusted Rand index
(the ids must also cover the same customers); the schema (column names, types,
NOT NULL, comments) exactly. Fit times and ids of a build are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA = "marts"
RELATIVE = 1e-9
#: Columns that say when or where something ran, not what it computed.
RUN_COLUMNS = {"model_fitted_at", "cluster_model_id"}
#: Columns compared by the adjusted Rand index, not value by value.
LABEL_COLUMNS = {"customer_clusters": ("msisdn", "cluster_id")}


@dataclass
class Comparison:
    """The differences found (empty: equal)."""

    problems: list[str] = field(default_factory=list)
    adjusted_rand_index: float | None = None

    def add(self, text: str) -> None:
        self.problems.append(text)


def _schema(con: duckdb.DuckDBPyConnection, db: str) -> dict:
    tables = dict(
        con.execute(
            "select table_name, comment from duckdb_tables() where database_name = ? "
            "and schema_name = ?",
            [db, SCHEMA],
        ).fetchall()
    )
    columns = con.execute(
        "select table_name, column_name, data_type, is_nullable, comment from duckdb_columns() "
        "where database_name = ? and schema_name = ? order by table_name, column_index",
        [db, SCHEMA],
    ).fetchall()
    return {"tables": tables, "columns": columns}


def _frame(con: duckdb.DuckDBPyConnection, db: str, table: str) -> pd.DataFrame:
    """The table's rows; list cells as tuples, so that rows can be sorted and compared."""
    frame = con.execute(f'select * from {db}.{SCHEMA}."{table}"').df()
    for column in frame.columns:
        if frame[column].map(lambda v: hasattr(v, "tolist") and not isinstance(v, str)).any():
            frame[column] = frame[column].map(
                lambda v: tuple(v.tolist()) if hasattr(v, "tolist") else v
            )
    return frame


def _doubles(con: duckdb.DuckDBPyConnection, db: str, table: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = ? "
            "and table_name = ? and data_type in ('DOUBLE', 'FLOAT')",
            [db, SCHEMA, table],
        ).fetchall()
    }


def _same_double(a: object, b: object) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return math.isclose(float(a), float(b), rel_tol=RELATIVE, abs_tol=1e-12)


def _same(a: object, b: object) -> bool:
    if (isinstance(a, float) or isinstance(b, float)) and pd.isna(a) and pd.isna(b):
        return True
    if a is None or b is None or a is pd.NaT or b is pd.NaT:
        return (a is None or a is pd.NaT or pd.isna(a)) and (b is None or b is pd.NaT or pd.isna(b))
    if hasattr(a, "tolist") and hasattr(b, "tolist"):
        return list(a.tolist()) == list(b.tolist())
    return bool(a == b)


def adjusted_rand(left: pd.DataFrame, right: pd.DataFrame, key: str, label: str) -> float:
    from sklearn.metrics import adjusted_rand_score

    merged = left[[key, label]].merge(right[[key, label]], on=key, how="inner")
    if len(merged) == 0:
        return 1.0
    return float(adjusted_rand_score(merged[f"{label}_x"], merged[f"{label}_y"]))


def compare_published(duckdb_file: Path, spark_file: Path) -> Comparison:
    """Compare every public table of two published files (see the module doc)."""
    result = Comparison()
    con = duckdb.connect()
    con.execute(f"attach '{duckdb_file}' as d (read_only)")
    con.execute(f"attach '{spark_file}' as s (read_only)")
    schema_d, schema_s = _schema(con, "d"), _schema(con, "s")
    if schema_d != schema_s:
        for kind in ("tables", "columns"):
            left, right = schema_d[kind], schema_s[kind]
            if kind == "tables":
                diff = {k for k in set(left) | set(right) if left.get(k) != right.get(k)}
            else:
                diff = sorted(set(left) ^ set(right))
            result.add(f"schema {kind} differ: {sorted(diff)[:6]}")
    for table in sorted(schema_d["tables"]):
        if table == "publish_info" or table not in schema_s["tables"]:
            continue
        left, right = _frame(con, "d", table), _frame(con, "s", table)
        if len(left) != len(right):
            result.add(f"{table}: {len(left)} rows on DuckDB, {len(right)} on Spark")
            continue
        doubles = _doubles(con, "d", table)
        columns = [c for c in left.columns if c not in RUN_COLUMNS]
        if table in LABEL_COLUMNS:
            key, label = LABEL_COLUMNS[table]
            result.adjusted_rand_index = adjusted_rand(left, right, key, label)
            if set(left[key]) != set(right[key]):
                result.add(f"{table}: not the same customers")
            columns = [c for c in columns if c not in (label, "engagement_level")]
        order = [c for c in columns if c not in doubles]
        left = left.sort_values(order, kind="stable", ignore_index=True)
        right = right.sort_values(order, kind="stable", ignore_index=True)
        for column in columns:
            same = _same_double if column in doubles else _same
            bad = [
                i
                for i, (a, b) in enumerate(zip(left[column], right[column], strict=True))
                if not same(a, b)
            ]
            if bad:
                i = bad[0]
                result.add(
                    f"{table}.{column}: {len(bad)} rows differ, e.g. {left[column][i]!r} "
                    f"(DuckDB) != {right[column][i]!r} (Spark)"
                )
    return result
