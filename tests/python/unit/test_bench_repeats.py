"""The benchmark's repeated runs: the tables show the median run of each side, never
hide a failed run, and list every run (bench/run_bench.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import run_bench  # noqa: E402


def run(wall_s: float, ok: bool = True) -> dict:
    return {"ok": ok, "wall_s": wall_s}


@pytest.mark.parametrize(
    ("walls", "median"),
    [([30.0, 10.0, 20.0], 20.0), ([10.0, 40.0], 10.0), ([25.0], 25.0), ([5.0, 9.0, 7.0, 6.0], 6.0)],
)
def test_the_median_run_is_the_middle_one_by_wall_time(walls: list[float], median: float) -> None:
    assert run_bench.median_run([run(w) for w in walls])["wall_s"] == median


def test_a_failed_run_is_shown_even_when_the_others_passed() -> None:
    chosen = run_bench.median_run([run(10.0), run(99.0, ok=False), run(12.0)])
    assert chosen["ok"] is False
    assert chosen["wall_s"] == 99.0


def test_a_size_run_once_has_no_repeats_entry() -> None:
    assert run_bench.repeated_runs([run(10.0)], [run(20.0)]) is None
    assert run_bench.repeated_runs([run(10.0)], []) is None


def test_the_repeats_table_lists_every_run_and_the_ratio_of_the_medians() -> None:
    wh = [run(22.0), run(18.0), run(30.0)]
    nb = [run(20.0), run(16.0), run(24.0)]
    size = {
        "records": 150_000,
        "format": "csv",
        "warehouse": run_bench.median_run(wh),
        "notebook": run_bench.median_run(nb),
        "repeats": run_bench.repeated_runs(wh, nb),
    }
    lines = run_bench.repeats_markdown({"sizes": [size, {"records": 10, "format": "csv"}]})

    rows = [line for line in lines if line.startswith("| 150,000")]
    assert rows == [
        "| 150,000 | csv | 22.0, 18.0, 30.0 s | 20.0, 16.0, 24.0 s | 1.10 | 1.10-1.25 |"
    ]
    assert not any(line.startswith("| 10 ") for line in lines)
    assert run_bench.repeats_markdown({"sizes": [{"records": 10, "format": "csv"}]}) == []
