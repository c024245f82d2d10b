"""Daily loads: incremental builds give exactly the warehouse one full build gives.

The rule (README, "Daily loads"): ingest records every file version (path +
"size:mtime"); a build reads only the versions not loaded yet, and applies the
versions added or removed since the last complete passing build
(int_file_versions_changed) by recomputing every key they touch. A changed file
is a new version that replaces the old one, a removed file drops out, the same
records under another name are duplicates. A failed build applies nothing, so
the next build applies the same changes again.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from xdr_warehouse import job
from xdr_warehouse.clustering import FEATURES, apply_scaler, nearest_centroid, scaler_from_arrow
from xdr_warehouse.generate import generate_xdr

from conftest import LOAD_CHAIN, PUBLIC_TABLES, Workspace, new_workspace
from helpers_publish import copy_project

pytestmark = pytest.mark.slow

N_FILES = 30
PER_FILE = 100
#: Columns that describe when something ran, not what the data is.
TIME_COLUMNS = {"modified_at", "model_fitted_at", "published_at_utc", "publish_id"}
#: Every model, no test: the quick builds of the file-by-file runs (the last build
#: of each run has every test).
MODELS_ONLY = ["--exclude", "resource_type:test", "resource_type:unit_test"]
#: The equality runs refit the cluster model on every build, so that all three
#: warehouses end with the model a full build fits on the final data.
REFIT_ALWAYS = {"cluster_refit_share": -1}


def records_of(path: Path) -> tuple[str, list[str]]:
    header, *records = path.read_text().splitlines()
    return header, records


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """Header and records of one generated export (its summary row last)."""
    path = tmp_path_factory.mktemp("source") / "xdr.csv"
    generate_xdr(path, N_FILES * PER_FILE, seed=17)
    return records_of(path)


def day_files(source: tuple[str, list[str]]) -> dict[str, list[str]]:
    """30 daily exports cut from the source; the last keeps the summary row; day 09
    repeats a record of day 03 (a duplicate across files); day 15 has a malformed line."""
    header, records = source
    files = {}
    for day in range(N_FILES):
        chunk = records[day * PER_FILE : (day + 1) * PER_FILE]
        if day == N_FILES - 1:
            chunk = records[day * PER_FILE :]
        if day == 9:
            chunk = [*chunk, records[3 * PER_FILE + 7]]
        if day == 15:
            chunk = [*chunk[:50], "a line,that is not,a record", *chunk[50:]]
        files[f"day_{day:02d}.csv"] = [header, *chunk]
    return files


def write(folder: Path, name: str, lines: list[str], bump: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    if bump:  # a new signature even within the file system's time resolution
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))
    return path


def final_changes(folder: Path, files: dict[str, list[str]]) -> None:
    """After the 30 days: a file delivered twice, a file corrected, a file withdrawn."""
    write(folder, "day_07_again.csv", files["day_07.csv"])
    header, *records = files["day_12.csv"]
    corrected = records[:-40]
    corrected[5] = "9" + corrected[5]  # another Bearer Id: another record
    write(folder, "day_12.csv", [header, *corrected], bump=5)
    (folder / "day_20.csv").unlink()


def build(ws: Workspace, folder: Path, args: list[str] | None = None, **variables: object):
    result = ws.dbt(["build", *(args or [])], folder, **variables)
    assert result.success, (
        [(r.node.name, r.message) for r in result.result.results if r.status in ("error", "fail")]
        if result.result
        else result.exception
    )
    return result


def published(ws: Workspace) -> dict[str, pd.DataFrame]:
    """Every public table of the published file, without time columns, in a canonical order."""
    job.publish(ws.settings)
    tables = {}
    with duckdb.connect(str(ws.settings.published_db), read_only=True) as con:
        for table in [*PUBLIC_TABLES, "publish_info"]:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_schema ="
                    " 'marts' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if name not in TIME_COLUMNS | {"source_build_db", "source_build_id", "checksum"}
            ]
            select = ", ".join(f'"{name}"' for name in columns)
            frame = con.execute(f"select {select} from marts.{table} order by all").df()
            for column in frame.columns:
                if frame[column].dtype == object:  # lists (unknown_columns) as tuples
                    frame[column] = frame[column].map(
                        lambda v: (
                            tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
                        )
                    )
            tables[table] = frame
    return tables


def with_tuples(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists (unknown_columns) as tuples, so that frames sort and compare."""
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(
                lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
            )
    return frame


