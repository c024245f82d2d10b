"""Unit tests of the generator's modules, each on its own (fast; no file is written).

``test_generate.py`` checks the files end to end; these pin the contracts between the
modules: primitives are bijective and deterministic, a block depends only on the seed and
its index, the formats agree with each other, the helper schedule covers every lane.
"""

from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
import pytest

from xdr_warehouse.columns import RAW_NAMES
from xdr_warehouse.generate import formats, parallel, primitives, records, tables, writers
from xdr_warehouse.generate.model import APP_COLUMNS, RTT_DL


@pytest.fixture(scope="module")
def model() -> tables.Model:
    """Tables for a file of two blocks (the second one short)."""
    return tables.Model.build(records.BLOCK_SIZE + 1000, 11)


def test_permute_is_a_keyed_bijection() -> None:
    x = np.arange(1000)
    a = primitives.permute(x, 1000, primitives.derive_salt(1, "t"))
    b = primitives.permute(x, 1000, primitives.derive_salt(2, "t"))
    assert sorted(a) == list(range(1000)) and sorted(b) == list(range(1000))
    assert (a != b).any()


def test_hash_uniform_is_deterministic_and_in_range() -> None:
    keys = np.arange(10_000)
    salt = primitives.derive_salt(3, "t")
    u = primitives.hash_uniform(keys, salt)
    assert ((u >= 0) & (u < 1)).all() and abs(u.mean() - 0.5) < 0.01
    np.testing.assert_array_equal(u, primitives.hash_uniform(keys, salt))


def test_quantile_map_stays_within_the_curve() -> None:
    values = primitives.quantile_map(np.array([0.0, 0.5, 1.0]), RTT_DL)
    # floor after the log1p/expm1 round trip may land one below the top knot
    assert values[0] == RTT_DL[0][1] and RTT_DL[-1][1] - 1 <= values[-1] <= RTT_DL[-1][1]
    assert values[0] <= values[1] <= values[2]


def test_arrow_keeps_values_and_nulls() -> None:
    column = primitives.arrow(np.array([1, 2, 3]), np.array([False, True, False]))
    assert column.type == pa.int64() and column.to_pylist() == [1, None, 3]


def test_a_block_depends_only_on_the_seed_and_its_index(model: tables.Model) -> None:
    assert records.block_count(model) == 2
    again = tables.Model.build(model.n_records, model.seed)
    first, second = records.generate_block(model, 1), records.generate_block(again, 1)
    assert first.start_ms.size == 1000
    assert first.ints.keys() == second.ints.keys()
    for name in first.ints:
        np.testing.assert_array_equal(first.ints[name], second.ints[name], name)


def test_block_app_sums(model: tables.Model) -> None:
    block = records.generate_block(model, 1)
    sums = block.app_sums()
    assert list(sums) == list(APP_COLUMNS)
    assert sums["Gaming DL (Bytes)"] == int(block.ints["Gaming DL (Bytes)"].sum())


def test_csv_and_parquet_tasks_hold_the_same_block(model: tables.Model) -> None:
    text, sums = formats.TASKS["csv"](model, 1, False)
    table, table_sums = formats.TASKS["parquet"](model, 1, False)
    assert sums == table_sums
    lines = bytes(text).split(b"\n")
    assert lines[0] == b"" and len(lines) == 1001, "each row is preceded by a newline"
    assert table.num_rows == 1000 and table.schema.names == list(RAW_NAMES)
    first = lines[1].decode().split(",")
    row = table.slice(0, 1).to_pylist()[0]
    assert first[RAW_NAMES.index("Start")] == row["Start"]
    assert float(first[RAW_NAMES.index("Total DL (Bytes)")]) == row["Total DL (Bytes)"]


def test_gzip_task_is_the_csv_task_compressed(model: tables.Model) -> None:
    text, _ = formats.TASKS["csv"](model, 1, False)
    member, _ = formats.TASKS["csv"](model, 1, True)
    assert gzip.decompress(member) == bytes(text)


def test_xlsx_columns_match_the_csv(model: tables.Model) -> None:
    columns = formats.xlsx_columns(model, records.generate_block(model, 1))
    assert len(columns) == len(RAW_NAMES) and {len(c) for c in columns} == {1000}
    text, _ = formats.TASKS["csv"](model, 1, False)
    first = bytes(text).split(b"\n")[1].decode().split(",")
    total = RAW_NAMES.index("Total UL (Bytes)")
    assert columns[total][0] == int(first[total])


@pytest.mark.parametrize(
    ("kind", "compress", "cycle"),
    [("csv", False, (0, 1, 0, 1, 1)), ("csv", True, (0, 1)), ("parquet", False, (1,))],
)
def test_schedule_shares_blocks_with_the_helper(
    kind: str, compress: bool, cycle: tuple[int, ...]
) -> None:
    assert parallel._schedule(1, kind, compress) == (0,)
    assert parallel._schedule(2, kind, compress) == cycle


def test_payloads_survive_the_helper_pipe(model: tables.Model) -> None:
    table, _ = formats.TASKS["parquet"](model, 1, False)
    assert parallel._decode("parquet", parallel._encode(table)).equals(table)
    text, _ = formats.TASKS["csv"](model, 1, False)
    assert parallel._decode("csv", parallel._encode(text)) == text


def test_summary_means_print_like_excel() -> None:
    means = writers._summary_means(dict.fromkeys(APP_COLUMNS, 10), 4)
    assert set(means.values()) == {2.5}
    assert writers._format_mean(1 / 3) == "0.333333333333333"
    assert writers._format_mean(1e16 / 3) == "3333333333333330"
    row = writers._summary_csv(means).decode()
    assert row.startswith("\n") and row.count(",") == len(RAW_NAMES) - 1
