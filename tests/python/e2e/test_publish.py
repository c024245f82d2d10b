"""Write-audit-publish of the BI file (python/xdr_warehouse/publish.py).

- publish() on the warehouse built by dbt (``built_warehouse``, 20k records) and on
  small hand-made build databases: contents, types, comments, Parquet exports;
- readers in other processes (reconnecting, pinned, Parquet) while the file is
  published again and again, and while `xdr run` rebuilds and publishes: every
  answer is the complete old or the complete new state, never an error;
- failures (missing tables, locked or missing build database, read-only folder,
  disk full, a killed publish, a failing dbt test) leave the published file as it was.

The failing-test case runs `python -m xdr_warehouse run` in a copy of the dbt
project (tmp folder) to which the test adds one singular data test that always
fails; the product's models and tests are not touched.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse import atomic, job
from xdr_warehouse import publish as pub
from xdr_warehouse.publish import PublishError, publish

from conftest import PUBLIC_TABLES, Workspace
from helpers_publish import (
    copy_project,
    derive_build_db,
    file_state,
    make_build_db,
    parquet_state,
    read_only_folder,
    readers,
    run_xdr,
    sha256,
    small_filesystem,
    start_hanging_publish,
)

SMALL_TABLES = ("customer_engagement", "xdr_load_audit")
FAILING_TEST = "assert_publish_guard_deliberately_fails"


@dataclass(frozen=True)
class Target:
    """Where one test publishes."""

    published: Path
    export_dir: Path

    @property
    def folder(self) -> Path:
        return self.published.parent

    def temp_files(self) -> list[Path]:
        hidden = sorted(self.folder.glob(f".{self.published.name}.publish-*"))
        releases = self.export_dir / "releases"
        unfinished = sorted(releases.glob(".tmp-*")) if releases.is_dir() else []
        return hidden + unfinished

    def current_release(self) -> str:
        return os.readlink(self.export_dir / "current")

    def state(self, tables=PUBLIC_TABLES) -> dict:
        return file_state(self.published, tables)


@pytest.fixture
def target(tmp_path: Path) -> Target:
    return Target(tmp_path / "pub" / "engagement.duckdb", tmp_path / "pub" / "parquet")


@pytest.fixture(scope="module")
def build_a(built_warehouse: Workspace) -> Path:
    """Dataset A: the public marts dbt built on 20k generated records (their own file)."""
    return built_warehouse.settings.marts_db


@pytest.fixture(scope="module")
def build_b(build_a: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dataset B: A without every third row of each mart (other counts and checksums)."""
    path = tmp_path_factory.mktemp("build_b") / "build.duckdb"
    derive_build_db(build_a, path)
    return path


@pytest.fixture(scope="module")
def states(build_a: Path, build_b: Path) -> dict[str, dict]:
    state_a, state_b = file_state(build_a, PUBLIC_TABLES), file_state(build_b, PUBLIC_TABLES)
    assert all(state_a[t] != state_b[t] for t in PUBLIC_TABLES if state_a[t][0] > 1)
    return {"A": state_a, "B": state_b}


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    """Two small hand-made build databases (datasets A and B)."""
    a, b = tmp_path / "small" / "a.duckdb", tmp_path / "small" / "b.duckdb"
    make_build_db(a, rows=500, seed=0)
    make_build_db(b, rows=700, seed=1)
    return a, b


