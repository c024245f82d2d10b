"""Engagement clustering: the package (python/xdr_warehouse/clustering.py) and the
three tables it feeds in the warehouse (customer_clusters, engagement_elbow,
engagement_cluster_summary).

Package tests run on small synthetic arrays. The end-to-end tests check the
warehouse built by the `built_warehouse` fixture against an independent
reference (scikit-learn and pandas run directly), and run small extra builds for
the settings plumbing and the edge cases (no customers, identical customers).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from xdr_warehouse.clustering import (
    CLUSTERS_SCHEMA,
    ELBOW_SCHEMA,
    FEATURES,
    ClusteringError,
    ClusterSettings,
    cluster_customers,
    clusters_table,
    clusters_to_arrow,
    elbow_curve,
    elbow_for,
    elbow_table,
    elbow_to_arrow,
    find_elbow,
    fit_clusters,
    level_names,
    prepare_features,
    read_features,
    scale_features,
)

REPO = Path(__file__).resolve().parents[2]
MSISDN_COLUMN = 7  # 0-based position of MSISDN/Number in the raw CSV
CLUSTER_MODELS = "+customer_clusters+ +engagement_elbow+"


# --------------------------------------------------------------------------- helpers


def blobs(
    per_blob: int = 200, seed: int = 1, centers: list[list[float]] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Well-separated customers: (msisdn, raw features, true blob index)."""
    rng = np.random.default_rng(seed)
    centers = centers or [[1, 1e6, 1e7], [5, 5e6, 5e7], [12, 12e6, 12e7]]
    values, truth = [], []
    for index, center in enumerate(centers):
        center = np.asarray(center, dtype=np.float64)
        values.append(center * (1 + 0.02 * rng.standard_normal((per_blob, 3))))
        truth.append(np.full(per_blob, index))
    x = np.round(np.abs(np.vstack(values)))
    msisdn = 33_600_000_000 + rng.permutation(x.shape[0] * 5)[: x.shape[0]]
    return msisdn.astype(np.int64), x, np.concatenate(truth)


