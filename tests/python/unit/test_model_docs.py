"""The model documentation quotes the dbt vars' defaults as they are in dbt_project.yml."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]

#: ``var('name') (250,000)`` or ``var('share') (5 %)`` in a description.
QUOTED_VAR = re.compile(r"var\('(\w+)'\)\s+\((\d{1,3}(?:,\d{3})*(?:\.\d+)?)\s*(%?)\)")


def descriptions(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield value
            else:
                yield from descriptions(value)
    elif isinstance(node, list):
        for item in node:
            yield from descriptions(item)


def quoted_defaults() -> list[tuple[str, str, float]]:
    found = []
    for path in sorted((REPO / "models").rglob("*.yml")):
        for text in descriptions(yaml.safe_load(path.read_text())):
            for name, number, percent in QUOTED_VAR.findall(text):
                value = float(number.replace(",", "")) / (100 if percent else 1)
                found.append((path.name, name, value))
    return found


def test_the_docs_quote_some_defaults() -> None:
    assert {name for _, name, _ in quoted_defaults()} >= {"cluster_fit_sample_size", "top_n"}


@pytest.mark.parametrize(("file", "name", "quoted"), quoted_defaults())
def test_a_quoted_default_is_the_projects(file: str, name: str, quoted: float) -> None:
    project_vars = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    assert float(project_vars[name]) == pytest.approx(quoted), f"{file}: var('{name}')"