def catalog(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def marts_columns(db: Path) -> list[tuple]:
    return catalog(
        db,
        "select table_name, column_index, column_name, data_type, is_nullable, comment "
        "from duckdb_columns() where schema_name = 'marts' and table_name <> 'publish_info' "
        "order by table_name, column_index",
    )


def assert_one_line(err: pytest.ExceptionInfo, *needles: str) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


# --------------------------------------------------------------------------- contents


def test_published_file_holds_only_public_marts_with_types_and_comments(
    build_a: Path, target: Target, states: dict
) -> None:
    result = publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)

    assert [t.name for t in result.tables] == list(PUBLIC_TABLES)
    relations = catalog(
        target.published,
        "select schema_name, table_name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views() where not internal",
    )
    assert {schema for schema, _ in relations} == {"marts"}
    assert sorted(name for _, name in relations) == sorted([*PUBLIC_TABLES, "publish_info"])

    # Same columns, types, nullability and column comments as dbt built them.
    public = [c for c in marts_columns(build_a) if c[0] in PUBLIC_TABLES]
    assert marts_columns(target.published) == public
    assert sum(c[5] is not None for c in public) >= len(public) * 0.9  # persist_docs worked

    table_comments = "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
    built = {n: c for n, c in catalog(build_a, table_comments) if n in PUBLIC_TABLES}
    assert all(built.values())
    published = dict(catalog(target.published, table_comments))
    assert {n: published[n] for n in PUBLIC_TABLES} == built
    assert published["publish_info"]

    # The data: every table equals the build's, and publish_info says so.
    assert target.state() == states["A"]
    info = catalog(
        target.published,
        "select table_name, row_count, checksum, publish_id from marts.publish_info",
    )
    assert {name: [rows, checksum] for name, rows, checksum, _ in info} == states["A"]
    assert {publish_id for *_, publish_id in info} == {result.publish_id}

    # Readable by BI tools that bundle an older DuckDB (storage format v1.0.0).
    (tags,) = catalog(
        target.published, "select tags from duckdb_databases() where database_name = 'engagement'"
    )
    assert tags[0]["storage_version"].startswith("v1.0.0")
    # Read-only on disk: a tool trying to open it read-write fails instead of locking readers out.
    assert stat.S_IMODE(target.published.stat().st_mode) == 0o444
    assert target.temp_files() == []


def test_published_file_opens_through_sqlalchemy_duckdb_engine(
    build_a: Path, target: Target, states: dict
) -> None:
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)
    engine = create_engine(f"duckdb:///{target.published}", connect_args={"read_only": True})
    try:
        with engine.connect() as con:
            rows = con.execute(text("select count(*) from marts.customer_engagement")).scalar()
            assert [rows] == states["A"]["customer_engagement"][:1]
            comments = con.execute(
                text(
                    "select count(*), count(comment) from duckdb_columns() "
                    "where table_name = 'customer_engagement'"
                )
            ).one()
            assert comments[0] == comments[1] > 0
            with pytest.raises(SQLAlchemyError, match="read-only"):
                con.execute(text("create table marts.scratch as select 1"))
        inspector = inspect(engine)
        assert set(inspector.get_table_names(schema="marts")) == {*PUBLIC_TABLES, "publish_info"}
        assert inspector.get_table_comment("customer_engagement", schema="marts")["text"]
    finally:
        engine.dispose()


def test_sqlalchemy_column_reflection(small: tuple[Path, Path], target: Target) -> None:
    from sqlalchemy import create_engine, inspect

    publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    engine = create_engine(f"duckdb:///{target.published}", connect_args={"read_only": True})
    try:
        columns = inspect(engine).get_columns("customer_engagement", schema="marts")
        assert {c["name"]: c["comment"] for c in columns}["msisdn"] == "Customer number."
    finally:
        engine.dispose()


def test_parquet_exports_are_a_complete_release_with_descriptions(
    build_a: Path, target: Target, states: dict
) -> None:
    result = publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)

    assert target.current_release() == f"releases/{result.publish_id}"
    release = target.export_dir / "current"
    assert sorted(p.name for p in release.iterdir()) == sorted(
        f"{t}.parquet" for t in [*PUBLIC_TABLES, "publish_info"]
    )
    counts = {t: state[0] for t, state in parquet_state(release, PUBLIC_TABLES).items()}
    assert counts == {t: state[0] for t, state in states["A"].items()}
    with duckdb.connect(":memory:") as con:
        metadata = dict(
            con.execute(
                "select decode(key), decode(value) from parquet_kv_metadata(?)",
                [str(release / "customer_engagement.parquet")],
            ).fetchall()
        )
        parquet_types = con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))",
            [str(release / "customer_engagement.parquet")],
        ).fetchall()
    (comment,) = catalog(
        build_a,
        "select comment from duckdb_tables() where table_name = 'customer_engagement'",
    )[0]
    assert metadata["description"] == comment
    assert json.loads(metadata["column_descriptions"])["msisdn"].startswith("Customer number")
    built_types = [(c[2], c[3]) for c in marts_columns(build_a) if c[0] == "customer_engagement"]
    assert parquet_types == built_types