def heavy_tailed(customers: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Customers like the generated data: 1..18 sessions, log-normal duration and traffic."""
    rng = np.random.default_rng(seed)
    sessions = np.minimum(rng.geometric(0.72, customers), 18)
    duration = np.floor(sessions * rng.lognormal(np.log(8e7), 0.8, customers))
    traffic = np.floor(sessions * rng.lognormal(np.log(5e8), 0.5, customers))
    msisdn = 33_600_000_000 + rng.permutation(customers * 2)[:customers]
    return msisdn.astype(np.int64), np.column_stack([sessions, duration, traffic]).astype(float)


def labels_by_msisdn(msisdn: np.ndarray, values: np.ndarray, **settings: object) -> pd.Series:
    result = cluster_customers(prepare_features(msisdn, values), ClusterSettings(**settings))
    return pd.Series(result.fit.labels, index=result.msisdn)


# --------------------------------------------------------------------------- k-means


def test_well_separated_blobs_are_recovered_exactly_and_ordered_by_engagement():
    msisdn, values, truth = blobs()
    labels = labels_by_msisdn(msisdn, values)
    expected = pd.Series(truth, index=msisdn).loc[labels.index]
    assert adjusted_rand_score(expected, labels) == 1.0
    # the blobs are numbered from least to most engaged, so ids equal blob indices
    assert (labels.to_numpy() == expected.to_numpy()).all()
    table = clusters_to_arrow(
        cluster_customers(prepare_features(msisdn, values), ClusterSettings())
    )
    pairs = zip(table["cluster_id"].to_pylist(), table["engagement_level"].to_pylist(), strict=True)
    levels = dict(pairs)
    assert levels == {0: "low", 1: "medium", 2: "high"}


@pytest.mark.parametrize("scaler", ["zscore", "minmax", "log_zscore", "robust"])
def test_blobs_are_recovered_with_every_scaler(scaler):
    msisdn, values, truth = blobs()
    labels = labels_by_msisdn(msisdn, values, scaler=scaler)
    expected = pd.Series(truth, index=msisdn).loc[labels.index]
    assert adjusted_rand_score(expected, labels) == 1.0


def test_ids_are_stable_across_runs_and_shuffled_input():
    msisdn, values = heavy_tailed(3_000)
    first = labels_by_msisdn(msisdn, values)
    again = labels_by_msisdn(msisdn, values)
    order = np.random.default_rng(99).permutation(msisdn.shape[0])
    shuffled = labels_by_msisdn(msisdn[order], values[order])
    pd.testing.assert_series_equal(first, again)
    pd.testing.assert_series_equal(first, shuffled)
    assert sorted(first.unique()) == [0, 1, 2]


def test_cluster_ids_follow_mean_of_scaled_centroid():
    msisdn, values = heavy_tailed(2_000)
    result = cluster_customers(prepare_features(msisdn, values), ClusterSettings(k=5))
    means = [result.scaled[result.fit.labels == c].mean(axis=0).mean() for c in range(5)]
    assert means == sorted(means)
    np.testing.assert_allclose(result.fit.centroids.mean(axis=1), means, rtol=1e-9, atol=1e-12)


def test_fit_on_sample_then_all_customers_matches_full_fit():
    msisdn, values, truth = blobs(per_blob=2_000)
    scaled = scale_features(prepare_features(msisdn, values).values)
    full = fit_clusters(scaled, k=3, fit_sample_size=10_000_000)
    sampled = fit_clusters(scaled, k=3, fit_sample_size=500)
    assert not full.fitted_on_sample and sampled.fitted_on_sample
    assert (full.labels == sampled.labels).all()
    np.testing.assert_allclose(full.centroids, sampled.centroids, rtol=1e-9)


def test_more_threads_give_the_same_labels():
    msisdn, values = heavy_tailed(3_000)
    one = labels_by_msisdn(msisdn, values, threads=1)
    all_cores = labels_by_msisdn(msisdn, values, threads=0)
    assert adjusted_rand_score(one, all_cores) >= 0.99


def test_level_names():
    assert level_names(3) == ["low", "medium", "high"]
    assert level_names(4) == ["level_1", "level_2", "level_3", "level_4"]
    assert level_names(1) == ["level_1"]


# --------------------------------------------------------------------------- scalers


def direct_scaling(x: np.ndarray, scaler: str) -> np.ndarray:
    """Each scaler computed independently (scikit-learn where it has one)."""
    if scaler == "zscore":
        return StandardScaler().fit_transform(x)
    if scaler == "minmax":
        return MinMaxScaler().fit_transform(x)
    if scaler == "log_zscore":
        logged = np.log1p(x)
        return (logged - logged.mean(axis=0)) / logged.std(axis=0)
    q25, q50, q75 = (np.percentile(x, q, axis=0) for q in (25, 50, 75))
    iqr = q75 - q25
    return (x - q50) / np.where(iqr > 0, iqr, x.std(axis=0))


@pytest.mark.parametrize("scaler", ["zscore", "minmax", "log_zscore", "robust"])
def test_scalers_match_a_direct_computation(scaler):
    _, values = heavy_tailed(5_000)
    scaled = scale_features(values, scaler)
    assert scaled.dtype == np.float64 and scaled.shape == values.shape
    np.testing.assert_allclose(scaled, direct_scaling(values, scaler), rtol=1e-10, atol=1e-10)


def test_robust_scaler_uses_the_std_when_the_iqr_is_zero():
    # three quarters of the customers have one session: IQR of sessions is 0
    values = np.array([[1, 10, 100]] * 7 + [[2, 20, 300], [5, 40, 900]], dtype=float)
    scaled = scale_features(values, "robust")
    expected = (values[:, 0] - 1.0) / values[:, 0].std()
    np.testing.assert_allclose(scaled[:, 0], expected)


@pytest.mark.parametrize("scaler", ["zscore", "minmax", "log_zscore", "robust"])
def test_zero_variance_feature_scales_to_zero(scaler):
    values = np.array([[1, 100, 5], [1, 200, 7], [1, 300, 9], [1, 900, 1]], dtype=float)
    scaled = scale_features(values, scaler)
    assert (scaled[:, 0] == 0).all()
    assert np.isfinite(scaled).all()


def test_unknown_scaler_is_a_clear_error():
    with pytest.raises(ClusteringError, match="scaler must be one of"):
        scale_features(np.ones((3, 3)), "quantile")


# --------------------------------------------------------------------------- elbow


def test_knee_of_a_curve_with_a_known_elbow():
    ks = np.arange(1, 11)
    inertias = np.array([1000, 420, 150, 130, 115, 102, 92, 84, 78, 73], dtype=float)
    assert find_elbow(ks, inertias) == (3, "kneedle")


def test_elbow_of_four_separated_blobs_is_four():
    centers = [[1, 1e6, 1e7], [4, 1e6, 9e7], [8, 9e6, 1e7], [15, 9e6, 9e7]]
    msisdn, values, _ = blobs(per_blob=300, centers=centers)
    curve = elbow_curve(scale_features(prepare_features(msisdn, values).values))
    assert curve.ks.tolist() == list(range(1, 11))
    assert (curve.elbow_k, curve.method) == (4, "kneedle")
    assert (np.diff(curve.inertias) <= 0).all()


def test_elbow_fallbacks_are_documented_rules():
    ks = np.arange(1, 6)
    # a straight line has no knee: the largest second difference (all 0) -> first interior k
    assert find_elbow(ks, 10.0 - ks) == (2, "max_second_difference")
    # flat curve: kneed is not asked
    assert find_elbow(ks, np.zeros(5)) == (2, "max_second_difference")
    assert find_elbow(np.array([1, 2]), np.array([8.0, 0.0])) == (2, "min_inertia")
    assert find_elbow(np.array([1]), np.array([0.0])) == (1, "min_inertia")


def test_elbow_sample_is_random_documented_and_reproducible():
    msisdn, values = heavy_tailed(4_000)
    scaled = scale_features(prepare_features(msisdn, values).values)
    first = elbow_curve(scaled, k_max=6, sample_size=1_000, n_init=2)
    again = elbow_curve(scaled, k_max=6, sample_size=1_000, n_init=2)
    assert first.sample_size == 1_000 and first.customers == 4_000
    np.testing.assert_array_equal(first.inertias, again.inertias)
    table = elbow_to_arrow(first, "zscore", 42)
    assert table.schema == ELBOW_SCHEMA
    assert table["is_elbow"].to_pylist().count(True) == 1


def test_elbow_range_is_capped_at_distinct_points():
    values = np.array([[1, 10, 100], [1, 10, 100], [2, 20, 200], [3, 30, 300], [9, 9, 9]], float)
    curve = elbow_curve(scale_features(values), k_min=1, k_max=10)
    assert curve.ks.tolist() == [1, 2, 3, 4]
    assert curve.distinct_points == 4
    assert curve.inertias[-1] == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- edge cases


def test_zero_customers_give_empty_tables_with_the_columns():
    features = prepare_features(np.zeros(0, np.int64), np.zeros((0, 3)))
    clusters = clusters_to_arrow(cluster_customers(features, ClusterSettings()))
    assert clusters.num_rows == 0 and clusters.schema == CLUSTERS_SCHEMA
    curve = elbow_curve(scale_features(features.values))
    assert curve.ks.size == 0 and curve.elbow_k is None
    elbow = elbow_to_arrow(curve, "zscore", 42)
    assert elbow.num_rows == 0 and elbow.schema == ELBOW_SCHEMA


def test_fewer_customers_than_k_each_distinct_customer_is_its_own_cluster():
    msisdn = np.array([20, 10], dtype=np.int64)
    values = np.array([[3, 300, 3000], [1, 100, 1000]], dtype=float)
    result = cluster_customers(prepare_features(msisdn, values), ClusterSettings(k=3))
    table = clusters_to_arrow(result).to_pydict()
    assert table["msisdn"] == [10, 20]
    assert table["cluster_id"] == [0, 1]
    assert table["engagement_level"] == ["low", "medium"]
    assert result.fit.inertia == 0.0


def test_identical_customers_share_one_cluster():
    msisdn = np.arange(1, 8, dtype=np.int64)
    values = np.tile([2.0, 5e6, 7e8], (7, 1))
    for scaler in ("zscore", "minmax", "log_zscore", "robust"):
        result = cluster_customers(prepare_features(msisdn, values), ClusterSettings(scaler=scaler))
        table = clusters_to_arrow(result).to_pydict()
        assert table["cluster_id"] == [0] * 7
        assert table["engagement_level"] == ["low"] * 7
        for column in ("scaled_session_count", "scaled_total_duration_ms"):
            assert table[column] == [0.0] * 7
    curve = elbow_curve(scale_features(values))
    assert curve.ks.tolist() == [1] and (curve.elbow_k, curve.method) == (1, "min_inertia")


def test_single_customer():
    features = prepare_features(np.array([5], np.int64), np.array([[1.0, 2.0, 3.0]]))
    table = clusters_to_arrow(cluster_customers(features, ClusterSettings())).to_pylist()
    assert table == [
        {
            "msisdn": 5,
            "cluster_id": 0,
            "engagement_level": "low",
            "scaled_session_count": 0.0,
            "scaled_total_duration_ms": 0.0,
            "scaled_total_traffic_bytes": 0.0,
            "scaler": "zscore",
        }
    ]


def test_bad_input_is_a_clear_error():
    with pytest.raises(ClusteringError, match="occurs more than once"):
        prepare_features(np.array([1, 1]), np.ones((2, 3)))
    with pytest.raises(ClusteringError, match="finite and >= 0"):
        prepare_features(np.array([1, 2]), np.array([[1, 2, 3], [1, -2, 3]], float))


# --------------------------------------------------------------------------- settings


def test_settings_from_dbt_config_strings():
    config = {
        "cluster_k": "4",
        "cluster_scaler": "LOG_ZSCORE",
        "cluster_seed": "7",
        "cluster_n_init": "2.0",
        "elbow_k_max": 6,
        "elbow_sample_size": "",
        "elbow_n_init": "5",
        "cluster_threads": None,
    }
    settings = ClusterSettings.from_mapping(config)
    assert (settings.k, settings.scaler, settings.seed, settings.n_init) == (4, "log_zscore", 7, 2)
    assert settings.elbow_k_max == 6
    assert settings.elbow_sample_size == ClusterSettings().elbow_sample_size
    assert settings.elbow_n_init == 5
    assert settings.threads == ClusterSettings().threads


def test_elbow_uses_its_own_n_init_and_sample_size():
    """The elbow runs elbow_n_init k-means per k on elbow_sample_size customers,
    independently of the final fit's n_init."""
    msisdn, values, _ = blobs(per_blob=2_000)
    features = prepare_features(msisdn, values)
    settings = ClusterSettings(n_init=1, elbow_n_init=4, elbow_sample_size=3_000, elbow_k_max=5)
    curve = elbow_for(features, settings)
    expected = elbow_curve(scale_features(features.values), k_max=5, n_init=4, sample_size=3_000)
    assert curve.sample_size == 3_000
    np.testing.assert_array_equal(curve.inertias, expected.inertias)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"cluster_k": "three"}, "cluster_k must be a whole number"),
        ({"cluster_k": "2.5"}, "cluster_k must be a whole number"),
        ({"cluster_k": "0"}, "k must be >= 1"),
        ({"cluster_scaler": "pca"}, "cluster_scaler must be one of"),
        ({"elbow_k_min": "5", "elbow_k_max": "3"}, "elbow_k_max"),
    ],
)
def test_bad_settings_are_clear_errors(config, message):
    with pytest.raises(ClusteringError, match=message):
        ClusterSettings.from_mapping(config)


