"""The project's data tests fail on the faults they exist for.

A small warehouse is built (every test passes), then its marts are corrupted in
the build database one fault at a time (a NULL, a negative count, a duplicate
key, a total that no longer reconciles) and ``dbt test`` must fail exactly the
tests that guard against it, with the failing rows naming the faulty columns
(``store_failures``). A generic test that could never fail would pass here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from conftest import Workspace, new_workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from xdr_warehouse.generate import generate_xdr

    root = tmp_path_factory.mktemp("tamper")
    csv = root / "xdr.csv"
    generate_xdr(csv, 3_000, seed=11)
    ws = new_workspace(root / "ws")
    result = ws.dbt(["build"], csv)
    assert result.success, result.exception
    return ws


def failing_tests(ws: Workspace, select: str) -> dict[str, int]:
    """``dbt test --store-failures`` on ``select``: {test name: failing rows} of the failures."""
    result = ws.dbt(["test", "--select", select, "--store-failures"])
    assert result.result is not None, result.exception
    STORED.update({r.node.name: r.node.relation_name for r in result.result.results})
    return {
        r.node.name: int(r.failures or 0)
        for r in result.result.results
        if str(r.status) in ("fail", "error")
    }


#: Test name -> the table ``store_failures`` wrote its failing rows to.
STORED: dict[str, str] = {}


def corrupt(ws: Workspace, *statements: str) -> None:
    with ws.connect(read_only=False) as con:
        for statement in statements:
            con.execute(statement)


@contextlib.contextmanager
def tampered(ws: Workspace, table: str, *statements: str) -> Iterator[None]:
    """``marts.<table>`` changed by ``statements`` (which may read its saved copy
    ``main.saved``) inside the block; restored after it, and its tests pass again."""
    corrupt(ws, f"create table main.saved as select * from marts.{table}", *statements)
    try:
        yield
    finally:
        corrupt(
            ws,
            f"delete from marts.{table}",
            f"insert into marts.{table} select * from main.saved",
            "drop table main.saved",
        )
    assert failing_tests(ws, f"{table},test_type:generic") == {}


@contextlib.contextmanager
def unknown_changed_customer(ws: Workspace) -> Iterator[int]:
    """An MSISDN no customer has, made one of the customers this build changed
    (the tests' where config keeps those), as a build that wrote it would have."""
    (unknown,) = ws.query("select max(msisdn) + 1 from marts.customer_engagement")[0]
    changed = "intermediate.int_customers_changed"
    corrupt(ws, f"insert into {changed} (msisdn) values ({unknown})")
    try:
        yield unknown
    finally:
        corrupt(ws, f"delete from {changed} where msisdn = {unknown}")


def one_msisdn(ws: Workspace, table: str, offset: int = 0) -> int:
    sql = f"select msisdn from marts.{table} order by msisdn limit 1 offset {offset}"
    return ws.query(sql)[0][0]


def broken_rules(ws: Workspace, table: str, key: str) -> list[tuple]:
    """(key, broken_rules) of the rows ``<table>_row_rules`` failed on, by key; the
    test must have failed on nothing else in ``table``'s row rules."""
    failures = failing_tests(ws, f"{table},test_type:generic")
    name = f"{table}_row_rules"
    rows = ws.query(f"select {key}, broken_rules from {STORED[name]} order by {key}")
    assert failures.get(name) == len(rows), failures
    return rows


def test_the_build_passes_before_any_fault(small_warehouse: Workspace) -> None:
    assert failing_tests(small_warehouse, "customer_engagement customer_application_traffic") == {}


def test_null_and_negative_values_fail_the_row_rules_naming_the_rules(
    small_warehouse: Workspace,
) -> None:
    ws = small_warehouse
    first, second = one_msisdn(ws, "customer_engagement"), one_msisdn(ws, "customer_engagement", 1)
    with tampered(
        ws,
        "customer_engagement",
        f"update marts.customer_engagement set total_dl_bytes = null, session_count = null "
        f"where msisdn = {first}",
        f"update marts.customer_engagement set total_duration_ms = -1 where msisdn = {second}",
    ):
        assert broken_rules(ws, "customer_engagement", "msisdn") == sorted(
            [
                (first, "session_count is null, total_dl_bytes is null"),
                (second, "total_duration_ms < 0"),
            ]
        )


def test_an_unlisted_value_and_a_broken_rule_fail_the_row_rules(
    small_warehouse: Workspace,
) -> None:
    """accepted_values and a named rule of row_rules: a NULL is not an unlisted value
    (only the NULL is reported), a rule whose expression is NULL is broken."""
    ws = small_warehouse
    with tampered(
        ws,
        "engagement_elbow",
        "update marts.engagement_elbow set elbow_method = 'guess' where k = 1",
        "update marts.engagement_elbow set elbow_method = null where k = 2",
    ):
        assert broken_rules(ws, "engagement_elbow", "k") == [
            (1, "elbow_method not in (kneedle, max_second_difference, min_inertia)"),
            (2, "elbow_method is null"),
        ]
    with tampered(
        ws,
        "application_usage",
        "update marts.application_usage set is_top_application = not is_top_application "
        "where usage_rank = 1",
        "update marts.application_usage set is_top_application = null where usage_rank = 2",
    ):
        assert broken_rules(ws, "application_usage", "usage_rank") == [
            (1, "top_flag_matches_rank"),
            (2, "top_flag_matches_rank"),
        ]


def test_each_key_of_unique_keys_fails_on_its_own(small_warehouse: Workspace) -> None:
    """unique_keys checks every key it lists, and says which key, which value and
    whether it is NULL or duplicated."""
    ws = small_warehouse
    with tampered(
        ws,
        "top_users_by_application",
        # Email's rank 1 listed twice (both keys duplicated), Email's rank 2 without
        # an MSISDN (the second key NULL)
        "insert into marts.top_users_by_application select * from main.saved "
        "where application = 'Email' and rank = 1",
        "update marts.top_users_by_application set msisdn = null "
        "where application = 'Email' and rank = 2",
    ):
        failures = failing_tests(ws, "top_users_by_application,test_type:generic")
        name = "top_users_by_application_unique_keys"
        assert failures.get(name) == 3, failures
        [(first,)] = ws.query(
            "select msisdn from main.saved where application = 'Email' and rank = 1"
        )
        stored = ws.query(
            f"select key_columns, key_value, row_count, problem from {STORED[name]} "
            "order by key_columns, problem, key_value"
        )
        assert stored == [
            ("application, msisdn", f"Email, {first}", 2, "duplicate"),
            ("application, msisdn", "Email", 1, "null"),
            ("application, rank", "Email, 1", 2, "duplicate"),
        ]


def test_a_duplicate_key_and_a_broken_total_fail_their_tests(small_warehouse: Workspace) -> None:
    ws = small_warehouse
    msisdn = one_msisdn(ws, "customer_application_traffic")
    with tampered(
        ws,
        "customer_application_traffic",
        # one customer's Email row twice, its bytes counted twice
        f"insert into marts.customer_application_traffic select * from main.saved "
        f"where msisdn = {msisdn} and application = 'Email'",
    ):
        failures = failing_tests(ws, "customer_application_traffic")
        assert any(name.startswith("customer_application_traffic_one_row_per") for name in failures)
        assert "customer_app_traffic_plus_unattributed_equals_application_usage" in failures
        assert "customer_application_traffic_row_rules" not in failures, failures


def test_an_unknown_and_a_missing_application_and_an_unknown_customer_fail_one_test(
    small_warehouse: Workspace,
) -> None:
    """same_keys_per_group with `groups` is also the relationships test of msisdn to
    customer_engagement and of application to the seed applications: each fault
    is a row of its failures, named."""
    ws = small_warehouse
    msisdn = one_msisdn(ws, "customer_application_traffic")
    with (
        unknown_changed_customer(ws) as unknown,
        tampered(
            ws,
            "customer_application_traffic",
            # an application the seed does not list, a listed one gone entirely,
            # and one customer's Email row under a customer that does not exist
            f"insert into marts.customer_application_traffic select * replace "
            f"('Fax' as application) from main.saved where msisdn = {msisdn} "
            f"and application = 'Email'",
            "delete from marts.customer_application_traffic where application = 'Gaming'",
            f"update marts.customer_application_traffic set msisdn = {unknown} "
            f"where msisdn = {msisdn} and application = 'Email'",
        ),
    ):
        failures = failing_tests(ws, "customer_application_traffic,test_type:generic")
        name = "customer_application_traffic_one_row_per_customer_and_application"
        assert failures.get(name) == 3, failures
        # the application totals and the top-10 lists' candidates no longer match
        others = {n for n in failures if n.startswith("complete_top_n_top_users")}
        assert set(failures) - others == {
            name,
            "customer_app_traffic_plus_unattributed_equals_application_usage",
        }
        (customers,) = ws.query("select count(*) from marts.customer_engagement")[0]
        stored = ws.query(
            f"select group_key, problem, key_rows, parent_key_rows from {STORED[name]} "
            "order by group_key"
        )
        assert stored == [
            ("Email", "keys differ", customers, customers),
            ("Fax", "unknown group", 1, customers),
            ("Gaming", "missing group", 0, customers),
        ]


def test_a_null_and_a_duplicate_key_fail_the_primary_key_test(small_warehouse: Workspace) -> None:
    ws = small_warehouse
    with tampered(
        ws,
        "xdr_load_audit",
        # one file listed twice, and a row without a file name
        "insert into marts.xdr_load_audit select * from main.saved limit 1",
        "insert into marts.xdr_load_audit select * replace (null as source_file) "
        "from main.saved limit 1",
    ):
        failures = failing_tests(ws, "xdr_load_audit,test_type:generic")
        name = "primary_key_xdr_load_audit_source_file"
        assert failures.get(name) == 2, failures
        stored = ws.query(
            f"select problem, row_count, key_value is null from {STORED[name]} order by problem"
        )
        assert stored == [("duplicate", 2, False), ("null", 1, True)]


def test_a_broken_total_fails_the_grouped_reconciliation_naming_its_check(
    small_warehouse: Workspace,
) -> None:
    ws = small_warehouse
    with tampered(
        ws,
        "engagement_cluster_summary",
        # one cluster's duration total one millisecond off
        "update marts.engagement_cluster_summary set total_value = total_value + 1 "
        "where metric = 'duration_ms' and cluster_id = 0",
    ):
        failures = failing_tests(ws, "engagement_cluster_summary,test_type:generic")
        name = "engagement_cluster_summary_reconciles_with_customer_engagement"
        assert failures.get(name) == 1, failures
        stored = ws.query(f"select check_name, model_total - compare_total from {STORED[name]}")
        assert stored == [("duration", 1)]


def test_a_duplicate_a_missing_and_an_unknown_customer_fail_one_row_per_key_of(
    small_warehouse: Workspace,
) -> None:
    ws = small_warehouse
    duplicated, removed = (
        one_msisdn(ws, "customer_clusters"),
        one_msisdn(ws, "customer_clusters", 1),
    )
    with (
        unknown_changed_customer(ws) as unknown,
        tampered(
            ws,
            "customer_clusters",
            f"insert into marts.customer_clusters select * from main.saved "
            f"where msisdn = {duplicated}",
            f"delete from marts.customer_clusters where msisdn = {removed}",
            f"insert into marts.customer_clusters select * replace ({unknown} as msisdn) "
            f"from main.saved where msisdn = {duplicated}",
        ),
    ):
        failures = failing_tests(ws, "customer_clusters,test_type:generic")
        (name,) = [n for n in failures if n.startswith("one_row_per_key_of_customer_clusters")]
        assert failures[name] == 3, failures
        # the summary counts customers per cluster: the extra rows show there too
        assert set(failures) == {name, "engagement_cluster_summary_customers_match_clusters"}
        stored = ws.query(
            f"select key_value, problem, row_count from {STORED[name]} order by problem"
        )
        assert stored == [
            (duplicated, "duplicate", 2),
            (removed, "missing", 0),
            (unknown, "unknown", 1),
        ]


def test_a_gap_or_a_repeat_in_a_files_record_numbers_fails_a_test(
    small_warehouse: Workspace,
) -> None:
    # assert_every_line_of_every_file_was_read checks the count and the first and
    # last numbers and leaves repeats to the unique_combination test: together
    # they catch a repeat that hides a gap (numbers 1, 3, 3, 4, ..., n)
    ws = small_warehouse
    table = "intermediate.int_records_loaded"
    assert ws.query(f"select count(distinct file_id) from {table}") == [(1,)]
    (last,) = ws.query(f"select max(record_number) from {table}")[0]
    select = "int_records_loaded,test_type:generic assert_every_line_of_every_file_was_read"
    cases = [
        (last, last + 1, "assert_every_line_of_every_file_was_read"),
        (2, 3, "unique_combination_int_records_loaded_file_id__record_number"),
    ]
    for number, new_number, failing in cases:
        ((row,),) = ws.query(f"select rowid from {table} where record_number = {number}")
        corrupt(ws, f"update {table} set record_number = {new_number} where rowid = {row}")
        try:
            assert set(failing_tests(ws, select)) == {failing}, (number, new_number)
        finally:
            corrupt(ws, f"update {table} set record_number = {number} where rowid = {row}")
    assert failing_tests(ws, select) == {}