def test_parquet_format_versions_are_read_alike_and_never_mixed_in_a_release(
    build_a: Path, target: Target, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    def encodings(path: Path, column: str) -> set[str]:
        metadata = pq.ParquetFile(path).metadata
        return {
            encoding
            for group in range(metadata.num_row_groups)
            for chunk in [metadata.row_group(group).column(metadata.schema.names.index(column))]
            for encoding in chunk.encodings
        }

    def version(path: Path) -> str:
        return pq.ParquetFile(path).metadata.metadata[b"parquet_version"].decode()

    first = publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)
    v2 = first.release_dir / "customer_application_traffic.parquet"
    assert version(v2) == "v2" and "DELTA_BINARY_PACKED" in encodings(v2, "dl_bytes")
    # Arrow (not DuckDB) reads every row and value DuckDB published
    with duckdb.connect(str(target.published), read_only=True) as con:
        published = con.sql(
            "select * from marts.customer_application_traffic order by msisdn, application"
        ).to_arrow_table()
    arrow = pq.read_table(v2).sort_by([("msisdn", "ascending"), ("application", "ascending")])
    assert arrow.num_rows > 1_000 and arrow.to_pydict() == published.to_pydict()

    # v1: the same rows; a table left unchanged is written again in the new
    # format, not linked from the v2 release
    v1_release = tmp_path / "v1"
    pub.write_parquet_release(
        target.published, v1_release, target.published, PUBLIC_TABLES,
        unchanged_from=first.release_dir, unchanged=frozenset(PUBLIC_TABLES),
        parquet_version="v1",
    )  # fmt: skip
    v1 = v1_release / "customer_application_traffic.parquet"
    assert version(v1) == "v1" and "DELTA_BINARY_PACKED" not in encodings(v1, "dl_bytes")
    assert os.stat(v1).st_ino != os.stat(v2).st_ino
    assert parquet_state(v1_release, PUBLIC_TABLES) == parquet_state(
        first.release_dir, PUBLIC_TABLES
    )
    # the same version again: linked
    again = tmp_path / "again"
    pub.write_parquet_release(
        target.published, again, target.published, PUBLIC_TABLES,
        unchanged_from=v1_release, unchanged=frozenset(PUBLIC_TABLES), parquet_version="v1",
    )  # fmt: skip
    assert os.stat(again / "customer_application_traffic.parquet").st_ino == os.stat(v1).st_ino


def test_dbt_show_reads_the_published_file_through_the_read_only_target(
    built_warehouse: Workspace, build_a: Path, target: Target, states: dict
) -> None:
    publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)
    result = built_warehouse.dbt(
        [
            "show",
            "--target",
            "published",
            "--inline",
            "select count(*) as n from marts.customer_engagement",
        ],
        xdr_published_db=str(target.published),
    )
    assert result.success, result.exception
    (row,) = result.result.results[0].agate_table.rows
    assert [int(row[0])] == states["A"]["customer_engagement"][:1]


# --------------------------------------------------------------------------- publishing again


def test_publishing_twice_in_a_row_swaps_file_and_release(
    small: tuple[Path, Path], target: Target
) -> None:
    first = publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    old_inode = target.published.stat().st_ino
    second = publish(small[1], target.published, target.export_dir, SMALL_TABLES)

    assert second.publish_id > first.publish_id
    assert target.published.stat().st_ino != old_inode  # a new file, renamed into place
    assert target.state(SMALL_TABLES) == file_state(small[1], SMALL_TABLES)
    assert target.current_release() == f"releases/{second.publish_id}"
    releases = sorted(p.name for p in (target.export_dir / "releases").iterdir())
    assert releases == [first.publish_id, second.publish_id]
    assert target.temp_files() == []
    assert not target.published.with_name("engagement.duckdb.wal").exists()

    third = publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    removed = pub.prune_releases(target.export_dir, grace_seconds=0)
    assert removed == [target.export_dir / "releases" / first.publish_id]
    releases = sorted(p.name for p in (target.export_dir / "releases").iterdir())
    assert releases == [second.publish_id, third.publish_id]  # current and the one before


