"""The Spark driver listens on 127.0.0.1 only and writes nothing outside its folders."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import yaml
from pyspark.sql import SparkSession

from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.session import spark_conf
from xdr_warehouse.sql import quote_spark_identifier

from .conftest import LOOPBACK, jvm_of, listeners

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[3]


def test_spark_driver_listens_on_loopback_only(spark: SparkSession) -> None:
    assert spark.range(10).selectExpr("sum(id)").first()[0] == 45  # a job ran
    me = psutil.Process()
    jvm = jvm_of(me)
    found = listeners([me, jvm, *jvm.children(recursive=True)])
    jvm_ports = [port for pid, kind, _, port in found if pid == jvm.pid and kind == "tcp"]
    assert len(jvm_ports) >= 2  # py4j gateway, RPC, block manager
    assert [x for x in found if x[2] not in LOOPBACK] == []
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.host") == conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.ui.enabled") == "false"


def test_spark_files_stay_in_their_folders(spark: SparkSession, spark_settings: Settings) -> None:
    spark.sql("create database if not exists loopback_check")
    spark.sql("create table if not exists loopback_check.t using parquet as select 1 as x")
    assert (spark_settings.spark_dir / "loopback_check.db" / "t").is_dir()
    metastore = spark_settings.spark_dir / "metastore"
    assert (metastore / "metastore_db").is_dir() and (metastore / "derby.log").is_file()
    for stray in ("metastore_db", "derby.log", "spark-warehouse"):
        assert not (spark_settings.project_dir / stray).exists()
    spark.sql("drop database loopback_check cascade")


@pytest.mark.parametrize("name", ["plain", "with space", "back`tick", "semi;colon -- x", "é☎"])
def test_spark_identifier_is_one_name(spark: SparkSession, name: str) -> None:
    assert spark.sql(f"select 1 as {quote_spark_identifier(name)}").columns == [name]


def test_spark_profile_has_the_session_settings(spark_settings: Settings) -> None:
    """A plain ``dbt --target spark`` creates the session xdr would create (profiles.yml)."""
    profile = yaml.safe_load((REPO / "profiles.yml").read_text())
    output = profile["xdr_warehouse"]["outputs"]["spark"]
    assert (output["type"], output["method"], output["threads"]) == ("spark", "session", 1)
    parameters = output["server_side_parameters"]
    expected = spark_conf(spark_settings)
    # the executors' Python: xdr's own; a plain dbt leaves it to PYSPARK_PYTHON
    assert set(parameters) == set(expected) - {
        "spark.pyspark.python",
        "spark.pyspark.driver.python",
    }
    for key, value in parameters.items():
        if "{{" not in str(value):
            assert str(value) == expected[key], key
