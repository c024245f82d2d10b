"""Atomic file operations (python/xdr_warehouse/atomic.py): a reader sees the old or the
new file or folder, and a failure at any point leaves the old one as it was and no
temporary file behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from xdr_warehouse import atomic


def hidden(folder: Path) -> list[str]:
    """Temporary names (they start with a dot) left in a folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def disk_full(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def old_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    (folder / "charts").mkdir(parents=True)
    (folder / "report.html").write_text("old report")
    (folder / "charts" / "a.png").write_bytes(b"old chart")
    return folder


# --------------------------------------------------------------------------- fsync and remove


def test_fsync_takes_files_and_folders_and_fails_on_a_missing_path(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    atomic.fsync(tmp_path / "f")
    atomic.fsync(tmp_path)
    with pytest.raises(FileNotFoundError):
        atomic.fsync(tmp_path / "missing")


def test_remove_takes_files_folders_and_symlinks_without_following_them(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "inside").write_text("stays")
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(kept)
    for name in ("file", "folder", "link", "missing"):
        atomic.remove(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert (kept / "inside").read_text() == "stays"


# --------------------------------------------------------------------------- write_file


def test_write_file_replaces_the_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old")
    with open(path, encoding="utf-8") as reader:  # opened before the replace
        atomic.write_file(path, "new ✓")
        assert reader.read() == "old"  # an open reader keeps the old file
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(path.stat().st_mode) == atomic.FILE_MODE
    assert hidden(tmp_path) == []
    atomic.write_file(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"


@pytest.mark.parametrize("where", ["os.fsync", "move_into_place"])
def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    path = tmp_path / "report.html"
    path.write_text("old")
    if where == "os.fsync":
        monkeypatch.setattr(os, "fsync", disk_full)
    else:
        monkeypatch.setattr(atomic, "move_into_place", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_file(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_write_file_into_a_missing_folder_fails_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic.write_file(tmp_path / "missing" / "f.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_write_file_syncs_the_folder_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(atomic, "fsync", lambda path: synced.append(Path(path)))
    atomic.write_file(tmp_path / "f.txt", "x")
    assert synced == [tmp_path]


# --------------------------------------------------------------------------- folders


def test_exchange_swaps_two_paths_and_raises_for_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").mkdir()
    if not atomic.exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this kernel or file system has no RENAME_EXCHANGE")
    assert (tmp_path / "a").is_dir() and (tmp_path / "b").read_text() == "a"
    with pytest.raises(FileNotFoundError):
        atomic.exchange(tmp_path / "b", tmp_path / "missing")
    assert (tmp_path / "b").read_text() == "a"


@pytest.mark.parametrize("has_exchange", [True, False], ids=["exchange", "two-renames"])
def test_replace_folder_swaps_in_the_new_folder(
    old_folder: Path, monkeypatch: pytest.MonkeyPatch, has_exchange: bool
) -> None:
    exchanged: list[tuple[Path, Path]] = []
    real_exchange = atomic.exchange

    def exchange(a: Path, b: Path) -> bool:
        exchanged.append((a, b))
        return real_exchange(a, b) if has_exchange else False

    monkeypatch.setattr(atomic, "exchange", exchange)
    with atomic.replace_folder(old_folder) as new:
        assert new.parent == old_folder.parent and new.name.startswith(".reports.tmp-")
        (new / "report.html").write_text("new report")
        assert (old_folder / "report.html").read_text() == "old report"  # not yet
    assert exchanged == [(new, old_folder)]  # the atomic exchange is tried first
    assert snapshot(old_folder) == {"report.html": b"new report"}
    assert stat.S_IMODE(old_folder.stat().st_mode) == atomic.FOLDER_MODE
    assert hidden(old_folder.parent) == []


def test_replace_folder_creates_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "reports"
    with atomic.replace_folder(target) as new:
        (new / "f").write_text("x")
    assert snapshot(target) == {"f": b"x"}
    assert hidden(target.parent) == []


def test_replace_folder_syncs_what_was_written_before_the_swap(
    old_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_swap = atomic.swap_folder

    def swap(new_dir: Path, target: Path) -> None:
        synced.append("swap")
        real_swap(new_dir, target)

    monkeypatch.setattr(atomic, "fsync", lambda path: synced.append(Path(path).name))
    monkeypatch.setattr(atomic, "swap_folder", swap)
    with atomic.replace_folder(old_folder) as new:
        (new / "charts").mkdir()
        (new / "charts" / "a.png").write_bytes(b"png")
        (new / "report.html").write_text("new")
    assert set(synced[:3]) == {"a.png", "charts", "report.html"}
    assert synced[3].startswith(".reports.tmp-")  # the new folder itself
    assert synced[4:] == ["swap", old_folder.parent.name]


def test_failure_while_filling_the_new_folder_keeps_the_old_one(old_folder: Path) -> None:
    before = snapshot(old_folder)
    with (
        pytest.raises(RuntimeError, match="chart failed"),
        atomic.replace_folder(old_folder) as new,
    ):
        (new / "report.html").write_text("half")
        raise RuntimeError("chart failed")
    assert snapshot(old_folder) == before
    assert hidden(old_folder.parent) == []


@pytest.mark.parametrize("failing", ["fsync", "swap_folder"])
def test_failed_sync_or_swap_keeps_the_old_folder(
    old_folder: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    before = snapshot(old_folder)
    monkeypatch.setattr(atomic, failing, disk_full)
    with (
        pytest.raises(OSError, match="No space left"),
        atomic.replace_folder(old_folder) as new,
    ):
        (new / "report.html").write_text("new")
    assert snapshot(old_folder) == before
    assert hidden(old_folder.parent) == []


def test_swap_without_exchange_puts_the_old_folder_back_when_the_new_one_cannot_move(
    old_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(old_folder)
    new = old_folder.parent / ".reports.new"
    new.mkdir()
    (new / "report.html").write_text("new")
    real_rename = os.rename

    def rename(source: Path, target: Path) -> None:
        if Path(source) == new:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        real_rename(source, target)

    monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="cross-device"):
        atomic.swap_folder(new, old_folder)
    assert snapshot(old_folder) == before
    assert hidden(old_folder.parent) == [".reports.new"]  # the caller removes its folder


# --------------------------------------------------------------------------- symlinks


def test_swap_symlink_points_the_link_at_the_new_target(tmp_path: Path) -> None:
    (tmp_path / "releases" / "1").mkdir(parents=True)
    (tmp_path / "releases" / "2").mkdir()
    link = tmp_path / "current"
    atomic.swap_symlink(link, Path("releases") / "1")
    atomic.swap_symlink(link, Path("releases") / "2")
    assert os.readlink(link) == "releases/2"  # relative, as given
    assert link.resolve() == (tmp_path / "releases" / "2").resolve()
    assert hidden(tmp_path) == []
    assert atomic.temp_link(link, "releases/2") == tmp_path / ".current.2.tmp"


def test_failed_symlink_swap_keeps_the_old_link_and_no_temporary_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "current"
    atomic.swap_symlink(link, "releases/1")
    (tmp_path / ".current.2.tmp").symlink_to("left by a killed process")
    monkeypatch.setattr(atomic, "move_into_place", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic.swap_symlink(link, "releases/2")
    assert os.readlink(link) == "releases/1"
    assert hidden(tmp_path) == []
