"""A copy of the published BI file, made while dbt builds, for the incremental publish.

An incremental publish patches a copy of the published file, so that readers keep
the old one until the atomic rename (:func:`xdr_warehouse.publish.write_database_incremental`).
Copying it took 3.4-4.4 s of a 25 s daily publish at 10M records (1.2 GB), and
grows with the warehouse (about 11 GB at 100M records). ``xdr run`` starts the
copy in a background thread before dbt starts (``os.sendfile`` runs in the
kernel, without Python's lock; in 64 MB pieces, so that a failed build or
Ctrl+C stops it at once) and the publish takes it instead of copying.

The copy is used only when the published file is still the one copied: the same
inode, size and modification time before and after copying, and again under the
publish lock (publishes replace the file by a rename and never write it in
place). Otherwise, or when the publish is a full one, it is removed and the
publish works as before. It is named like the publish's other temporary files,
so a publish removes it as stale if a killed run left it behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from xdr_warehouse import atomic
from xdr_warehouse.publish import temp_prefix

log = logging.getLogger(__name__)

#: Start the copy only when the disk keeps at least this many times the file's size free.
FREE_SPACE_FACTOR = 3

#: The copy goes in pieces of this size, so that a failed build or Ctrl+C stops it at once.
CHUNK_BYTES = 64 * 1024 * 1024


class _CopyStoppedError(Exception):
    """The copy was stopped before it finished (:meth:`BaseCopy.discard`)."""


def copy_file(source: Path, target: Path, stop: threading.Event) -> None:
    """Copy ``source`` to ``target`` in the kernel (``os.sendfile``), checking ``stop``
    between pieces; raise :class:`_CopyStoppedError` when it is set."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        size = os.fstat(src.fileno()).st_size
        offset = 0
        while offset < size:
            if stop.is_set():
                raise _CopyStoppedError
            sent = os.sendfile(dst.fileno(), src.fileno(), offset, min(CHUNK_BYTES, size - offset))
            if sent == 0:  # the file shrank: the stamps will differ
                break
            offset += sent


@dataclass(frozen=True)
class FileStamp:
    """What changes when a file is replaced or written: inode, size, modification time."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return cls(stat.st_ino, stat.st_size, stat.st_mtime_ns)


def base_copy_path(published_db: Path) -> Path:
    """Where the copy is made: a publish temporary file of this process."""
    return published_db.with_name(f"{temp_prefix(published_db)}base-{os.getpid()}.tmp")


class BaseCopy:
    """Copy ``published_db`` in a background thread; :meth:`take` hands the copy over."""

    def __init__(self, published_db: Path) -> None:
        self.source = published_db
        self.path = base_copy_path(published_db)
        self.stamp: FileStamp | None = None
        self.error: str | None = None
        self._taken = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start_if_useful(cls, published_db: Path) -> BaseCopy | None:
        """Start copying when there is a published file and room for a copy, else None."""
        stamp = FileStamp.of(published_db)
        if stamp is None:
            return None
        try:
            free = shutil.disk_usage(published_db.parent).free
        except OSError:
            return None
        if free < FREE_SPACE_FACTOR * stamp.size:
            log.info("no early copy of %s: %d bytes free", published_db, free)
            return None
        copy = cls(published_db)
        copy._thread = threading.Thread(target=copy._copy, name="xdr-base-copy", daemon=True)
        copy._thread.start()
        return copy

    def _copy(self) -> None:
        start = time.perf_counter()
        try:
            before = FileStamp.of(self.source)
            copy_file(self.source, self.path, self._stop)
            os.chmod(self.path, 0o644)
            after = FileStamp.of(self.source)
        except _CopyStoppedError:
            self.error = "stopped"
            atomic.remove(self.path)
            return
        except OSError as err:
            self.error = str(err)
            atomic.remove(self.path)
            return
        if before is None or before != after:
            self.error = "the published file changed while it was copied"
            atomic.remove(self.path)
            return
        self.stamp = before
        seconds = time.perf_counter() - start
        log.info("copied %s for the publish while dbt built, in %.1f s", self.source, seconds)

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def take(self) -> Path | None:
        """The finished copy, if the published file is still the one copied; else None.

        Call it while holding the publish lock. The caller then owns the file.
        """
        self.join()
        if self.stamp is None:
            log.info("early copy of %s not used: %s", self.source, self.error)
            return None
        if FileStamp.of(self.source) != self.stamp or FileStamp.of(self.path) is None:
            log.info("early copy of %s not used: the published file changed", self.source)
            atomic.remove(self.path)
            return None
        self._taken = True
        return self.path

    def discard(self) -> None:
        """Stop the copy (after the piece in progress) and remove it, unless it was taken."""
        self._stop.set()
        self.join()
        if not self._taken:
            atomic.remove(self.path)
