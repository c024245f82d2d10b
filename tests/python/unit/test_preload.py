"""The clustering imports preloaded while DuckDB stages the input (xdr_warehouse.preload)."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from xdr_warehouse.dbt_runner import DbtProgress
from xdr_warehouse.job import PRELOAD_AT, fits_a_new_model
from xdr_warehouse.preload import CLUSTERING_MODULES, Preload

from conftest import new_workspace


def test_preload_imports_its_modules_in_one_background_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "xdr_preload_probe.py").write_text(
        "import threading\nTHREAD = threading.current_thread().name\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "xdr_preload_probe", raising=False)
    preload = Preload(("xdr_preload_probe", "xdr_no_such_module"))
    with caplog.at_level(logging.INFO, logger="xdr_warehouse"):
        preload.start()
        first = preload.thread
        preload.start()
        preload.join(timeout=30)
    assert preload.thread is first and not first.is_alive()
    assert sys.modules["xdr_preload_probe"].THREAD == "xdr-preload"
    assert preload.imported == ["xdr_preload_probe"]
    assert "preload of xdr_no_such_module failed" in caplog.text
    assert "preloaded xdr_preload_probe in" in caplog.text


def test_the_preloaded_modules_are_those_the_cluster_models_import() -> None:
    models = Path(__file__).resolve().parents[3] / "python" / "xdr_warehouse" / "clustering"
    source = (models / "kmeans.py").read_text() + (models / "elbow.py").read_text()
    for module in CLUSTERING_MODULES:
        assert f"from {module} import" in source, module


def _start(node_name: str) -> object:
    node = SimpleNamespace(unique_id=f"model.p.{node_name}", node_name=node_name)
    return SimpleNamespace(
        info=SimpleNamespace(name="NodeStart"), data=SimpleNamespace(node_info=node)
    )


def test_dbt_progress_calls_the_hook_of_the_node_dbt_starts() -> None:
    started = []
    progress = DbtProgress(io.StringIO(), on_start={PRELOAD_AT: lambda: started.append(1)})
    progress(_start("stg_xdr__records"))
    assert started == []
    progress(_start(PRELOAD_AT))
    assert started == [1]


def test_a_build_fits_a_new_model_on_a_new_database_or_a_full_refresh(tmp_path: Path) -> None:
    settings = new_workspace(tmp_path).settings
    assert fits_a_new_model(settings, [])  # no build database yet
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("create schema marts")
    assert fits_a_new_model(settings, [])  # no stored model
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("create table marts.engagement_cluster_model (cluster_model_id varchar)")
    assert not fits_a_new_model(settings, [])  # the stored model may be kept
    assert fits_a_new_model(settings, ["--full-refresh"])