def test_readers_see_complete_old_or_new_state_while_publishing_repeatedly(
    build_a: Path, build_b: Path, target: Target, states: dict, tmp_path: Path
) -> None:
    publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)
    release_states: dict[str, str] = {}
    with readers(target.published, target.export_dir, PUBLIC_TABLES, tmp_path) as running:
        first_release = target.current_release().split("/")[-1]
        for label, build in [("B", build_b), ("A", build_a)] * 2:
            result = publish(build, target.published, target.export_dir, PUBLIC_TABLES)
            release_states[result.publish_id] = label
            # The second answer from now began after this publish: each state gets seen.
            for reader in running.values():
                reader.wait_for_answers(len(reader.answers()) + 2)
        answers = {mode: reader.stop() for mode, reader in running.items()}

    for mode, found in answers.items():
        errors = [a["error"] for a in found if "error" in a]
        assert errors == [], f"{mode}: {errors[:3]}"
    seen = [
        "A" if a["state"] == states["A"] else "B" if a["state"] == states["B"] else "mixed"
        for a in answers["read-duckdb"]
    ]
    assert "mixed" not in seen
    assert {"A", "B"} <= set(seen), "the reader should have seen both datasets"
    # A connection opened before the publishes keeps its snapshot until it reconnects.
    assert all(a["state"] == states["A"] for a in answers["read-pinned"])

    # Parquet readers that resolve `current` once read one complete release.
    release_states[first_release] = "A"
    parquet_expected = {
        label: parquet_state(target.export_dir / "releases" / release, PUBLIC_TABLES)
        for release, label in sorted(release_states.items())[:2]
    }
    for answer in answers["read-parquet"]:
        assert answer["state"] == parquet_expected[release_states[answer["release"]]]
    assert len({a["release"] for a in answers["read-parquet"]}) >= 2


# --------------------------------------------------------------------------- failures


def test_missing_public_tables_fail_in_one_line_naming_them(
    small: tuple[Path, Path], target: Target
) -> None:
    publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    before = sha256(target.published)

    with pytest.raises(PublishError) as err:
        publish(
            small[1], target.published, target.export_dir, PUBLIC_TABLES
        )  # the full public list
    missing = [t for t in PUBLIC_TABLES if t not in SMALL_TABLES]
    assert_one_line(err, str(small[1]), *missing, "was not changed")
    assert "customer_engagement," not in str(err.value)
    assert sha256(target.published) == before
    assert target.temp_files() == []


def test_missing_build_database(tmp_path: Path, target: Target) -> None:
    with pytest.raises(PublishError) as err:
        publish(tmp_path / "nope.duckdb", target.published, target.export_dir, SMALL_TABLES)
    assert_one_line(err, "nope.duckdb", "does not exist")


def test_build_database_locked_by_a_writer(
    small: tuple[Path, Path], target: Target, tmp_path: Path
) -> None:
    publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    before = sha256(target.published)
    ready = tmp_path / "writer.ready"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, pathlib, sys, time; con = duckdb.connect(sys.argv[1]); "
            "pathlib.Path(sys.argv[2]).touch(); time.sleep(60)",
            str(small[1]),
            str(ready),
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(PublishError) as err:
            publish(small[1], target.published, target.export_dir, SMALL_TABLES)
    finally:
        writer.kill()
        writer.wait()
    assert_one_line(err, str(small[1]), "open for writing by another process", str(writer.pid))
    assert sha256(target.published) == before


@pytest.mark.parametrize("folder", ["published folder", "export folder"])
def test_read_only_target_folder_keeps_the_published_file(
    small: tuple[Path, Path], tmp_path: Path, folder: str
) -> None:
    target = Target(tmp_path / "db" / "engagement.duckdb", tmp_path / "exports")
    publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    before, release = sha256(target.published), target.current_release()
    locked = target.folder if folder == "published folder" else target.export_dir
    with read_only_folder(locked) as how:
        if not how:
            pytest.skip("running as root without mount permission: cannot make a folder read-only")
        with pytest.raises(PublishError) as err:
            publish(small[1], target.published, target.export_dir, SMALL_TABLES)
    assert_one_line(err, "cannot write", str(locked), "was not changed")
    assert sha256(target.published) == before
    assert target.current_release() == release
    assert target.temp_files() == []


def _disk_full_in_duckdb(*args: object) -> None:
    raise duckdb.IOException('IO Error: Could not write file "x": No space left on device')


def _disk_full_in_fsync(path: Path) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@pytest.mark.parametrize(
    ("module", "function", "replacement"),
    [(pub, "_copy_table", _disk_full_in_duckdb), (atomic, "fsync", _disk_full_in_fsync)],
    ids=["while-copying", "while-syncing"],
)
def test_disk_full_keeps_the_published_file(
    small: tuple[Path, Path],
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    function: str,
    replacement: object,
) -> None:
    publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    before, release = sha256(target.published), target.current_release()
    monkeypatch.setattr(module, function, replacement)
    with pytest.raises(PublishError) as err:
        publish(small[1], target.published, target.export_dir, SMALL_TABLES)
    assert_one_line(err, "disk full", str(target.folder), "was not changed")
    assert sha256(target.published) == before
    assert target.current_release() == release
    assert target.temp_files() == []


