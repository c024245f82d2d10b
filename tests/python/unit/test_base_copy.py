"""The published file copied while dbt builds, for the incremental publish (base_copy)."""

from __future__ import annotations

import os
import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from xdr_warehouse import base_copy
from xdr_warehouse.base_copy import BaseCopy, base_copy_path
from xdr_warehouse.publish import remove_stale_files

CONTENT = os.urandom(3 * 1024 * 1024)


def _published(tmp_path: Path, content: bytes = CONTENT) -> Path:
    path = tmp_path / "engagement.duckdb"
    path.write_bytes(content)
    path.chmod(0o444)
    return path


def test_the_copy_is_handed_over_when_the_published_file_did_not_change(tmp_path: Path) -> None:
    published = _published(tmp_path)
    copy = BaseCopy.start_if_useful(published)
    assert copy is not None
    taken = copy.take()
    assert taken == base_copy_path(published) and taken.read_bytes() == CONTENT
    assert taken.stat().st_mode & 0o200  # writable: the publish patches it
    copy.discard()  # taken: the caller owns it now
    assert taken.exists()


def test_the_copy_is_dropped_when_another_publish_replaced_the_file(tmp_path: Path) -> None:
    published = _published(tmp_path)
    copy = BaseCopy.start_if_useful(published)
    assert copy is not None
    copy.join()
    newer = tmp_path / "newer.duckdb"
    newer.write_bytes(CONTENT[::-1])
    os.replace(newer, published)  # what a publish does
    assert copy.take() is None
    assert not base_copy_path(published).exists()


def test_an_unused_copy_is_removed(tmp_path: Path) -> None:
    published = _published(tmp_path)
    copy = BaseCopy.start_if_useful(published)
    assert copy is not None
    copy.discard()
    assert not base_copy_path(published).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engagement.duckdb"]


def test_discard_stops_a_copy_in_progress_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = _published(tmp_path)
    monkeypatch.setattr(base_copy, "CHUNK_BYTES", 1)  # 3M pieces: still copying when stopped
    copy = BaseCopy.start_if_useful(published)
    assert copy is not None
    copy.discard()
    assert copy.error == "stopped" and copy.take() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engagement.duckdb"]


def test_the_copy_in_pieces_is_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = _published(tmp_path)
    monkeypatch.setattr(base_copy, "CHUNK_BYTES", 1024 * 1024 - 1)  # the last piece is short
    copy = BaseCopy.start_if_useful(published)
    assert copy is not None
    taken = copy.take()
    assert taken is not None and taken.read_bytes() == CONTENT


def test_no_copy_without_a_published_file_or_room_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert BaseCopy.start_if_useful(tmp_path / "engagement.duckdb") is None
    published = _published(tmp_path)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**9, 0, 2 * len(CONTENT)))
    assert BaseCopy.start_if_useful(published) is None
    assert not base_copy_path(published).exists()


def test_a_copy_that_fails_is_not_handed_over(tmp_path: Path) -> None:
    published = _published(tmp_path)
    copy = BaseCopy(published)
    copy.source = tmp_path / "missing.duckdb"  # gone before the copy starts
    copy._copy()
    assert copy.take() is None and copy.error
    assert not base_copy_path(published).exists()


def test_stale_publish_files_are_removed_except_this_runs_copy(tmp_path: Path) -> None:
    published = _published(tmp_path)
    mine = base_copy_path(published)
    left = tmp_path / f".{published.name}.publish-base-1.tmp"  # a killed run's copy
    for path in (mine, left):
        path.write_bytes(b"x")
    removed = remove_stale_files(published, tmp_path / "parquet", keep=mine)
    assert removed == [left] and mine.exists() and not left.exists()
    assert remove_stale_files(published, tmp_path / "parquet") == [mine]
