"""Signs of life on long steps: what is running, for how long, how far along.

A :class:`Heartbeat` runs beside a step (a dbt build, a publish, an ingest) and
asks a probe what is going on. On a terminal it rewrites one line every second;
anywhere else (a log file, CI) it writes a plain line every ``interval`` seconds
(10 by default), so a step that runs for minutes is never silent. A probe
returns :class:`Activity` items: a name, and the fraction done when it is known
(DuckDB's ``query_progress()``, bytes read of the total), from which the time
left is estimated. Steps other than dbt report the bytes they read and wrote
and the last thing they logged (:class:`StepProbe`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

#: A fraction below this gives no estimate of the time left (too early to tell).
MIN_FRACTION_FOR_ESTIMATE = 0.05
#: Activities named on one status line; the others are counted.
MAX_SHOWN = 3


@dataclass(frozen=True)
class Activity:
    """One thing a step is doing: ``name``, ``fraction`` done (0..1) when known, and
    when it started (``time.monotonic()``; None: when the heartbeat first saw it)."""

    name: str
    fraction: float | None = None
    detail: str = ""
    started: float | None = None


def format_seconds(seconds: float) -> str:
    """12 s, 3 min 05 s, 1 h 02 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_bytes(size: float) -> str:
    """0.4 MB, 812.0 MB, 3.7 GB (powers of ten, as the rest of the project)."""
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"


def describe(activity: Activity, running_for: float) -> str:
    """``name (running 42 s, 37 %, about 1 min 12 s left)``."""
    parts = [f"running {format_seconds(running_for)}"]
    if activity.fraction is not None:
        fraction = min(max(activity.fraction, 0.0), 1.0)
        parts.append(f"{fraction:.0%}")
        if MIN_FRACTION_FOR_ESTIMATE <= fraction < 1 and running_for >= 1:
            left = running_for * (1 - fraction) / fraction
            parts.append(f"about {format_seconds(left)} left")
    if activity.detail:
        parts.append(activity.detail)
    return f"{activity.name} ({', '.join(parts)})"


class Heartbeat:
    """Report a probe's activities while a block runs (a context manager).

    ``probe`` is called from the heartbeat's thread and must not raise; it may
    return an empty sequence (nothing worth reporting right now). ``tty``
    defaults to ``out.isatty()``.
    """

    def __init__(
        self,
        probe: Callable[[], Sequence[Activity]],
        out: TextIO | None = None,
        interval: float = 10.0,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probe = probe
        self.out = out or sys.stdout
        self.interval = interval
        self.tty = self.out.isatty() if tty is None else tty
        self.clock = clock
        self._first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._line_shown = False
        self.lines_written = 0

    def status(self) -> str | None:
        """The current status line, or None when the probe reports nothing."""
        now = self.clock()
        activities = self.probe()
        names = {a.name for a in activities}
        for name in list(self._first_seen):
            if name not in names:
                del self._first_seen[name]
        texts = []
        for activity in activities:
            first_seen = self._first_seen.setdefault(activity.name, now)
            started = activity.started if activity.started is not None else first_seen
            texts.append(describe(activity, now - started))
        if len(texts) > MAX_SHOWN:
            texts = [*texts[:MAX_SHOWN], f"and {len(texts) - MAX_SHOWN} more"]
        return "; ".join(texts) or None

    def line(self, text: str) -> None:
        """Write one ordinary line (the step's own output) without mixing it into the
        terminal's progress line."""
        with self._lock:
            self._clear()
            self.out.write(text + "\n")
            self.out.flush()

    def _write(self, text: str) -> None:
        with self._lock:
            self._write_status(text)

    def _write_status(self, text: str) -> None:
        if self.tty:
            width = 120
            self.out.write("\r    " + text[: width - 4].ljust(width - 4))
            self._line_shown = True
        else:
            self.out.write(f"    ... {text}\n")
        self.out.flush()
        self.lines_written += 1

    def _run(self) -> None:
        tick = 1.0 if self.tty else self.interval
        while not self._stop.wait(tick):
            try:
                text = self.status()
            except Exception:  # noqa: BLE001 - a progress line must never break the step
                text = None
            if text:
                self._write(text)

    def _clear(self) -> None:
        """Blank the terminal's progress line."""
        if self.tty and self._line_shown:
            self.out.write("\r" + " " * 120 + "\r")
            self.out.flush()
            self._line_shown = False

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name="xdr-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._clear()


def io_bytes() -> tuple[int, int] | None:
    """Bytes this process has read and written so far (Linux ``/proc/self/io``), or None."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/io").read_text().splitlines())
        return int(fields["rchar"]), int(fields["wchar"])
    except (OSError, KeyError, ValueError):
        return None


class LastMessage(logging.Handler):
    """Keeps the last INFO message of a logger (what a step last said it did)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a bad record must not break the step
            self.text = record.getMessage()


class StepProbe:
    """The status of a step that is not dbt: the bytes it read and wrote so far and the
    last thing it logged (``logger``), for a :class:`Heartbeat`."""

    def __init__(self, name: str, logger: logging.Logger, started: float | None = None) -> None:
        self.name = name
        self.logger = logger
        self.started = time.monotonic() if started is None else started
        self.at_start = io_bytes()
        self.last = LastMessage()

    def __enter__(self) -> StepProbe:
        self.logger.addHandler(self.last)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.last)

    def __call__(self) -> list[Activity]:
        parts = []
        now = io_bytes()
        if now is not None and self.at_start is not None:
            read, written = now[0] - self.at_start[0], now[1] - self.at_start[1]
            parts.append(f"{format_bytes(read)} read, {format_bytes(written)} written")
        if self.last.text:
            parts.append(f"last: {self.last.text}")
        return [Activity(self.name, detail="; ".join(parts), started=self.started)]
