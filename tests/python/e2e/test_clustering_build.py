"""The clustering stage inside `dbt build`: labels, summary, elbow and samples
checked against scikit-learn, pandas and Python's own MD5 on the built warehouse."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from xdr_warehouse.clustering import (
    FEATURES,
    ClusterSettings,
    apply_scaler,
    find_elbow,
    nearest_centroid,
    scaler_from_arrow,
)
from xdr_warehouse.clustering.stage import elbow_curve_table

from conftest import Workspace

pytestmark = pytest.mark.slow

MSISDN_COLUMN = 7  # 0-based position of MSISDN/Number in the raw CSV
CLUSTER_MODELS = "+customer_clusters+ +engagement_elbow+ engagement_metrics"


def test_warehouse_labels_agree_with_scikit_learn_run_directly(built_warehouse: Workspace):
    engagement = built_warehouse.df(
        "select msisdn, session_count, total_duration_ms, total_traffic_bytes "
        "from marts.customer_engagement order by msisdn"
    )
    clusters = built_warehouse.df("select * from marts.customer_clusters")
    assert len(clusters) == len(engagement) > 1_000
    assert clusters["msisdn"].is_unique
    assert set(clusters["msisdn"]) == set(engagement["msisdn"])

    defaults = ClusterSettings()
    x = StandardScaler().fit_transform(engagement[list(FEATURES)].to_numpy(dtype=float))
    reference = KMeans(
        n_clusters=3, n_init=defaults.n_init, random_state=defaults.seed, algorithm="lloyd"
    ).fit(x)
    merged = engagement.assign(reference=reference.labels_).merge(clusters, on="msisdn")
    assert adjusted_rand_score(merged["reference"], merged["cluster_id"]) == 1.0

    np.testing.assert_allclose(
        merged[["scaled_session_count", "scaled_total_duration_ms", "scaled_total_traffic_bytes"]],
        x,
        rtol=1e-9,
        atol=1e-9,
    )
    # ids ordered by engagement: mean of the scaled features per cluster increases
    scaled_columns = [f"scaled_{name}" for name in FEATURES]
    means = clusters.groupby("cluster_id")[scaled_columns].mean().mean(axis=1)
    assert means.index.tolist() == [0, 1, 2] and means.is_monotonic_increasing
    levels = clusters.groupby("cluster_id")["engagement_level"].unique().map(list).to_dict()
    assert levels == {0: ["low"], 1: ["medium"], 2: ["high"]}
    assert clusters["cluster_model_id"].nunique() == 1


def test_sql_labels_equal_the_model_applied_in_numpy(built_warehouse: Workspace):
    """customer_clusters (SQL) applies the stored scaler and nearest centroid exactly
    as the package does."""

    with built_warehouse.connect() as con:
        model = con.sql(
            "select * from marts.engagement_cluster_model order by cluster_id"
        ).to_arrow_table()
        frame = con.execute(
            "select e.msisdn, e.session_count, e.total_duration_ms, e.total_traffic_bytes,"
            " c.cluster_id, c.scaled_session_count, c.scaled_total_duration_ms,"
            " c.scaled_total_traffic_bytes"
            " from marts.customer_engagement e join marts.customer_clusters c using (msisdn)"
        ).df()
    scaler = scaler_from_arrow(model)
    scaled = apply_scaler(scaler, frame[list(FEATURES)].to_numpy(dtype=float))
    np.testing.assert_allclose(
        frame[[f"scaled_{name}" for name in FEATURES]].to_numpy(), scaled, rtol=1e-12, atol=1e-12
    )
    centroids = np.column_stack([model.column(f"centroid_{name}").to_numpy() for name in FEATURES])
    assert (nearest_centroid(scaled, centroids) == frame["cluster_id"].to_numpy()).all()


def python_sample(msisdn: pd.Series, size: int, seed: int) -> set[int]:
    """The customers of a sample drawn as xdr_customer_sample draws it, in Python."""
    if len(msisdn) <= size:
        return set(msisdn)
    keys = msisdn.map(lambda m: int(hashlib.md5(f"{seed}:{m}".encode()).hexdigest()[:8], 16))
    return set(msisdn[keys < 4294967296.0 * size / len(msisdn)])


@pytest.mark.parametrize("size", [5_000, 100_000])
def test_samples_are_the_md5_draw_every_engine_makes(built_warehouse: Workspace, size: int):
    """The fit and elbow samples are the customers whose MD5(seed:msisdn) key falls
    under size / customers of its range: the same in SQL on any engine and in Python."""
    customers = built_warehouse.df("select msisdn from marts.customer_engagement")["msisdn"]
    result = built_warehouse.dbt(
        ["run", "--select", "clustering_elbow_sample"], elbow_sample_size=size
    )
    assert result.success, result.exception
    got = set(built_warehouse.df("select msisdn from marts.clustering_elbow_sample")["msisdn"])
    assert got == python_sample(customers, size, ClusterSettings().seed)
    assert (len(got) < len(customers)) == (size < len(customers))
    restored = built_warehouse.dbt(["run", "--select", "clustering_elbow_sample"])
    assert restored.success, restored.exception


def test_a_new_cluster_seed_draws_every_customers_key_again(built_warehouse: Workspace):
    """The sample keys are stored with the customers' sums: an incremental build with
    another cluster_seed, and no new record, draws every key again (and back)."""
    customers = built_warehouse.df("select msisdn from marts.customer_engagement")["msisdn"]
    select = ["run", "--select", "int_customers_aggregated", "clustering_elbow_sample"]
    try:
        result = built_warehouse.dbt(select, cluster_seed=7, elbow_sample_size=5_000)
        assert result.success, result.exception
        assert built_warehouse.query(
            "select distinct sample_seed from intermediate.int_customers_aggregated"
        ) == [(7,)]
        got = set(built_warehouse.df("select msisdn from marts.clustering_elbow_sample")["msisdn"])
        assert got == python_sample(customers, 5_000, 7)
        assert got != python_sample(customers, 5_000, ClusterSettings().seed)
    finally:
        restored = built_warehouse.dbt(select)
        assert restored.success, restored.exception
    seed = ClusterSettings().seed
    keys = built_warehouse.df(
        "select msisdn, sample_key from intermediate.int_customers_aggregated"
    )
    expected = keys["msisdn"].map(
        lambda m: int(hashlib.md5(f"{seed}:{m}".encode()).hexdigest()[:8], 16)
    )
    assert keys["sample_key"].tolist() == expected.tolist()


def test_summary_equals_a_pandas_groupby(built_warehouse: Workspace):
    frame = built_warehouse.df(
        "select c.cluster_id, e.session_count, e.total_duration_ms, e.total_traffic_bytes "
        "from marts.customer_clusters c join marts.customer_engagement e using (msisdn)"
    )
    metrics = {
        "sessions": "session_count",
        "duration_ms": "total_duration_ms",
        "traffic_bytes": "total_traffic_bytes",
    }
    expected = []
    for metric, column in metrics.items():
        grouped = frame.groupby("cluster_id")[column].agg(["min", "max", "mean", "sum", "count"])
        expected.append(grouped.assign(metric=metric).reset_index())
    expected = pd.concat(expected).set_index(["cluster_id", "metric"]).sort_index()
    summary = (
        built_warehouse.df("select * from marts.engagement_cluster_summary")
        .set_index(["cluster_id", "metric"])
        .sort_index()
    )
    assert summary.index.equals(expected.index)
    for ours, theirs in [
        ("min_value", "min"),
        ("max_value", "max"),
        ("total_value", "sum"),
        ("customer_count", "count"),
    ]:
        assert summary[ours].astype("int64").tolist() == expected[theirs].astype("int64").tolist()
    np.testing.assert_allclose(summary["avg_value"], expected["mean"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(
        summary["customer_share"], expected["count"] / len(frame), rtol=1e-12, atol=0
    )
    model = built_warehouse.query(
        "select distinct cluster_model_id, fitted_at from marts.engagement_cluster_model"
    )
    assert set(zip(summary["cluster_model_id"], summary["model_fitted_at"], strict=True)) == set(
        model
    )


def test_elbow_table_is_the_documented_curve(built_warehouse: Workspace):
    elbow = built_warehouse.df("select * from marts.engagement_elbow order by k")
    assert elbow["k"].tolist() == list(range(1, 11))
    assert elbow["is_elbow"].sum() == 1
    chosen = int(elbow.loc[elbow["is_elbow"], "k"].iloc[0])
    assert (chosen, elbow["elbow_method"].iloc[0]) == find_elbow(elbow["k"], elbow["inertia"])
    customers = built_warehouse.query("select count(*) from marts.customer_engagement")[0][0]
    assert set(elbow["customer_count"]) == {customers}
    assert set(elbow["sample_size"]) == {min(customers, ClusterSettings().elbow_sample_size)}
    # the same curve again from the package: deterministic

    with built_warehouse.connect() as con:
        sample = con.sql("select * from marts.clustering_elbow_sample").to_arrow_table()
        model = con.sql("select * from marts.engagement_cluster_model").to_arrow_table()
    again = elbow_curve_table(sample, model, customers, ClusterSettings())
    np.testing.assert_array_equal(again["inertia"].to_numpy(), elbow["inertia"].to_numpy())


def raw_rows(tmp_path: Path, records: int = 10) -> tuple[str, list[list[str]]]:
    """Header and records of a small generated raw CSV (no summary row), as fields."""
    from xdr_warehouse.generate import generate_xdr

    source = tmp_path / "source.csv"
    generate_xdr(source, records, seed=11, summary_row=False)
    header, *lines = source.read_text().split("\n")
    return header, [line.split(",") for line in lines if line]


def raw_csv(path: Path, header: str, rows: list[list[str]]) -> Path:
    path.write_text("\n".join([header, *(",".join(row) for row in rows)]))
    return path


def run_build(workspace: Workspace, csv: Path, variables: dict | None = None):
    args = ["build", "--select", CLUSTER_MODELS, "--indirect-selection", "cautious"]
    if variables:
        args += ["--vars", json.dumps(variables)]
    result = workspace.dbt(args, csv)
    assert result.success, f"dbt build failed: {result.exception}"
    return result


def test_settings_reach_the_models_through_dbt_vars(workspace: Workspace, tmp_path: Path):
    header, rows = raw_rows(tmp_path, 10)
    csv = raw_csv(tmp_path / "ten.csv", header, rows)
    variables = {"cluster_k": 4, "cluster_scaler": "log_zscore", "elbow_k_max": 6}
    run_build(workspace, csv, variables)
    levels = workspace.query(
        "select cluster_id, any_value(engagement_level), any_value(scaler), count(*) "
        "from marts.customer_clusters group by 1 order by 1"
    )
    assert [row[:3] for row in levels] == [(i, f"level_{i + 1}", "log_zscore") for i in range(4)]
    customers = workspace.query("select count(*) from marts.customer_engagement")[0][0]
    assert sum(row[3] for row in levels) == customers >= 6
    ks = workspace.query("select k from marts.engagement_elbow order by k")
    assert [k for (k,) in ks] == list(range(1, 7))


def test_no_customers_build_empty_tables(workspace: Workspace, tmp_path: Path):
    header, rows = raw_rows(tmp_path, 10)
    for row in rows:
        row[MSISDN_COLUMN] = ""
    run_build(workspace, raw_csv(tmp_path / "unattributed.csv", header, rows))
    for table in ("customer_clusters", "engagement_elbow", "engagement_cluster_summary"):
        assert workspace.query(f"select count(*) from marts.{table}") == [(0,)]
    types = dict(
        workspace.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'customer_clusters'"
        )
    )
    assert types["msisdn"] == "BIGINT" and types["cluster_id"] == "INTEGER"
    assert types["scaled_session_count"] == "DOUBLE"


def test_identical_customers_build_one_cluster(workspace: Workspace, tmp_path: Path):
    header, generated = raw_rows(tmp_path, 1)
    template = generated[0]
    rows = []
    for i in range(5):
        row = list(template)
        row[MSISDN_COLUMN] = str(33_660_000_000 + i)
        rows.append(row)
    run_build(workspace, raw_csv(tmp_path / "identical.csv", header, rows))
    assert workspace.query(
        "select cluster_id, engagement_level, count(*), max(abs(scaled_total_traffic_bytes)) "
        "from marts.customer_clusters group by all"
    ) == [(0, "low", 5, 0.0)]
    assert workspace.query("select k, is_elbow from marts.engagement_elbow") == [(1, True)]
