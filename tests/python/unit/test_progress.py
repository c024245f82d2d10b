"""Progress of long steps: the status text, the heartbeat's lines, dbt's running nodes."""

from __future__ import annotations

import io
import time
from types import SimpleNamespace

from xdr_warehouse.dbt_runner import DbtProgress, query_progress
from xdr_warehouse.progress import Activity, Heartbeat, describe, format_seconds


def test_seconds_read_as_a_person_would_say_them() -> None:
    assert format_seconds(0.4) == "0 s"
    assert format_seconds(42) == "42 s"
    assert format_seconds(185) == "3 min 05 s"
    assert format_seconds(3720) == "1 h 02 min"


def test_status_gives_the_share_done_and_the_time_left() -> None:
    assert describe(Activity("int_records_loaded", 0.25), 30) == (
        "int_records_loaded (running 30 s, 25%, about 1 min 30 s left)"
    )
    # too early to estimate, or nothing known
    assert describe(Activity("m", 0.01), 30) == "m (running 30 s, 1%)"
    assert describe(Activity("m"), 12) == "m (running 12 s)"
    assert describe(Activity("m", 1.0, "checkpoint"), 5) == "m (running 5 s, 100%, checkpoint)"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_status_counts_time_from_the_start_or_first_sight_and_forgets_finished_work() -> None:
    clock = FakeClock()
    current: list[Activity] = [Activity("a"), Activity("b", 0.5, started=90.0)]
    beat = Heartbeat(lambda: current, io.StringIO(), tty=False, clock=clock)
    assert beat.status() == "a (running 0 s); b (running 10 s, 50%, about 10 s left)"
    clock.now = 112.0
    assert beat.status() == "a (running 12 s); b (running 22 s, 50%, about 22 s left)"
    current[:] = [Activity("c"), Activity("d"), Activity("e"), Activity("f")]
    assert beat.status() == "c (running 0 s); d (running 0 s); e (running 0 s); and 1 more"
    current[:] = []
    assert beat.status() is None


def test_a_log_gets_a_plain_line_at_every_interval_while_the_step_runs() -> None:
    out = io.StringIO()
    with Heartbeat(lambda: [Activity("slow_model", 0.5)], out, interval=0.05, tty=False) as beat:
        time.sleep(0.4)
        beat.line("    SUCCESS model other (1.0 s)")
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if line.startswith("    ... slow_model (running")]
    assert len(progress) >= 3, lines
    assert "    SUCCESS model other (1.0 s)" in lines
    assert all(line.startswith("    ") for line in lines)
    written = len(lines)
    time.sleep(0.2)
    assert len(out.getvalue().splitlines()) == written  # nothing after the step ended


def test_a_terminal_gets_one_line_rewritten_and_cleared_for_ordinary_lines() -> None:
    out = io.StringIO()
    beat = Heartbeat(lambda: [Activity("slow_model")], out, tty=True)
    beat._write("slow_model (running 3 s)")
    beat.line("    SUCCESS model other (1.0 s)")
    text = out.getvalue()
    assert text.startswith("\r    slow_model (running 3 s)")
    assert "\n" not in text.split("SUCCESS")[0]  # the status line is not a log line
    # the status line was blanked before the ordinary line was written
    assert text.index("\r" + " " * 120 + "\r") < text.index("    SUCCESS")
    assert text.endswith("    SUCCESS model other (1.0 s)\n")


def test_a_probe_that_fails_never_breaks_the_step() -> None:
    def probe() -> list[Activity]:
        raise RuntimeError("connection gone")

    out = io.StringIO()
    with Heartbeat(probe, out, interval=0.02, tty=False):
        time.sleep(0.1)
    assert out.getvalue() == ""


def _event(name: str, uid: str, node_name: str, kind: str = "model", status: str = "") -> object:
    node = SimpleNamespace(
        unique_id=uid, node_name=node_name, resource_type=kind, node_status=status,
        node_started_at="2026-11-27T10:00:00", node_finished_at="2026-11-27T10:00:02",
    )  # fmt: skip
    return SimpleNamespace(info=SimpleNamespace(name=name), data=SimpleNamespace(node_info=node))


def test_dbt_progress_lists_the_nodes_running_long_enough_oldest_first() -> None:
    progress = DbtProgress(io.StringIO())
    progress(_event("NodeStart", "model.p.big", "big"))
    progress(_event("NodeStart", "test.p.quick", "quick", "test"))
    progress.running["model.p.big"] = ("big", time.monotonic() - 30)
    assert [a.name for a in progress.activities()] == ["big"]
    assert [a.name for a in progress.activities(min_seconds=0)] == ["big", "quick"]
    progress(_event("NodeFinished", "model.p.big", "big", status="success"))
    assert [a.name for a in progress.activities(min_seconds=0)] == ["quick"]
    assert "SUCCESS model big (2.0 s)" in progress.out.getvalue()


def test_a_step_reports_what_it_read_wrote_and_last_logged(tmp_path) -> None:  # noqa: ANN001
    import logging

    from xdr_warehouse.progress import StepProbe, format_bytes

    assert format_bytes(400_000) == "0.4 MB" and format_bytes(3.7e9) == "3.7 GB"
    logger = logging.getLogger("xdr_warehouse.test_progress")
    logger.setLevel(logging.INFO)
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 3_000_000)
    with StepProbe("publish", logger, started=time.monotonic() - 5) as probe:
        logger.info("copied table %s", "marts.customer_engagement")
        assert len(data.read_bytes()) == 3_000_000
        (activity,) = probe()
    assert activity.name == "publish" and activity.started is not None
    read = float(activity.detail.split(" MB read")[0])
    assert read >= 3.0, activity.detail
    assert activity.detail.endswith("last: copied table marts.customer_engagement")
    logger.info("after the step")  # the probe's handler is gone
    assert probe.last.text == "copied table marts.customer_engagement"


class FakeCursorWrapper:
    """A connection handle that counts its ``cursor()`` calls, as dbt-spark's would reset."""

    def __init__(self) -> None:
        self.cursors = 0

    def cursor(self) -> FakeCursorWrapper:
        self.cursors += 1
        return self

    def query_progress(self) -> float:
        return 40.0


def test_query_progress_asks_duckdb_connections_only(monkeypatch) -> None:  # noqa: ANN001
    """dbt-spark's cursor() replaces the running statement's cursor: never call it."""
    from dbt.adapters.factory import FACTORY

    handles = {}
    adapters = {}
    for kind in ("duckdb", "spark"):
        handles[kind] = FakeCursorWrapper()
        connection = SimpleNamespace(name=f"model.{kind}", state="open", handle=handles[kind])
        adapters[kind] = SimpleNamespace(
            type=lambda kind=kind: kind,
            connections=SimpleNamespace(thread_connections={1: connection}),
        )
    monkeypatch.setattr(FACTORY, "adapters", adapters)
    assert query_progress("model.duckdb") == 0.4
    assert query_progress("model.spark") is None
    assert handles["duckdb"].cursors == 1 and handles["spark"].cursors == 0