def test_really_full_disk_keeps_the_published_file(
    small: tuple[Path, Path], build_a: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "full"
    with small_filesystem(folder, "4m") as mounted:
        if not mounted:
            pytest.skip("needs root and mount permission for a small tmpfs")
        target = Target(folder / "engagement.duckdb", folder / "parquet")
        publish(small[0], target.published, target.export_dir, SMALL_TABLES)
        before, release = sha256(target.published), target.current_release()
        with pytest.raises(PublishError) as err:  # the 20k warehouse does not fit in 4 MB
            publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)
        assert_one_line(err, "disk full", "was not changed")
        assert sha256(target.published) == before
        assert target.current_release() == release
        assert target.temp_files() == []


@pytest.mark.parametrize(
    ("phase", "published_after_kill"),
    [
        ("copied table", "old"),
        ("wrote Parquet exports", "old"),
        ("swapped in", "new"),
    ],
)
def test_killed_publish_leaves_a_valid_published_file(
    small: tuple[Path, Path],
    target: Target,
    tmp_path: Path,
    phase: str,
    published_after_kill: str,
) -> None:
    old, new = small
    publish(old, target.published, target.export_dir, SMALL_TABLES)
    old_release = target.current_release()
    marker = tmp_path / "marker"
    child = start_hanging_publish(
        new, target.published, target.export_dir, phase, marker, SMALL_TABLES
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "publish never got there"
            time.sleep(0.02)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert marker.read_text().startswith(phase)

    expected = file_state(old if published_after_kill == "old" else new, SMALL_TABLES)
    assert target.state(SMALL_TABLES) == expected  # opens and holds one complete dataset
    assert target.current_release() == old_release
    if published_after_kill == "old":
        assert target.temp_files(), "the killed publish should have left its temp files"

    result = publish(new, target.published, target.export_dir, SMALL_TABLES)
    assert target.temp_files() == []
    assert target.state(SMALL_TABLES) == file_state(new, SMALL_TABLES)
    assert target.current_release() == f"releases/{result.publish_id}"
    releases = sorted(p.name for p in (target.export_dir / "releases").iterdir())
    assert releases == [old_release.split("/")[-1], result.publish_id]


def test_stale_wal_of_the_published_file_is_never_replayed_onto_the_new_one(
    small: tuple[Path, Path], target: Target
) -> None:
    publish(small[0], target.published, target.export_dir, SMALL_TABLES)
    wal = target.published.with_name("engagement.duckdb.wal")
    wal.write_bytes(b"left behind by a tool that opened the file read-write")
    publish(small[1], target.published, target.export_dir, SMALL_TABLES)
    assert not wal.exists()
    assert target.state(SMALL_TABLES) == file_state(small[1], SMALL_TABLES)


def test_publish_step_takes_every_path_and_limit_from_the_settings(
    built_warehouse: Workspace,
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`xdr publish` publishes the public models of dbt's manifest (the BI contract)
    from the settings' build database, with the build's DuckDB limits."""
    settings = replace(
        built_warehouse.settings,
        published_db=target.published,
        export_dir=target.export_dir,
        memory_limit="700MB",
        duckdb_threads=1,
    )
    seen: dict[str, object] = {}
    real_connect = pub._connect

    def spy(limits: pub.DuckDBLimits, *args: object, **kwargs: object) -> object:
        seen["limits"] = limits
        return real_connect(limits, *args, **kwargs)

    monkeypatch.setattr(pub, "_connect", spy)
    result = job.publish(settings)
    assert result.published_db == target.published and result.build_db == settings.marts_db
    assert [t.name for t in result.tables] == list(PUBLIC_TABLES)
    assert seen["limits"] == pub.DuckDBLimits("700MB", 1)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and f"published {len(PUBLIC_TABLES)} tables" in out
    with duckdb.connect(str(target.published), read_only=True) as con:
        assert con.execute("select distinct engine from marts.publish_info").fetchall() == [
            ("duckdb",)
        ]


def _limits(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    return con.execute(
        "select current_setting('memory_limit'), current_setting('threads')::varchar"
    ).fetchall()[0]


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (pub.DuckDBLimits(), {"memory_limit": "1.5GB", "threads": "2"}),
        (pub.DuckDBLimits("300MB", 1), {"memory_limit": "300MB", "threads": "1"}),
    ],
)
def test_publish_connections_take_the_build_memory_limit_and_threads(
    limits: pub.DuckDBLimits, expected: dict[str, str]
) -> None:
    """Publishing 100M-record marts took 80 % of RAM under DuckDB's defaults: the
    publish step uses the build's settings (the same defaults as profiles.yml)."""
    with pub._connect(limits) as con, duckdb.connect(config=expected) as direct:
        assert _limits(con) == _limits(direct)
        assert _limits(con) != _limits(duckdb.connect())  # not DuckDB's defaults


# --------------------------------------------------------------------------- the main job


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second raw input (3,000 generated records, another seed)."""
    from xdr_warehouse.generate import generate_xdr

    path = tmp_path_factory.mktemp("data_b") / "xdr_b.csv"
    generate_xdr(path, 3_000, seed=11)
    return path


def job_env(tmp_path: Path, xdr_path: Path, target: Target) -> dict[str, str]:
    return {
        "XDR_PATH": str(xdr_path),
        "XDR_BUILD_DB": str(tmp_path / "job" / "build.duckdb"),
        "XDR_MARTS_DB": str(tmp_path / "job" / "build.marts.duckdb"),
        "XDR_PUBLISHED_DB": str(target.published),
        "XDR_EXPORT_DIR": str(target.export_dir),
        "XDR_TEMP_DIR": str(tmp_path / "job" / "tmp"),
        "DBT_TARGET_PATH": str(tmp_path / "job" / "target"),
        "DBT_LOG_PATH": str(tmp_path / "job" / "logs"),
    }


def test_failing_data_test_stops_the_job_before_publish(
    build_a: Path, small_csv: Path, target: Target, states: dict, tmp_path: Path
) -> None:
    publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)
    before, release = sha256(target.published), target.current_release()
    project = copy_project(tmp_path / "project")
    (project / "tests" / "dbt" / f"{FAILING_TEST}.sql").write_text(
        "-- Added by test_publish.py to a copy of the project: always fails.\n"
        "select msisdn from {{ ref('customer_engagement') }} where session_count > 0\n"
    )
    with readers(target.published, target.export_dir, PUBLIC_TABLES, tmp_path, 0.2) as running:
        job = run_xdr(project, job_env(tmp_path, small_csv, target), "--skip-report")
        answers = {mode: reader.stop() for mode, reader in running.items()}

    assert job.returncode != 0, job.stdout
    assert FAILING_TEST in job.stderr, job.stderr
    assert "==> publish" not in job.stdout, job.stdout
    assert sha256(target.published) == before
    assert target.current_release() == release
    # The build's marts file already holds the new, untested customer_engagement; BI never
    # saw it.
    rebuilt = file_state(
        Path(job_env(tmp_path, small_csv, target)["XDR_MARTS_DB"]), ["customer_engagement"]
    )
    assert rebuilt["customer_engagement"] != states["A"]["customer_engagement"]
    for mode in ("read-duckdb", "read-pinned"):
        assert all(a.get("state") == states["A"] for a in answers[mode]), mode


def test_main_job_publishes_while_readers_keep_reading(
    build_a: Path, small_csv: Path, target: Target, states: dict, tmp_path: Path
) -> None:
    publish(build_a, target.published, target.export_dir, PUBLIC_TABLES)
    project = copy_project(tmp_path / "project")
    env = job_env(tmp_path, small_csv, target)
    with readers(target.published, target.export_dir, PUBLIC_TABLES, tmp_path, 0.2) as running:
        job = run_xdr(project, env, "--skip-report")
        running["read-duckdb"].wait_for_answers(len(running["read-duckdb"].answers()) + 3)
        answers = {mode: reader.stop() for mode, reader in running.items()}

    assert job.returncode == 0, job.stderr
    assert f"published {len(PUBLIC_TABLES)} tables" in job.stdout
    state_b = file_state(Path(env["XDR_MARTS_DB"]), PUBLIC_TABLES)
    assert target.state() == state_b != states["A"]
    for mode, found in answers.items():
        assert [a for a in found if "error" in a] == [], mode
    seen = [
        "A" if a["state"] == states["A"] else "B" if a["state"] == state_b else "mixed"
        for a in answers["read-duckdb"]
    ]
    assert seen[0] == "A" and seen[-1] == "B" and "mixed" not in seen
    assert seen == sorted(seen), "once the new state is visible, the old one never comes back"
