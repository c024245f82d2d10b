"""Settings are read once, from the environment and the command line, and passed down."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from xdr_warehouse.settings import Settings

REPO = Path(__file__).resolve().parents[3]


def test_defaults_are_paths_under_the_project() -> None:
    settings = Settings.from_env({}, project_dir=REPO)
    assert settings.build_db == REPO / "warehouse" / "build.duckdb"
    assert settings.published_db == REPO / "warehouse" / "engagement.duckdb"
    assert settings.landing_dir == REPO / "warehouse" / "landing"
    assert settings.default_input == REPO / "data" / "generated" / "xdr_150k.csv"
    assert (settings.engine, settings.target, settings.input_path) == ("duckdb", "dev", None)


def test_environment_then_options(tmp_path: Path) -> None:
    env = {
        "XDR_PATH": "in/*.csv",
        "XDR_BUILD_DB": str(tmp_path / "b.duckdb"),
        "XDR_PUBLISHED_DB": "pub/e.duckdb",
        "XDR_DUCKDB_THREADS": "4",
        "XDR_ENGINE": "spark",
        "DBT_TARGET": "published",
    }
    settings = Settings.from_env(env, project_dir=tmp_path, duckdb_threads=None, engine=None)
    assert settings.input_path == "in/*.csv"
    assert settings.build_db == tmp_path / "b.duckdb"
    assert settings.published_db == tmp_path / "pub" / "e.duckdb"  # relative to the project
    assert settings.duckdb_threads == 4 and settings.engine == "spark"
    assert settings.target == "published"
    # an option given on the command line wins over the environment
    assert Settings.from_env(env, project_dir=tmp_path, engine="duckdb").engine == "duckdb"
    assert Settings.from_env({**env, "DBT_TARGET": ""}, project_dir=tmp_path).target == "spark"


def test_unknown_engine_is_one_clear_line() -> None:
    with pytest.raises(ValueError, match=r"XDR_ENGINE='flink': use one of duckdb, spark"):
        Settings.from_env({"XDR_ENGINE": "flink"})


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"XDR_PUBLISHED_DB": "warehouse/build.duckdb"}, "XDR_BUILD_DB and XDR_PUBLISHED_DB"),
        ({"XDR_MARTS_DB": "warehouse/build.duckdb"}, "XDR_BUILD_DB and XDR_MARTS_DB"),
        ({"XDR_PUBLISHED_DB": "warehouse/build.marts.duckdb"}, "XDR_MARTS_DB and XDR_PUBLISHED_DB"),
    ],
)
def test_the_build_the_marts_and_the_published_file_are_three_files(
    tmp_path: Path, env: dict[str, str], names: str
) -> None:
    with pytest.raises(ValueError, match=f"^{names} are the same file "):
        Settings.from_env(env, project_dir=tmp_path)
    assert Settings.from_env({}, project_dir=tmp_path).marts_db == (
        tmp_path / "warehouse" / "build.marts.duckdb"
    )


def test_dbt_gets_the_settings_as_vars(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDR_MEMORY_LIMIT": "3GB"}, project_dir=tmp_path)
    variables = settings.dbt_vars()
    assert variables["xdr_build_db"] == str(tmp_path / "warehouse" / "build.duckdb")
    assert variables["xdr_memory_limit"] == "3GB" and variables["xdr_engine"] == "duckdb"


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    for path in sorted((REPO / "python").rglob("*.py")):
        text = path.read_text()
        if re.search(r"os\.environ|os\.getenv|environ\[", text):
            readers.append(path.relative_to(REPO).as_posix())
    assert readers == ["python/xdr_warehouse/settings.py"]


def test_spark_processes_get_loopback_and_this_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_HOME", "/opt/another-spark")
    monkeypatch.setenv("SPARK_LOCAL_IP", "10.0.0.5")
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.enabled=true pyspark-shell")
    settings = Settings.from_env({}, project_dir=tmp_path)
    env = settings.spark_environment()
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1" and env["PATH"]
    assert env["PYSPARK_PYTHON"] == sys.executable
    assert not {"SPARK_HOME", "PYSPARK_SUBMIT_ARGS"} & set(env)
    assert settings.dbt_vars()["xdr_spark_warehouse"] == str(tmp_path / "warehouse" / "spark")
    spark_dir = Settings.from_env({"XDR_SPARK_DIR": "elsewhere"}, project_dir=tmp_path).spark_dir
    assert spark_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("yes", True), ("0", False), ("Off", False)]
)
def test_yes_no_settings(tmp_path: Path, raw: str, value: bool) -> None:
    assert Settings.from_env({"XDR_UNIT_TESTS": raw}, project_dir=tmp_path).unit_tests is value


def test_a_bad_value_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^XDR_UNIT_TESTS='maybe': not a yes/no value"):
        Settings.from_env({"XDR_UNIT_TESTS": "maybe"}, project_dir=tmp_path)
    with pytest.raises(ValueError, match=r"^XDR_DBT_THREADS='two': invalid literal"):
        Settings.from_env({"XDR_DBT_THREADS": "two"}, project_dir=tmp_path)


def test_parquet_version_is_v1_or_v2(tmp_path: Path) -> None:
    assert Settings.from_env({}, project_dir=tmp_path).parquet_version == "v2"
    env = {"XDR_PARQUET_VERSION": "v1"}
    assert Settings.from_env(env, project_dir=tmp_path).parquet_version == "v1"
    with pytest.raises(ValueError, match=r"^XDR_PARQUET_VERSION='3': use one of v1, v2$"):
        Settings.from_env({"XDR_PARQUET_VERSION": "3"}, project_dir=tmp_path)
