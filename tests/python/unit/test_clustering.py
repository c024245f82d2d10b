"""Engagement clustering: the package (python/xdr_warehouse/clustering.py) and the
three tables it feeds in the warehouse (customer_clusters, engagement_elbow,
engagement_cluster_summary).

Package tests run on small synthetic arrays. The end-to-end tests check the
warehouse built by the `built_warehouse` fixture against an independent
reference (scikit-learn and pandas run directly), and run small extra builds for
the settings plumbing and the edge cases (no customers, identical customers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from xdr_warehouse.clustering import (
    ELBOW_SCHEMA,
    FEATURES,
    MODEL_SCHEMA,
    ClusteringError,
    ClusterModel,
    ClusterSettings,
    apply_scaler,
    elbow_curve,
    find_elbow,
    fit_clusters,
    fit_model,
    level_names,
    model_to_arrow,
    nearest_centroid,
    prepare_features,
    read_features,
    scale_features,
    scaler_from_arrow,
)
from xdr_warehouse.clustering.elbow import elbow_to_arrow
from xdr_warehouse.clustering.stage import (
    cluster_model_table,
    elbow_curve_table,
    next_model_table,
)

REPO = Path(__file__).resolve().parents[3]


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


def fitted(msisdn: np.ndarray, values: np.ndarray, **settings: object) -> ClusterModel:
    return fit_model(prepare_features(msisdn, values), ClusterSettings(**settings))


def labels_by_msisdn(msisdn: np.ndarray, values: np.ndarray, **settings: object) -> pd.Series:
    """Every customer labelled with the model fitted on all of them (sorted by MSISDN)."""
    features = prepare_features(msisdn, values)
    model = fit_model(features, ClusterSettings(**settings))
    return pd.Series(model.labels(features.values), index=features.msisdn)


# --------------------------------------------------------------------------- k-means


def test_well_separated_blobs_are_recovered_exactly_and_ordered_by_engagement():
    msisdn, values, truth = blobs()
    labels = labels_by_msisdn(msisdn, values)
    expected = pd.Series(truth, index=msisdn).loc[labels.index]
    assert adjusted_rand_score(expected, labels) == 1.0
    # the blobs are numbered from least to most engaged, so ids equal blob indices
    assert (labels.to_numpy() == expected.to_numpy()).all()
    table = model_to_arrow(fitted(msisdn, values))
    assert table.schema == MODEL_SCHEMA
    pairs = zip(table["cluster_id"].to_pylist(), table["engagement_level"].to_pylist(), strict=True)
    assert dict(pairs) == {0: "low", 1: "medium", 2: "high"}
    assert len(set(table["cluster_model_id"].to_pylist())) == 1


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
    features = prepare_features(msisdn, values)
    scaled = scale_features(features.values)
    fit = fit_clusters(scaled, k=5)
    means = [scaled[fit.labels == c].mean(axis=0).mean() for c in range(5)]
    assert means == sorted(means)
    np.testing.assert_allclose(fit.centroids.mean(axis=1), means, rtol=1e-9, atol=1e-12)


def test_labels_of_the_fit_are_the_nearest_centroids():
    """customer_clusters labels customers with the nearest centroid (in SQL): for the
    customers the model was fitted on, that is scikit-learn's own labelling."""
    msisdn, values = heavy_tailed(3_000)
    scaled = scale_features(prepare_features(msisdn, values).values)
    fit = fit_clusters(scaled, k=3)
    assert (nearest_centroid(scaled, fit.centroids) == fit.labels).all()


def test_a_model_fitted_on_a_sample_labels_every_customer_like_the_full_fit():
    msisdn, values, truth = blobs(per_blob=2_000)
    features = prepare_features(msisdn, values)
    full = fit_model(features, ClusterSettings())
    every_fifth = prepare_features(msisdn[::5], values[::5])
    sampled = fit_model(every_fifth, ClusterSettings())
    assert sampled.fit_customers == len(msisdn[::5])
    assert (full.labels(features.values) == sampled.labels(features.values)).all()
    assert full.model_id != sampled.model_id


def test_nearest_centroid_takes_the_lowest_id_on_a_tie():
    centroids = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    assert nearest_centroid(np.array([[1.0, 0.0, 0.0]]), centroids).tolist() == [0]


