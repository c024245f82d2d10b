"""Atomic file operations: write beside, fsync, rename (or exchange) into place.

The publish step and the report replace what readers open (the BI file, the
Parquet ``current`` link, the report folder) only through these functions, so
that a reader sees the old version or the new one, never a half-written one,
and a failure or a kill at any point leaves the old version as it was:

- :func:`write_file` writes a file beside its target under a hidden temporary
  name, fsyncs it, renames it onto the target and fsyncs the folder;
- :func:`replace_folder` gives a new hidden folder beside the target to fill,
  fsyncs what was written and swaps it into place with :func:`swap_folder`
  (an atomic exchange where the kernel has one, else two renames that put the
  old folder back when the second fails);
- :func:`swap_symlink` points a symlink somewhere else with one atomic rename;
- :func:`move_into_place` renames a finished file or folder onto its name and
  fsyncs the folder, so the rename survives a crash.

Temporary names start with a dot and name the target (``.<name>.tmp-…``,
``.<name>.old-…``, ``.<link>.<target>.tmp``), so a caller can find and remove
what a killed process left behind. POSIX only; :func:`exchange` needs Linux's
``renameat2`` and says when it is not there.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: Mode of a file written by :func:`write_file` and of a folder made by
#: :func:`replace_folder` (``tempfile`` creates them 0600 and 0700).
FILE_MODE = 0o644
FOLDER_MODE = 0o755


def fsync(path: Path | str) -> None:
    """Flush a file or a folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Remove a file, symlink or folder if it exists."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def move_into_place(source: Path, target: Path) -> None:
    """Rename ``source`` onto ``target`` (atomic in one file system), then fsync the folder."""
    os.replace(source, target)
    fsync(target.parent)


def write_file(path: Path, content: str | bytes, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``content`` (str as UTF-8) so readers see the old or the new file.

    On any failure the temporary file is removed and ``path`` is unchanged.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        move_into_place(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_folder(new_dir: Path, target: Path) -> None:
    """Make ``new_dir`` the ``target`` folder; the old content is deleted afterwards.

    With an atomic exchange readers see the old folder or the new one. Without
    one the old folder is renamed aside (``.<name>.old-…``) and the new one
    renamed into place; when that second rename fails the old folder is put
    back and the error raised.
    """
    if not target.exists():
        os.rename(new_dir, target)
        return
    if exchange(new_dir, target):
        shutil.rmtree(new_dir, ignore_errors=True)  # now holds the old content
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(target, old)
    try:
        os.rename(new_dir, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder below ``folder``, the folder last."""
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in [*files, *dirs]:
            fsync(Path(root) / name)
    fsync(folder)


@contextlib.contextmanager
def replace_folder(target: Path, mode: int = FOLDER_MODE) -> Iterator[Path]:
    """Fill a new folder and swap it in as ``target`` when the block ends without error.

    Yields an empty hidden folder beside ``target`` (``.<name>.tmp-…``). When
    the block raises, or the fsync or the swap fails, that folder is removed
    and ``target`` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield temp
        temp.chmod(mode)
        fsync_tree(temp)
        swap_folder(temp, target)
        fsync(target.parent)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def temp_link(link: Path, target: Path | str) -> Path:
    """The temporary name :func:`swap_symlink` uses: ``.<link>.<target's name>.tmp``."""
    return link.with_name(f".{link.name}.{Path(target).name}.tmp")


def swap_symlink(link: Path, target: Path | str) -> None:
    """Point the symlink ``link`` at ``target`` (kept as given, e.g. relative) atomically.

    A new link is made under :func:`temp_link` and renamed onto ``link``; on a
    failure it is removed and ``link`` is unchanged.
    """
    temp = temp_link(link, target)
    temp.unlink(missing_ok=True)
    os.symlink(target, temp)
    try:
        move_into_place(temp, link)
    except BaseException:
        if temp.is_symlink():
            temp.unlink()
        raise