def test_package_defaults_match_the_dbt_vars():
    project_vars = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    assert ClusterSettings.from_mapping(project_vars) == ClusterSettings()


# --------------------------------------------------------------------------- DuckDB in, Arrow out


def test_tables_from_a_duckdb_relation_have_explicit_types():
    msisdn, values, truth = blobs(per_blob=50)
    frame = pd.DataFrame(values.astype(np.int64), columns=list(FEATURES))
    frame.insert(0, "msisdn", msisdn)
    with duckdb.connect() as con:
        con.register("frame", frame)
        # decimal / hugeint inputs are cast, so the result does not depend on them
        relation = con.sql(
            "select cast(msisdn as decimal(20, 0)) as msisdn, "
            "cast(session_count as hugeint) as session_count, total_duration_ms, "
            "total_traffic_bytes, 'ignored' as other from frame"
        )
        assert read_features(relation).customers == 150
        clusters = clusters_table(relation, ClusterSettings())
        elbow = elbow_table(relation, ClusterSettings(elbow_k_max=5))
        con.register("clusters", clusters)
        types = dict(con.sql("select column_name, column_type from (describe clusters)").fetchall())
    assert clusters.schema == CLUSTERS_SCHEMA and clusters.num_rows == 150
    assert types["msisdn"] == "BIGINT" and types["cluster_id"] == "INTEGER"
    assert types["scaled_total_traffic_bytes"] == "DOUBLE"
    assert elbow["k"].to_pylist() == [1, 2, 3, 4, 5]
    assert elbow["is_elbow"].to_pylist().count(True) == 1


