"""The project's vocabularies, read from the dbt seeds that hold them.

Each vocabulary has one home: its keys in a dbt macro (``macros/xdr_columns.sql``,
which writes the SQL) and its words in a seed (``seeds/*.csv``); dbt tests check
that the two agree. The Python side (report, dashboard) reads the seeds here,
so a new quarantine reason or a renamed metric is written once.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: The dbt project's seed folder (the package is installed from the repository).
SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary: its key, a title and the words for a sentence."""

    key: str
    label: str
    phrase: str


def _rows(name: str) -> list[dict[str, str]]:
    path = SEEDS / f"{name}.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def quarantine_reasons() -> tuple[Term, ...]:
    """The quarantine reasons in the order the checks apply."""
    rows = sorted(_rows("quarantine_reasons"), key=lambda r: int(r["check_order"]))
    return tuple(Term(r["quarantine_reason"], r["label"], r["phrase"]) for r in rows)


@cache
def engagement_metrics() -> tuple[Term, ...]:
    """The engagement metrics in display order."""
    rows = sorted(_rows("engagement_metrics"), key=lambda r: int(r["display_order"]))
    return tuple(Term(r["metric"], r["label"], r["phrase"]) for r in rows)


@cache
def metric_columns() -> dict[str, str]:
    """customer_engagement column of each engagement metric."""
    return {r["metric"]: r["column_name"] for r in _rows("engagement_metrics")}


@cache
def applications() -> tuple[tuple[str, str], ...]:
    """(application_key, display name) of the seven applications, in export order."""
    rows = sorted(_rows("applications"), key=lambda r: int(r["display_order"]))
    return tuple((r["application_key"], r["application"]) for r in rows)
