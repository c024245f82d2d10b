"""One fast pass over a text export's bytes before the engine reads it.

The engines read a text export as lines (one row per line, split into fields
in SQL), which is exact only when every line is valid UTF-8, holds no byte the
line reader uses as its column separator (:data:`READER_SEPARATOR`) and is no
longer than :data:`MAX_LINE_BYTES`. This pass checks that at memory speed
(``bytes.isascii``, ``bytes.find``) and counts the lines, so that the build
can prove every line was read.

A file that fails a check is copied, line by line, into the landing folder:

- a line that is not UTF-8 is decoded as Windows-1252 (bytes that encoding
  leaves undefined become U+FFFD), so its text fields load and its metrics
  count; the line is noted ``text_reencoded``;
- the separator byte and NUL become U+FFFD, noted ``text_reencoded`` too;
- a line longer than :data:`MAX_LINE_BYTES` is replaced by an empty line and
  noted ``line_too_long`` with its length: the build quarantines it as
  ``malformed_line`` with that detail.

Every other line is copied as it is, so line numbers do not change.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

#: Lines up to this many bytes are read (the documented maximum; at least 8 MB).
MAX_LINE_BYTES = 16 * 1024 * 1024
#: The byte the line reader splits columns on: a line is one column, so it must not occur.
READER_SEPARATOR = b"\x1f"
#: Bytes that make a file go through the line-by-line copy.
ODD_BYTES = (READER_SEPARATOR, b"\x00")
CHUNK_BYTES = 8 * 1024 * 1024  # half of MAX_LINE_BYTES: a longer line spans a chunk with no \n
#: How much of a too-long line the quarantine keeps as its raw text.
RAW_TEXT_KEPT = 1000


@dataclass(frozen=True)
class LineNote:
    """Something the pre-scan did to one line (line 1 = the header)."""

    line_number: int
    note: str  # text_reencoded | line_too_long
    detail: str
    raw_text: str | None = None


@dataclass(frozen=True)
class TextScan:
    """What the pre-scan found: data lines, whether a cleaned copy is needed, notes."""

    data_lines: int
    needs_copy: bool
    notes: tuple[LineNote, ...] = field(default=())


def _open(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - closed by the caller's with-block


def _utf8_ok(chunk: bytes, tail: bytes) -> tuple[bool, bytes]:
    """Is ``tail + chunk`` valid UTF-8 so far? Returns the incomplete bytes at its end."""
    data = tail + chunk
    if data.isascii():
        return True, b""
    # a multi-byte character may be cut by the chunk boundary: keep up to 3 bytes back
    for cut in range(0, 4):
        try:
            data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError as err:
            if err.start < len(data) - 4:
                return False, b""
            continue
        return True, data[len(data) - cut :]
    return False, b""


def scan_text(path: Path) -> TextScan:
    """Count the lines of a text export and check its bytes; see the module doc."""
    newlines = 0
    last = b"\n"
    needs_copy = False
    tail = b""
    with _open(path) as handle:
        while chunk := handle.read(CHUNK_BYTES):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
            if needs_copy:
                continue
            ok, tail = _utf8_ok(chunk, tail)
            if (
                not ok
                or any(odd in chunk for odd in ODD_BYTES)
                or (len(chunk) == CHUNK_BYTES and b"\n" not in chunk)
            ):
                needs_copy = True
    if tail:
        needs_copy = True
    lines = newlines + (0 if last == b"\n" else 1)
    return TextScan(data_lines=max(lines - 1, 0), needs_copy=needs_copy)


def _lines(handle: BinaryIO) -> Iterator[tuple[bytes, int | None]]:
    """The file's lines with their ending; a too-long line as (its first bytes, its length)."""
    while line := handle.readline(MAX_LINE_BYTES + 1):
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line, None
            continue
        total = len(line)
        while piece := handle.readline(MAX_LINE_BYTES):  # skip to the end of the line
            total += len(piece)
            if piece.endswith(b"\n"):
                total -= 2 if piece.endswith(b"\r\n") else 1  # the line, without its ending
                break
        yield line[:RAW_TEXT_KEPT], total


def _decode(body: bytes) -> tuple[str, str | None]:
    """The line's text, and why it had to be changed (None when it is valid as it is)."""
    why = None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("cp1252", errors="replace")
        why = "not UTF-8: decoded as Windows-1252"
    if "\x1f" in text or "\x00" in text:
        text = text.replace("\x1f", "\ufffd").replace("\x00", "\ufffd")
        why = why or "control character replaced by U+FFFD"
    return text, why


def write_clean_copy(path: Path, target: Path, new_line: str) -> TextScan:
    """Copy a text export into ``target`` line by line, fixing what the reader cannot read."""
    notes: list[LineNote] = []
    tmp = target.with_name(target.name + ".tmp")
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with _open(path) as handle, open(tmp, "w", encoding="utf-8", newline="") as out:
        for count, (line, too_long) in enumerate(_lines(handle), start=1):  # noqa: B007
            if too_long is not None:
                notes.append(
                    LineNote(
                        count,
                        "line_too_long",
                        f"line longer than {MAX_LINE_BYTES:,} bytes ({too_long:,} bytes)",
                        line.decode("utf-8", errors="replace"),
                    )
                )
                out.write(new_line)
                continue
            text, why = _decode(line.rstrip(b"\r\n"))
            if why and count > 1:
                notes.append(LineNote(count, "text_reencoded", why))
            out.write(text + new_line)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    return TextScan(data_lines=max(count - 1, 0), needs_copy=True, notes=tuple(notes))
