"""The `xdr` command: settings in, one line out on every failure, dbt options passed through."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse import cli, job
from xdr_warehouse.dbt_runner import (
    DbtError,
    dbt_command,
    failure_detail,
    last_build_problem,
    merge_vars,
    public_models,
    schema_change_in,
)
from xdr_warehouse.ingest import XdrInputError

from conftest import new_workspace


@pytest.fixture
def settings(tmp_path: Path):  # noqa: ANN201
    return new_workspace(tmp_path).settings


def test_user_vars_are_merged_over_the_settings(settings) -> None:  # noqa: ANN001
    variables, rest = merge_vars(settings, ["--select", "x", "--vars", "{cluster_k: 4}", "-q"])
    assert variables["cluster_k"] == 4
    assert variables["xdr_build_db"] == str(settings.build_db)
    assert rest == ["--select", "x", "-q"]
    variables, _ = merge_vars(settings, ["--vars={xdr_memory_limit: 3GB}"])
    assert variables["xdr_memory_limit"] == "3GB"
    with pytest.raises(DbtError, match="not a YAML mapping"):
        merge_vars(settings, ["--vars", "[1, 2]"])


def test_dbt_gets_target_paths_threads_and_one_vars_option(settings) -> None:  # noqa: ANN001
    args = dbt_command(settings, ["build"], ["--select", "customer_engagement"])
    assert args[0] == "build" and args.count("--vars") == 1
    assert args[args.index("--target") + 1] == "dev"
    assert args[args.index("--target-path") + 1] == str(settings.target_path)
    assert args[args.index("--threads") + 1] == str(settings.dbt_threads)
    assert json.loads(args[args.index("--vars") + 1])["xdr_build_db"] == str(settings.build_db)
    assert args[-2:] == ["--select", "customer_engagement"]
    assert "--threads" not in dbt_command(settings, ["ls"])
    # dbt.log without each SQL statement unless asked (XDR_DBT_LOG_LEVEL or the option)
    assert args[args.index("--log-level-file") + 1] == "info"
    args = dbt_command(settings, ["run"], ["--log-level-file", "debug"])
    assert args.count("--log-level-file") == 1 and args[-2:] == ["--log-level-file", "debug"]


NO_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


@pytest.mark.parametrize(
    ("engine", "unit_tests", "dbt_args", "expected"),
    [
        ("duckdb", False, [], NO_UNIT_TESTS),
        ("duckdb", True, [], []),
        ("spark", False, [], []),
        # the user's own selection is left as given
        ("duckdb", False, ["--select", "test_type:unit"], ["--select", "test_type:unit"]),
        ("duckdb", False, ["--exclude=x"], ["--exclude=x"]),
        ("duckdb", False, ["--vars", "{top_n: 5}"], ["--vars", "{top_n: 5}", *NO_UNIT_TESTS]),
    ],
)  # fmt: skip
def test_the_daily_build_leaves_the_unit_tests_to_ci(
    settings,
    engine: str,
    unit_tests: bool,
    dbt_args: list[str],
    expected: list[str],  # noqa: ANN001
) -> None:
    chosen = replace(settings, engine=engine, unit_tests=unit_tests)
    assert job.build_args(chosen, dbt_args) == expected
    assert job.build_args(chosen, dbt_args, full_refresh=True)[len(dbt_args)] == "--full-refresh"


def test_a_changed_incremental_schema_is_one_line_with_the_fix() -> None:
    message = (
        "Compilation Error in model customer_engagement (models/x.sql)\n"
        "  The source and target schemas on this incremental model are out of sync!\n"
        "     Source columns not in target: [DuckDBColumn(column='new_count', dtype='BIGINT')]\n"
        "     Target columns not in source: [DuckDBColumn(column='old_count', dtype='BIGINT'),"
        " DuckDBColumn(column='gone_too', dtype='VARCHAR')]\n"
        "     New column types: []\n"
    )
    assert schema_change_in(message) == (
        "its columns changed since the table was built (new: new_count; gone: old_count, "
        "gone_too); rebuild it with `xdr run --full-refresh`"
    )
    assert schema_change_in("Runtime Error\n  something else") is None


def test_a_failed_node_is_summed_up_by_duckdbs_error_line_not_its_advice() -> None:
    # dbt's message of a test that ran out of memory at 100M records (2026-11-28)
    message = (
        "Runtime Error in test assert_every_line_of_every_file_was_read "
        "(tests/dbt/assert_every_line_of_every_file_was_read.sql)\n"
        "  Out of Memory Error: failed to allocate data of size 1.0 GiB (3.1 GiB/3.7 GiB used)\n"
        "  \n"
        "  Possible solutions:\n"
        "  * Increasing the memory limit (SET memory_limit='...GB')\n"
        "  \n"
        "  See also https://duckdb.org/docs/current/guides/performance/how_to_tune_workloads\n"
    )
    assert failure_detail(message) == (
        "Out of Memory Error: failed to allocate data of size 1.0 GiB (3.1 GiB/3.7 GiB used)"
    )
    assert failure_detail("Runtime Error in model m\n  Binder Error: column x not found") == (
        "Binder Error: column x not found"
    )
    assert failure_detail("Got 2 results, configured to fail if != 0") == (
        "Got 2 results, configured to fail if != 0"
    )
    assert failure_detail("") is None


def test_public_models_come_from_the_manifest(settings) -> None:  # noqa: ANN001
    with pytest.raises(DbtError, match="cannot read dbt's manifest"):
        public_models(settings)
    settings.target_path.mkdir(parents=True)
    nodes = {
        "model.p.a": {"resource_type": "model", "name": "a", "access": "public", "config": {}},
        "model.p.b": {"resource_type": "model", "name": "b", "access": "protected", "config": {}},
        "test.p.c": {"resource_type": "test", "name": "c", "access": "public", "config": {}},
        "model.p.d": {
            "resource_type": "model", "name": "d", "access": "public",
            "config": {"enabled": False},
        },
    }  # fmt: skip
    (settings.target_path / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    assert public_models(settings) == ("a",)


def record_build(db: Path, passed: bool, failed: str = "") -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists audit")
        con.execute(
            "create table if not exists audit.dbt_builds (invocation_id varchar,"
            " finished_at timestamp, passed boolean, failed_nodes varchar, full_refresh boolean)"
        )
        con.execute(
            "insert into audit.dbt_builds values ('x', now(), ?, ?, false)", [passed, failed]
        )


def test_publish_refuses_unless_the_last_build_passed(settings, capsys) -> None:  # noqa: ANN001
    assert "there is no build database" in last_build_problem(settings)
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(settings.build_db)).close()
    assert "no dbt build has run" in last_build_problem(settings)
    record_build(settings.build_db, passed=True)
    assert last_build_problem(settings) is None
    record_build(settings.build_db, passed=False, failed="assert_x (fail)")
    assert last_build_problem(settings) == "the last dbt build did not pass: assert_x (fail)"

    assert cli.main(["publish"], settings=settings) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nothing published: the last dbt build did not pass: assert_x (fail)" in err
    assert not settings.published_db.exists()


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (XdrInputError("/data/x.csv: missing required column(s) 'Start'"), "/data/x.csv"),
        (DbtError("dbt build failed: test t: Got 1 result"), "test t: Got 1 result"),
        (RuntimeError("surprise\nwith a second line"), "surprise (details in "),
    ],
)
def test_every_failure_is_one_line_and_the_detail_goes_to_the_log(
    settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    error: Exception,
    shown: str,  # noqa: ANN001
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(job, "build", fail)
    assert cli.main(["build"], settings=settings) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and shown in err
    assert settings.log_file.exists()


def test_arguments_after_a_double_dash_reach_dbt(settings, monkeypatch) -> None:  # noqa: ANN001
    seen = {}

    def build(s, dbt_args, full_refresh):  # noqa: ANN001, ANN202
        seen.update(settings=s, args=list(dbt_args), full_refresh=full_refresh)

    monkeypatch.setattr(job, "build", build)
    argv = ["build", "--full-refresh", "--", "--vars", "{cluster_k: 4}", "--select", "x+"]
    assert cli.main(argv, settings=settings) == 0
    assert seen == {
        "settings": settings,
        "args": ["--vars", "{cluster_k: 4}", "--select", "x+"],
        "full_refresh": True,
    }


def test_unknown_engine_setting_is_one_line(monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("XDR_ENGINE", "flink")
    assert cli.main(["report"]) == 1
    assert capsys.readouterr().err == "error: XDR_ENGINE='flink': use one of duckdb, spark\n"


def test_spark_builds_refuse_a_selection_of_their_own() -> None:
    from xdr_warehouse.spark.build import _check_args

    for args in (["--select", "x"], ["--exclude-resource-type=unit_test"], ["-s", "x"]):
        with pytest.raises(DbtError, match=r"on Spark `xdr build` builds the whole project"):
            _check_args(args)
    _check_args(["--vars", "{top_n: 5}", "--full-refresh"])


def _console(tmp_path: Path, prelude: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Runs ``cli.console`` (the ``xdr`` command's entry point) in a new process."""
    code = (
        f"import sys\n{prelude}\n"
        "from xdr_warehouse.cli import console\n"
        f"sys.argv = ['xdr', *{list(argv)!r}]\n"
        "console()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_the_command_exits_with_mains_code_after_the_exit_handlers(tmp_path: Path) -> None:
    """The fast exit keeps the exit code, the output and the exit handlers."""
    handler = "import atexit; atexit.register(lambda: print('exit handler ran', flush=True))"
    out = tmp_path / "ten.csv"
    done = _console(tmp_path, handler, "generate", "--records", "10", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "11 rows written (csv)" in done.stdout
    assert done.stdout.rstrip().endswith("exit handler ran")
    assert len(out.read_text().splitlines()) == 12  # the header, 10 records, one duplicate
    assert "generate" in (tmp_path / "logs" / "xdr.log").read_text()  # the log was flushed
    failed = _console(tmp_path, handler, "generate", "--records", "10", "--out", "x.txt")
    assert failed.returncode == 1
    assert "cannot infer the format" in failed.stderr
    assert "exit handler ran" in failed.stdout


def test_the_command_waits_for_a_thread_still_working(tmp_path: Path) -> None:
    """A non-daemon thread alive at the end is waited for, as a normal exit does."""
    late = tmp_path / "late.txt"
    thread = (
        "import threading, time, pathlib\n"
        "def work():\n"
        "    time.sleep(3)\n"
        f"    pathlib.Path({str(late)!r}).write_text('done')\n"
        "worker = threading.Thread(target=work)\n"
        "worker.start()\n"
        "import xdr_warehouse.cli as cli\n"
        "job = cli.main\n"
        "def main():\n"
        "    code = job()\n"
        "    print('still working after main:', worker.is_alive(), flush=True)\n"
        "    return code\n"
        "cli.main = main"
    )
    done = _console(tmp_path, thread, "generate", "--records", "10", "--out", "ten.csv")
    assert done.returncode == 0, done.stderr
    assert "still working after main: True" in done.stdout
    assert late.read_text() == "done"