def test_model_id_depends_only_on_settings_and_data():
    msisdn, values = heavy_tailed(1_000)
    first, again = fitted(msisdn, values), fitted(msisdn, values)
    assert first.model_id == again.model_id
    assert fitted(msisdn, values, n_init=3).model_id != first.model_id
    assert fitted(msisdn[1:], values[1:]).model_id != first.model_id


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
        logged = np.log1p(x)  # the package (and SQL) compute ln(1 + x): equal within 1e-10
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
    curve = elbow_curve(scale_features(prepare_features(msisdn, values).values), customers=1200)
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


def test_elbow_curve_is_reproducible():
    msisdn, values = heavy_tailed(4_000)
    scaled = scale_features(prepare_features(msisdn, values).values)[:1_000]
    first = elbow_curve(scaled, customers=4_000, k_max=6, n_init=2)
    again = elbow_curve(scaled, customers=4_000, k_max=6, n_init=2)
    assert first.sample_size == 1_000 and first.customers == 4_000
    np.testing.assert_array_equal(first.inertias, again.inertias)
    table = elbow_to_arrow(first, "zscore", 42)
    assert table.schema == ELBOW_SCHEMA
    assert table["is_elbow"].to_pylist().count(True) == 1


def test_elbow_fits_in_parallel_threads_give_the_curve_of_one_fit_after_another():
    """The k values are fitted in several threads at once; each k's inertia is that of
    scikit-learn's KMeans fitted alone on one thread, whatever the number of threads."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    from xdr_warehouse.clustering.elbow import fit_workers

    msisdn, values = heavy_tailed(6_000)
    scaled = scale_features(prepare_features(msisdn, values).values).astype(np.float32)
    with threadpool_limits(limits=1, user_api="openmp"):
        alone = [
            float(KMeans(k, n_init=2, random_state=7, algorithm="lloyd").fit(scaled).inertia_)
            for k in range(1, 9)
        ]
    for workers in (1, 2, 3, 8):
        curve = elbow_curve(scaled, customers=6_000, k_max=8, seed=7, n_init=2, workers=workers)
        assert curve.ks.tolist() == list(range(1, 9))
        assert curve.inertias.tolist() == alone, workers
    assert fit_workers(threads=1, fits=10) == min(10, os.cpu_count() or 1)
    assert fit_workers(threads=0, fits=10) == 1  # one fit already takes every core
    assert fit_workers(threads=1, fits=1) == 1


def test_elbow_range_is_capped_at_distinct_points():
    values = np.array([[1, 10, 100], [1, 10, 100], [2, 20, 200], [3, 30, 300], [9, 9, 9]], float)
    curve = elbow_curve(scale_features(values), customers=5, k_min=1, k_max=10)
    assert curve.ks.tolist() == [1, 2, 3, 4]
    assert curve.distinct_points == 4
    assert curve.inertias[-1] == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- edge cases


def test_zero_customers_give_empty_tables_with_the_columns():
    features = prepare_features(np.zeros(0, np.int64), np.zeros((0, 3)))
    model = model_to_arrow(fit_model(features, ClusterSettings()))
    assert model.num_rows == 0 and model.schema == MODEL_SCHEMA
    curve = elbow_curve(scale_features(features.values), customers=0)
    assert curve.ks.size == 0 and curve.elbow_k is None
    elbow = elbow_to_arrow(curve, "zscore", 42)
    assert elbow.num_rows == 0 and elbow.schema == ELBOW_SCHEMA
    assert scaler_from_arrow(model) is None


def test_fewer_customers_than_k_each_distinct_customer_is_its_own_cluster():
    msisdn = np.array([20, 10], dtype=np.int64)
    values = np.array([[3, 300, 3000], [1, 100, 1000]], dtype=float)
    model = fitted(msisdn, values, k=3)
    table = model_to_arrow(model).to_pydict()
    assert table["cluster_id"] == [0, 1]
    assert table["engagement_level"] == ["low", "medium"]
    assert model.inertia == 0.0
    assert model.labels(values).tolist() == [1, 0]


def test_identical_customers_share_one_cluster():
    msisdn = np.arange(1, 8, dtype=np.int64)
    values = np.tile([2.0, 5e6, 7e8], (7, 1))
    for scaler in ("zscore", "minmax", "log_zscore", "robust"):
        model = fitted(msisdn, values, scaler=scaler)
        assert model.labels(values).tolist() == [0] * 7
        assert (apply_scaler(model.scaler, values) == 0).all()
        assert model_to_arrow(model)["engagement_level"].to_pylist() == ["low"]
    curve = elbow_curve(scale_features(values), customers=7)
    assert curve.ks.tolist() == [1] and (curve.elbow_k, curve.method) == (1, "min_inertia")


def test_single_customer():
    model = fitted(np.array([5], np.int64), np.array([[1.0, 2.0, 3.0]]))
    table = model_to_arrow(model).to_pylist()
    assert len(table) == 1 and table[0]["cluster_id"] == 0
    assert table[0]["centroid_session_count"] == 0.0 and table[0]["scale_session_count"] == 0.0


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


def features_table(msisdn: np.ndarray, values: np.ndarray) -> pa.Table:
    return pa.table({"msisdn": msisdn, **{n: values[:, j] for j, n in enumerate(FEATURES)}})


def test_elbow_uses_its_own_n_init_and_the_models_scaler():
    """The elbow runs elbow_n_init k-means per k on the elbow sample, scaled with the
    cluster model's scaler, independently of the final fit's n_init."""
    msisdn, values, _ = blobs(per_blob=1_000)
    settings = ClusterSettings(n_init=1, elbow_n_init=4, elbow_k_max=5)
    model = cluster_model_table(features_table(msisdn, values), settings)
    sample = features_table(msisdn[::2], values[::2])
    table = elbow_curve_table(sample, model, customers=len(msisdn), settings=settings)
    scaler = scaler_from_arrow(model)
    scaled = apply_scaler(scaler, prepare_features(msisdn[::2], values[::2]).values)
    expected = elbow_curve(scaled, customers=len(msisdn), k_max=5, n_init=4)
    assert table["sample_size"].to_pylist()[0] == len(msisdn[::2])
    assert table["customer_count"].to_pylist()[0] == len(msisdn)
    np.testing.assert_array_equal(table["inertia"].to_numpy(), expected.inertias)


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


def test_the_fit_sample_is_read_only_when_the_model_is_refitted():
    """A build that keeps the stored model does not draw the fit sample; a refit reads it once."""
    msisdn, values, _ = blobs(per_blob=100)
    settings = ClusterSettings(n_init=1)
    reads: list[int] = []

    def read_sample() -> pa.Table:
        reads.append(1)
        return features_table(msisdn, values)

    first = next_model_table(None, read_sample, settings, 300, 300, 0.05)
    assert first["model_version"].to_pylist() == [1, 1, 1] and len(reads) == 1
    kept = next_model_table(first, read_sample, settings, 15, 300, 0.05)  # 5 %: kept
    assert kept.num_rows == 0 and len(reads) == 1
    refit = next_model_table(first, read_sample, settings, 16, 300, 0.05)  # 5.3 %: refit
    assert refit["model_version"].to_pylist() == [2, 2, 2] and len(reads) == 2


# --------------------------------------------------------------------------- DuckDB in, Arrow out


def test_the_stage_reads_duckdb_relations_and_returns_explicit_types():
    msisdn, values, _ = blobs(per_blob=50)
    frame = pd.DataFrame(values.astype(np.int64), columns=list(FEATURES))
    frame.insert(0, "msisdn", msisdn)
    with duckdb.connect() as con:
        con.register("frame", frame)
        # decimal / hugeint inputs are read as numbers, so the result does not depend on them
        relation = con.sql(
            "select cast(msisdn as decimal(20, 0)) as msisdn, "
            "cast(session_count as hugeint) as session_count, total_duration_ms, "
            "total_traffic_bytes, 'ignored' as other from frame"
        )
        assert read_features(relation).customers == 150
        model = cluster_model_table(relation.to_arrow_table(), ClusterSettings())
        elbow = elbow_curve_table(
            relation.to_arrow_table(), model, 150, ClusterSettings(elbow_k_max=5)
        )
        con.register("model", model)
        types = dict(con.sql("select column_name, column_type from (describe model)").fetchall())
    assert model.schema == MODEL_SCHEMA and model.num_rows == 3
    assert types["cluster_id"] == "INTEGER" and types["centroid_session_count"] == "DOUBLE"
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


def test_the_clustering_package_leaves_the_fitting_libraries_to_the_first_fit() -> None:
    # a build that keeps the cluster model must not pay scikit-learn's and kneed's
    # import (about 2 s); the first fit imports them
    code = (
        "import sys\n"
        "import xdr_warehouse.clustering.stage\n"
        "print(sorted(m for m in ('sklearn', 'kneed', 'scipy') if m in sys.modules))\n"
        "from xdr_warehouse.clustering import elbow_curve\n"
        "import numpy as np\n"
        "elbow_curve(np.arange(30, dtype=float).reshape(10, 3), 10, k_max=3)\n"
        "print(sorted(m for m in ('sklearn', 'kneed') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "['kneed', 'sklearn']"], done.stdout
