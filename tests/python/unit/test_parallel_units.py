"""The work units of a parallel test run (pytest-xdist, tests/python/conftest.py).

Every test that starts a Spark JVM must be in the one Spark unit: a second
worker running a Spark test would start a second JVM, whose session fixtures
(the SparkSession, the DuckDB job the Spark jobs are compared with) are built
again. Every other test's unit is its module, so that module fixtures are built
once.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from conftest import REPO, pytest_collection_modifyitems, pytest_xdist_make_scheduler, work_unit

#: A module's or a test's ``spark`` mark, as the Spark tests set it.
SPARK_MARK = re.compile(r"^(pytestmark = .*|@)pytest[.]mark[.]spark\b", re.MULTILINE)


def test_every_spark_test_module_is_in_the_spark_unit_and_no_other_is() -> None:
    modules = {
        path.relative_to(REPO).as_posix(): path.read_text()
        for path in (REPO / "tests" / "python").rglob("test_*.py")
    }
    marked = {name for name, text in modules.items() if SPARK_MARK.search(text)}
    in_unit = {name for name in modules if work_unit(f"{name}::test") == "spark"}
    assert len(marked) >= 5  # the Spark modules were found
    assert in_unit == marked


def test_other_tests_are_grouped_by_module() -> None:
    assert work_unit("tests/python/e2e/test_job.py::test_a[x::y]") == "tests/python/e2e/test_job.py"
    assert work_unit("tests/python/unit/test_sql.py::test_b") == "tests/python/unit/test_sql.py"
    assert work_unit("tests/python/spark/test_spark_raw.py::test_c") == "spark"


def test_the_spark_tests_come_first_and_the_rest_keep_their_order() -> None:
    ids = [
        "tests/python/dashboard/test_a.py::t1",
        "tests/python/spark/test_b.py::t2",
        "tests/python/e2e/test_c.py::t3",
        "tests/python/spark/test_d.py::t4",
    ]
    items = [SimpleNamespace(nodeid=nodeid) for nodeid in ids]
    pytest_collection_modifyitems(items)
    assert [item.nodeid for item in items] == [ids[1], ids[3], ids[0], ids[2]]


def test_xdists_scheduler_uses_the_units() -> None:
    config = SimpleNamespace(getvalue=lambda name: ["popen"] if name == "tx" else None)
    scheduler = pytest_xdist_make_scheduler(config, None)
    for nodeid in (
        "tests/python/spark/test_spark_cluster.py::test_x",
        "tests/python/e2e/test_incremental.py::test_y",
    ):
        assert scheduler._split_scope(nodeid) == work_unit(nodeid)
