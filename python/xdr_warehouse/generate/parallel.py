"""Sharing a file's blocks between this process and helper processes.

``map_blocks`` is what the writers iterate: every block's payload and app byte sums, in
order. A helper is a ``python -c`` process that builds the same ``tables.Model``, computes
the blocks ``_schedule`` gives its lane (``formats.TASKS``) and streams them back over its
stdout: a ``_SUMS`` header, then the CSV bytes or an Arrow IPC stream.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE, Popen
from typing import BinaryIO

import pyarrow as pa

from xdr_warehouse.generate.formats import TASKS
from xdr_warehouse.generate.model import APP_COLUMNS
from xdr_warehouse.generate.records import block_count
from xdr_warehouse.generate.tables import Model

#: Processes sharing the work on large files (this one plus helpers), and the smallest
#: file (in blocks) worth starting helpers for.
WORKERS = min(2, os.cpu_count() or 1)
PARALLEL_MIN_BLOCKS = 8
_SUMS = struct.Struct(f"<Q{len(APP_COLUMNS)}q")  # payload length, then the app sums


def _encode(payload: object) -> bytes | bytearray:
    """Bytes of a task payload (CSV bytes as they are, tables as an Arrow IPC stream)."""
    if isinstance(payload, bytes | bytearray):
        return payload
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, payload.schema) as stream:
        stream.write_table(payload)
    return sink.getvalue().to_pybytes()


def _decode(kind: str, data: bytes) -> object:
    """Inverse of ``_encode``."""
    return data if kind == "csv" else pa.ipc.open_stream(data).read_all()


#: Blocks this process computes per blocks each helper computes, by (kind, compress).
#: This process also writes the file: cheap for gzip members, dear for Parquet.
SHARES: dict[tuple[str, bool], tuple[int, int]] = {
    ("csv", False): (2, 3),
    ("csv", True): (1, 1),
    ("parquet", False): (0, 1),
}


def _schedule(lanes: int, kind: str, compress: bool) -> tuple[int, ...]:
    """Which process (0 = this one, 1.. = helpers) computes each block of a repeating cycle."""
    if lanes == 1:
        return (0,)
    own, each = SHARES[kind, compress]
    cycle: list[int] = []
    for i in range(max(own, each)):
        cycle += ([0] if i < own else []) + (list(range(1, lanes)) if i < each else [])
    return tuple(cycle)


def helper_main(argv: list[str]) -> int:
    """Helper process: compute the blocks ``_schedule`` gives ``lane``, stream them out.

    argv: n_records seed kind compress lane lanes. Each block is written to stdout as the
    ``_SUMS`` header followed by the payload.
    """
    n_records, seed, kind, compress, lane, lanes = argv
    model = Model.build(int(n_records), int(seed))
    cycle = _schedule(int(lanes), kind, compress == "1")
    out = sys.stdout.buffer
    for b in range(block_count(model)):
        if cycle[b % len(cycle)] != int(lane):
            continue
        payload, sums = TASKS[kind](model, b, compress == "1")
        data = _encode(payload)
        out.write(_SUMS.pack(len(data), *(sums[c] for c in APP_COLUMNS)))
        out.write(data)
        out.flush()
    return 0


@dataclass
class _Helper:
    """A running helper process and the file its stderr goes to."""

    process: Popen[bytes]
    errors: BinaryIO  # a file, not a pipe: a chatty helper can never block on it

    def receive(self, kind: str) -> tuple[object, dict[str, int]]:
        """Read the helper's next block result."""
        header = self.process.stdout.read(_SUMS.size)
        if len(header) < _SUMS.size:
            self.process.wait()
            self.errors.seek(0)
            lines = self.errors.read().decode(errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit code {self.process.returncode}"
            raise RuntimeError(f"generator helper process failed: {reason}")
        size, *sums = _SUMS.unpack(header)
        payload = _decode(kind, self.process.stdout.read(size))
        return payload, dict(zip(APP_COLUMNS, sums, strict=True))

    def stop(self) -> None:
        """Kill the helper if it still runs and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.errors.close()


def _start_helper(model: Model, kind: str, compress: bool, lane: int, lanes: int) -> _Helper:
    """Launch a helper with ``python -c`` (independent of the caller's ``__main__``)."""
    # the package's folder goes first on the helper's path (it inherits our environment)
    package_root = str(Path(__file__).resolve().parents[2])
    code = (
        f"import sys; sys.path.insert(0, {package_root!r}); "
        "from xdr_warehouse.generate.parallel import helper_main; "
        "sys.exit(helper_main(sys.argv[1:]))"
    )
    args = [str(model.n_records), str(model.seed), kind, str(int(compress)), str(lane), str(lanes)]
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - _Helper.stop closes it
    try:
        process = Popen([sys.executable, "-c", code, *args], stdout=PIPE, stderr=errors)
    except BaseException:
        errors.close()
        raise
    return _Helper(process, errors)


def map_blocks(
    model: Model, kind: str, compress: bool = False
) -> Iterator[tuple[object, dict[str, int]]]:
    """(payload, app sums) for every block, in order.

    Large files share the blocks between this process and ``WORKERS - 1`` helper
    processes (see ``_schedule``; generation is partly GIL-bound, so threads would not
    help). Where a block is computed does not change its bytes.
    """
    n_blocks = block_count(model)
    lanes = WORKERS if n_blocks >= PARALLEL_MIN_BLOCKS else 1
    cycle = _schedule(lanes, kind, compress)
    helpers: list[_Helper] = []
    try:
        for lane in range(1, lanes):
            helpers.append(_start_helper(model, kind, compress, lane, lanes))
        for b in range(n_blocks):
            lane = cycle[b % len(cycle)]
            yield helpers[lane - 1].receive(kind) if lane else TASKS[kind](model, b, compress)
    finally:
        for helper in helpers:
            helper.stop()