def assert_same_tables(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for table in left:
        pd.testing.assert_frame_equal(left[table], right[table], obj=table)


def test_thirty_files_one_by_one_and_in_random_batches_equal_one_full_build(
    source: tuple[str, list[str]], tmp_path: Path
) -> None:
    files = day_files(source)
    names = sorted(files)

    one_by_one, by_one = new_workspace(tmp_path / "one_by_one"), tmp_path / "in_one"
    for name in names:
        write(by_one, name, files[name])
        build(one_by_one, by_one, MODELS_ONLY, **REFIT_ALWAYS)
    final_changes(by_one, files)
    build(one_by_one, by_one, **REFIT_ALWAYS)  # every test too

    batches, by_batch = new_workspace(tmp_path / "batches"), tmp_path / "in_batches"
    order = list(names)
    random.Random(5).shuffle(order)
    cuts = sorted(random.Random(6).sample(range(1, N_FILES), 5))
    for batch in np.split(np.array(order), cuts):
        for name in batch:
            write(by_batch, str(name), files[str(name)])
        build(batches, by_batch, MODELS_ONLY, **REFIT_ALWAYS)
    final_changes(by_batch, files)
    build(batches, by_batch, **REFIT_ALWAYS)

    full, at_once = new_workspace(tmp_path / "full"), tmp_path / "in_full"
    for name in names:
        write(at_once, name, files[name])
    final_changes(at_once, files)
    build(full, at_once, **REFIT_ALWAYS)

    # the folders differ, so the file paths do: compare the file names
    expected = rename_sources(published(full), at_once)
    assert_same_tables(rename_sources(published(one_by_one), by_one), expected)
    assert_same_tables(rename_sources(published(batches), by_batch), expected)
    audit = expected["xdr_load_audit"].set_index("file_name")
    assert "day_20.csv" not in audit.index  # withdrawn
    assert audit.loc["day_07_again.csv", "duplicate_record_count"] == PER_FILE
    assert audit.loc["day_09.csv", "duplicate_record_count"] == 1
    assert audit.loc["day_12.csv", "read_record_count"] == PER_FILE - 40
    assert audit.loc["day_15.csv", "malformed_line_count"] == 1


def rename_sources(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, pd.DataFrame]:
    for table in ("xdr_load_audit", "xdr_quarantined_records"):
        frame = tables[table].copy()
        frame["source_file"] = frame["source_file"].str.replace(str(folder.resolve()), "", n=1)
        if "quarantine_detail" in frame:
            frame["quarantine_detail"] = frame["quarantine_detail"].str.replace(
                str(folder.resolve()), "", regex=False
            )
        tables[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return tables


@pytest.fixture(scope="module")
def daily(
    source: tuple[str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Workspace, Path, dict[str, list[str]]]:
    """A warehouse built on 29 of the 30 days, with the default refit rule."""
    files = day_files(source)
    root = tmp_path_factory.mktemp("daily")
    folder = root / "input"
    for name in sorted(files)[:-1]:
        write(folder, name, files[name])
    ws = new_workspace(root / "ws")
    build(ws, folder)
    return ws, folder, files


def customer_changes(ws: Workspace) -> int:
    return ws.query("select count(*) from intermediate.int_customers_changed")[0][0]


def test_a_rerun_without_new_files_reads_and_changes_nothing(
    daily: tuple[Workspace, Path, dict[str, list[str]]],
) -> None:
    ws, folder, _ = daily
    before = {t: ws.df(f"select * from marts.{t} order by all") for t in PUBLIC_TABLES}
    loaded = ws.query("select count(*) from intermediate.int_records_loaded")
    result = build(ws, folder)
    assert loaded_file_ids(result) == "null"  # no file was read
    assert customer_changes(ws) == 0
    assert ws.query("select count(*) from intermediate.int_records_loaded") == loaded
    for table, frame in before.items():
        pd.testing.assert_frame_equal(ws.df(f"select * from marts.{table} order by all"), frame)


def loaded_file_ids(result: object) -> str:
    """The file version ids int_records_loaded read in a build (from its compiled SQL)."""
    for node_result in result.result.results:
        if node_result.node.name == "int_records_loaded":
            sql = node_result.node.compiled_code
            return sql.split("where file_id in (", 1)[1].split(")", 1)[0]
    raise AssertionError("int_records_loaded did not run")


def labels_by_model(ws: Workspace, version: int, join: str = "") -> dict[int, int]:
    """The cluster of each customer of customer_engagement (``join``: which ones)
    under model ``version``, computed in Python: the scaler, then the nearest centroid."""
    with ws.connect() as con:
        model = con.sql(
            f"select * from marts.engagement_cluster_model where model_version = {version}"
            " order by cluster_id"
        ).to_arrow_table()
        frame = con.sql(f"select e.* from marts.customer_engagement e {join} order by msisdn").df()
    centroids = np.column_stack([model.column(f"centroid_{f}").to_numpy() for f in FEATURES])
    expected = nearest_centroid(
        apply_scaler(scaler_from_arrow(model), frame[list(FEATURES)].to_numpy(float)), centroids
    )
    return dict(zip(frame["msisdn"].tolist(), expected.tolist(), strict=True))


def test_a_small_increment_keeps_the_stored_model_and_a_large_one_refits(
    daily: tuple[Workspace, Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    ws, folder, files = daily
    models = (
        "select distinct model_version, cluster_model_id, fitted_at"
        " from marts.engagement_cluster_model"
    )
    (version, model_id, fitted_at) = ws.query(models + " order by 1 desc limit 1")[0]
    labels_before = dict(ws.query("select msisdn, cluster_id from marts.customer_clusters"))

    last = sorted(files)[-1]
    write(folder, last, files[last])
    build(ws, folder)
    changed = customer_changes(ws)
    customers = ws.query("select count(*) from marts.customer_engagement")[0][0]
    assert 0 < changed <= 0.05 * customers  # a day's file: a few percent of the customers
    assert ws.query(models + " order by 1 desc limit 1")[0] == (version, model_id, fitted_at)
    clusters = ws.df("select * from marts.customer_clusters")
    assert set(clusters["cluster_model_id"]) == {model_id}
    touched = set(ws.df("select msisdn from intermediate.int_customers_changed")["msisdn"])
    untouched = {m: c for m, c in labels_before.items() if m not in touched}
    now = dict(zip(clusters["msisdn"], clusters["cluster_id"], strict=True))
    assert {m: now[m] for m in untouched} == untouched  # nobody else moved
    # the new and changed customers were labelled with the stored model
    expected = labels_by_model(
        ws, version, "join intermediate.int_customers_changed using (msisdn)"
    )
    assert {m: now[m] for m in expected} == expected
    summary = ws.query(
        "select distinct cluster_model_id, model_fitted_at from marts.engagement_cluster_summary"
    )
    assert summary == [(model_id, fitted_at)]

    # a delivery of a quarter of the customers again under new numbers: the model refits
    header, records = files[last][0], [r for f in sorted(files)[:8] for r in files[f][1:]]
    bumped = [r.replace(",336", ",436", 1) for r in records if ",336" in r]
    write(folder, "big_day.csv", [header, *bumped])
    build(ws, folder)
    (new_version, new_id, _) = ws.query(models + " order by 1 desc limit 1")[0]
    assert new_version == version + 1 and new_id != model_id
    reason = ws.query(
        "select distinct fit_reason from marts.engagement_cluster_model"
        f" where model_version = {new_version}"
    )[0][0]
    assert "of the customers changed (more than 5.0%)" in reason
    assert ws.query("select distinct cluster_model_id from marts.customer_clusters") == [(new_id,)]


def project_that_fails_on_demand(folder: Path, model: str = "customer_engagement") -> Path:
    """A copy of the project with a data test on ``model`` that fails when var
    fail_on_purpose is true (the models after it are skipped, those before it built)."""
    project = copy_project(folder)
    (project / "tests" / "dbt" / "assert_fails_when_asked.sql").write_text(
        "-- Added by test_incremental.py to a copy of the project: fails on demand.\n"
        f"select 1 as failed from {{{{ ref('{model}') }}}}\n"
        "where {{ var('fail_on_purpose', false) }}\n"
    )
    return project


def fails_on_demand(
    source: tuple[str, list[str]], tmp_path: Path, days: int, model: str = "customer_engagement"
) -> tuple[dict[str, list[str]], Path, Workspace]:
    """The day files, an input folder with the first ``days`` of them, and a workspace
    on a copy of the project with a data test on ``model`` that fails on demand."""
    project = project_that_fails_on_demand(tmp_path / "project", model)
    files = day_files(source)
    folder = tmp_path / "input"
    for name in sorted(files)[:days]:
        write(folder, name, files[name])
    return files, folder, new_workspace(tmp_path / "ws", project_dir=project)


def assert_same_as_a_clean_build(ws: Workspace, folder: Path, tmp_path: Path) -> None:
    """The public tables of ``ws`` equal those of one build of ``folder`` from scratch."""
    fresh = new_workspace(tmp_path / "fresh", project_dir=ws.settings.project_dir)
    assert fresh.cli(["run", "--skip-report"], folder) == 0
    assert_same_tables(published_without_job(ws), published_without_job(fresh))


def test_a_failed_test_publishes_nothing_and_the_retry_applies_the_same_increment(
    source: tuple[str, list[str]], tmp_path: Path
) -> None:
    files, folder, ws = fails_on_demand(source, tmp_path, 10)
    assert ws.cli(["run", "--skip-report"], folder) == 0
    published_file = ws.settings.published_db
    before = hashlib.sha256(published_file.read_bytes()).hexdigest()

    for name in sorted(files)[10:12]:
        write(folder, name, files[name])
    argv = ["run", "--skip-report", "--", "--vars", "{fail_on_purpose: true}"]
    assert ws.cli(argv, folder) == 1
    assert hashlib.sha256(published_file.read_bytes()).hexdigest() == before
    assert not list(published_file.parent.glob(f".{published_file.name}.publish-*"))
    failed = ws.query(
        "select passed, failed_nodes from audit.dbt_builds order by finished_at desc limit 1"
    )
    assert failed == [(False, "assert_fails_when_asked (fail)")]
    applied = ws.query("select count(*) from audit.applied_file_versions")
    assert applied == [(10,)]  # the increment is not applied

    assert ws.cli(["run", "--skip-report"], folder) == 0  # the retry
    assert ws.query("select count(*) from audit.applied_file_versions") == [(12,)]
    assert_same_as_a_clean_build(ws, folder, tmp_path)


def first_build_fails_then_files_arrive(
    source: tuple[str, list[str]], tmp_path: Path, failing_model: str, left_table: str
) -> tuple[Path, Workspace]:
    """A first build of 6 files fails at a data test on ``failing_model`` (``left_table``
    is built and stays, nothing is applied), then 3 more files arrive."""
    files, folder, ws = fails_on_demand(source, tmp_path, 6, failing_model)
    argv = ["run", "--skip-report", "--", "--vars", "{fail_on_purpose: true}"]
    assert ws.cli(argv, folder) == 1
    assert ws.query("select count(*) from audit.applied_file_versions") == [(0,)]
    assert ws.query(f"select count(*) from marts.{left_table}")[0][0] > 0
    for name in sorted(files)[6:9]:
        write(folder, name, files[name])
    return folder, ws


def assert_last_build_was_full(ws: Workspace) -> None:
    last = "select full_build from audit.dbt_builds order by finished_at desc limit 1"
    assert ws.query(last) == [(True,)]


def test_a_first_build_that_failed_is_retried_as_a_full_build_over_its_tables(
    source: tuple[str, list[str]], tmp_path: Path
) -> None:
    """A full build leaves the change lists empty (every key is computed again);
    incremental tables left by a failed first build are emptied and filled again,
    not patched with an empty change list (rows doubled or stale)."""
    folder, ws = first_build_fails_then_files_arrive(
        source, tmp_path, "customer_engagement", "customer_application_traffic"
    )
    assert ws.cli(["run", "--skip-report"], folder) == 0  # the retry: still a full build
    assert_last_build_was_full(ws)
    for changes in ("int_customers_changed", "int_record_hashes_changed"):
        assert ws.query(f"select count(*) from intermediate.{changes}") == [(0,)], changes
    assert_same_as_a_clean_build(ws, folder, tmp_path)


def test_a_full_build_that_keeps_the_cluster_model_labels_every_customer_again(
    source: tuple[str, list[str]], tmp_path: Path
) -> None:
    """A first build that failed after customer_clusters was built, retried as a full
    build that keeps the stored model (cluster_refit_share 1: never refit): the change
    lists are empty, so customer_clusters labels every customer again itself."""
    folder, ws = first_build_fails_then_files_arrive(
        source, tmp_path, "engagement_cluster_summary", "customer_clusters"
    )
    argv = ["run", "--skip-report", "--", "--vars", "{cluster_refit_share: 1.0}"]
    assert ws.cli(argv, folder) == 0  # the retry: still a full build
    assert_last_build_was_full(ws)
    models = ws.query(
        "select distinct model_version, cluster_model_id from marts.engagement_cluster_model"
    )
    assert len(models) == 1, models  # the first build's fit is kept, no second version
    labels = ws.df("select msisdn, cluster_id, cluster_model_id from marts.customer_clusters")
    assert set(labels["cluster_model_id"]) == {models[0][1]}
    expected = labels_by_model(ws, models[0][0])  # every customer of customer_engagement
    assert len(labels) == len(expected)  # one label per customer, none twice
    assert dict(zip(labels["msisdn"], labels["cluster_id"], strict=True)) == expected


def published_without_job(ws: Workspace) -> dict[str, pd.DataFrame]:
    """The public tables of the build database (publish already ran)."""
    tables = {}
    for table in PUBLIC_TABLES:
        frame = ws.df(f"select * from marts.{table} order by all")
        tables[table] = with_tuples(frame.drop(columns=[c for c in frame if c in TIME_COLUMNS]))
    return tables


def test_customer_buckets_give_the_same_customers(
    daily: tuple[Workspace, Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    """Above var('customer_bucket_sessions') loaded records a full build aggregates
    the customers in buckets (one statement each): the same table."""
    _, folder, _ = daily
    ws = new_workspace(tmp_path / "buckets")
    build(ws, folder, LOAD_CHAIN)
    query = "select * from intermediate.int_customers_aggregated order by msisdn"
    one_pass = ws.query(query)
    result = ws.dbt(
        [
            "run",
            "--select",
            "int_customers_aggregated",
            "--full-refresh",
            "--log-level-file",
            "debug",
        ],
        folder,
        customer_bucket_sessions=400,
    )
    assert result.success, result.exception
    log = (ws.settings.log_dir / "dbt.log").read_text()
    assert log.count('insert into "build"."intermediate"."int_customers_aggregated"') >= 4
    assert ws.query(query) == one_pass


def test_a_changed_file_is_read_once_and_a_removed_one_leaves_every_table(
    daily: tuple[Workspace, Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    _, folder, files = daily
    ws = new_workspace(tmp_path / "changes")
    small = tmp_path / "small"
    for name in sorted(files)[:3]:
        write(small, name, files[name])
    build(ws, small, MODELS_ONLY)
    header, *records = files["day_01.csv"]
    write(small, "day_01.csv", [header, *records[:-30]], bump=3)
    result = build(ws, small, MODELS_ONLY)
    new_id = ws.query(
        "select file_id from raw.xdr_files where is_current and file_name = 'day_01.csv'"
    )[0][0]
    assert loaded_file_ids(result) == str(new_id)  # only the new version was read
    read = dict(ws.query("select file_name, read_record_count from marts.xdr_load_audit"))
    assert read["day_01.csv"] == PER_FILE - 30
    (small / "day_02.csv").unlink()
    build(ws, small)  # every test too
    assert {n for (n,) in ws.query("select file_name from marts.xdr_load_audit")} == {
        "day_00.csv",
        "day_01.csv",
    }
    fresh = new_workspace(tmp_path / "fresh")
    build(fresh, small, MODELS_ONLY)
    for table in ("customer_engagement", "customer_application_traffic", "xdr_quarantined_records"):
        query = f"select * from marts.{table} order by all"
        assert ws.query(query) == fresh.query(query), table


def test_publish_copies_the_marts_file_and_writes_only_the_changed_exports(
    source: tuple[str, list[str]], tmp_path: Path
) -> None:
    files = day_files(source)
    names = sorted(files)
    folder = tmp_path / "input"
    for name in names[:5]:
        write(folder, name, files[name])
    ws = new_workspace(tmp_path / "ws")
    assert ws.cli(["run", "--skip-report"], folder) == 0
    published_file, releases = ws.settings.published_db, ws.settings.export_dir / "releases"

    def mode() -> str:
        return ws.query("select distinct publish_mode from marts.publish_info", published_file)[0][
            0
        ]

    assert mode() == "file"
    write(folder, names[5], files[names[5]])
    log_file = ws.settings.log_dir / "xdr.log"
    log_before = log_file.read_text()
    assert ws.cli(["run", "--skip-report"], folder) == 0
    assert mode() == "file"
    # the build's public marts file was copied whole, and nothing is left beside it
    log = log_file.read_text()[len(log_before) :]
    assert f"copied {ws.settings.marts_db}" in log
    assert sorted(p.name for p in published_file.parent.glob(f".{published_file.name}*")) == [
        f".{published_file.name}.publish.lock"
    ]
    # the maintained checksums are the tables' own
    for table, checksum in ws.query(
        "select table_name, checksum from marts.publish_info", published_file
    ):
        own = ws.query(
            f"select coalesce(sum(hash(t)), 0)::varchar from marts.{table} as t", published_file
        )
        assert own == [(checksum,)], table
    release = (ws.settings.export_dir / "current").resolve()

    # nothing new, built and published all the same
    assert ws.cli(["run", "--skip-report", "--force"], folder) == 0
    assert mode() == "file"
    again = (ws.settings.export_dir / "current").resolve()
    assert again != release and again.parent == releases
    for table in PUBLIC_TABLES:  # nothing changed: every export is the previous one, linked
        assert (again / f"{table}.parquet").stat().st_ino == (
            release / f"{table}.parquet"
        ).stat().st_ino, table

    fresh = new_workspace(tmp_path / "fresh")
    assert fresh.cli(["run", "--skip-report"], folder) == 0
    assert_same_tables(
        rename_sources(published_tables(ws), folder),
        rename_sources(published_tables(fresh), folder),
    )

    # a full refresh writes the marts file anew, so the copy carries no replaced tables
    log_before = log_file.read_text()
    assert ws.cli(["run", "--skip-report", "--full-refresh"], folder) == 0
    assert (
        f"removed {ws.settings.marts_db} before the full refresh"
        in (log_file.read_text()[len(log_before) :])
    )
    assert mode() == "file"
    ((total, free),) = ws.query(
        "select total_blocks, free_blocks from pragma_database_size()", published_file
    )
    assert free <= 0.25 * total, (free, total)
    assert_same_tables(
        rename_sources(published_tables(ws), folder),
        rename_sources(published_tables(fresh), folder),
    )


def published_tables(ws: Workspace) -> dict[str, pd.DataFrame]:
    tables = {}
    for table in PUBLIC_TABLES:
        frame = ws.df(f"select * from marts.{table} order by all", ws.settings.published_db)
        tables[table] = with_tuples(frame.drop(columns=[c for c in frame if c in TIME_COLUMNS]))
    return tables