def test_null_features_are_a_clear_error():
    with duckdb.connect() as con:
        relation = con.sql(
            "select 1::bigint as msisdn, null::bigint as session_count, "
            "1::bigint as total_duration_ms, 1::bigint as total_traffic_bytes"
        )
        with pytest.raises(ClusteringError, match="NULL"):
            read_features(relation)


# --------------------------------------------------------------------------- warehouse (dbt build)


@pytest.mark.slow
def test_warehouse_labels_agree_with_scikit_learn_run_directly(built_warehouse):
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
    assert adjusted_rand_score(merged["reference"], merged["cluster_id"]) >= 0.99

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


@pytest.mark.slow
def test_summary_equals_a_pandas_groupby(built_warehouse):
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
        ("customers", "count"),
    ]:
        assert summary[ours].astype("int64").tolist() == expected[theirs].astype("int64").tolist()
    np.testing.assert_allclose(summary["avg_value"], expected["mean"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(
        summary["customer_share"], expected["count"] / len(frame), rtol=1e-12, atol=0
    )
    types = dict(
        built_warehouse.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'engagement_cluster_summary'"
        )
    )
    assert types == {
        "cluster_id": "INTEGER",
        "engagement_level": "VARCHAR",
        "metric": "VARCHAR",
        "min_value": "BIGINT",
        "max_value": "BIGINT",
        "avg_value": "DOUBLE",
        "total_value": "BIGINT",
        "customers": "BIGINT",
        "customer_share": "DOUBLE",
    }


@pytest.mark.slow
def test_elbow_table_is_the_documented_curve(built_warehouse):
    elbow = built_warehouse.df("select * from marts.engagement_elbow order by k")
    assert elbow["k"].tolist() == list(range(1, 11))
    assert elbow["is_elbow"].sum() == 1
    chosen = int(elbow.loc[elbow["is_elbow"], "k"].iloc[0])
    assert (chosen, elbow["elbow_method"].iloc[0]) == find_elbow(elbow["k"], elbow["inertia"])
    customers = built_warehouse.query("select count(*) from marts.customer_engagement")[0][0]
    assert set(elbow["customers"]) == {customers}
    assert set(elbow["sample_size"]) == {min(customers, ClusterSettings().elbow_sample_size)}
    # the same curve again from the package: deterministic
    with duckdb.connect(str(built_warehouse.build_db), read_only=True) as con:
        again = elbow_table(con.table("marts.customer_engagement"), ClusterSettings())
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


def run_build(workspace, csv: Path, variables: dict | None = None):
    args = ["build", "--select", CLUSTER_MODELS, "--indirect-selection", "cautious"]
    if variables:
        args += ["--vars", json.dumps(variables)]
    result = workspace.dbt(args, csv)
    assert result.success, f"dbt build failed: {result.exception}"
    return result


@pytest.mark.slow
def test_settings_reach_the_models_through_dbt_vars(workspace, tmp_path):
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


@pytest.mark.slow
def test_no_customers_build_empty_tables(workspace, tmp_path):
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


@pytest.mark.slow
def test_identical_customers_build_one_cluster(workspace, tmp_path):
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


def test_arrow_types_are_explicit_even_for_empty_input():
    empty = clusters_to_arrow(
        cluster_customers(
            prepare_features(np.zeros(0, np.int64), np.zeros((0, 3))), ClusterSettings()
        )
    )
    assert empty.schema.field("cluster_id").type == pa.int32()
    assert empty.schema.field("msisdn").type == pa.int64()
