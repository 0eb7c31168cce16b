"""The k rule's certifying gate: a bitmap lower bound releases a group only when it proves at
least k distinct units; groups it cannot decide make the engine run the exact count instead.
Both engines must give exactly the answer of count(DISTINCT unit) >= k, group by group."""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.rawstore import open_dataset, write_dataset
from domain.sql import DatasetScope, Scope, check
from domain.sql.engines.base import run_plan

K = 10
# (group, distinct units, rows per unit): clearly large, around k, below k with many rows, tiny
SHAPES = [("big", 400, 3), ("k", 10, 5), ("k1", 11, 2), ("k2", 12, 7), ("k5", 15, 1),
          ("below", 9, 20), ("one", 1, 50), ("tiny", 3, 2)] + [(f"n{d}", d, 3) for d in range(8, 30)]


def visits_table(shapes) -> pa.Table:
    person, group, weight = [], [], []
    serial = 0
    for name, units, rows in shapes:
        for _ in range(units):
            serial += 1
            for r in range(rows):
                person.append(f"P{serial:09d}")
                group.append(name)
                weight.append(float(r + 1))
    return pa.table({"person": person, "grp": group, "w": weight})


def visits_scope(k: int = K) -> Scope:
    return Scope((DatasetScope.build("visits", {
        "person": "direct_identifier", "grp": "quasi_identifier", "w": ("other", "DOUBLE")}, "person",
        min_group_size=k, suppress_below=0, round_to=1),))


def exact_answer(data: pa.Table, k: int = K) -> tuple[dict, int]:
    con = duckdb.connect()
    con.register("visits", data)
    rows = con.sql("SELECT grp, count(*), count(DISTINCT person) FROM visits GROUP BY grp").fetchall()
    con.close()
    kept = {g: n for g, n, d in rows if d >= k}
    return kept, sum(1 for _, _, d in rows if d < k)


def plain_runner(data: pa.Table):
    con = duckdb.connect()
    con.register("visits", data)
    calls: list[str] = []

    def run(sql: str) -> pa.Table:
        calls.append(sql)
        return con.sql(sql).to_arrow_table()
    return run, calls


@pytest.fixture(scope="module")
def visits():
    return visits_table(SHAPES)


@pytest.fixture(scope="module")
def visits_source(visits, tmp_path_factory):
    root = tmp_path_factory.mktemp("visits")
    key = os.urandom(32)
    write_dataset(visits, root / "visits", key)
    return {"visits": open_dataset(root / "visits", key)}


QUERY = "SELECT grp, count(*) AS n FROM visits GROUP BY grp"


def test_engines_keep_exactly_the_groups_with_k_units(engine, visits, visits_source, limits, monkeypatch):
    from domain.sql.engines import base

    monkeypatch.setattr(base, "_EXACT_PLANS", base.OrderedDict())  # certify first, on every engine
    decision = check(QUERY, visits_scope())
    assert decision.allowed and decision.plan.exact_sql  # a certifying plan with its exact twin
    result = engine.execute(decision, visits_source, limits)
    kept, dropped = exact_answer(visits)
    assert dict(zip(*[result.table.column(i).to_pylist() for i in range(2)])) == kept
    assert result.rows_suppressed == dropped


def test_certifying_sql_alone_never_releases_a_small_group(visits):
    plan = check(QUERY, visits_scope()).plan
    run, _ = plain_runner(visits)
    alone = run(plan.sql)
    kept, _ = exact_answer(visits)
    released = dict(zip(alone.column(0).to_pylist(), alone.column(1).to_pylist()))
    assert released.items() <= kept.items()
    assert alone.column(alone.num_columns - 1)[0].as_py() > 0  # "below" and "one" are undecided


def test_undecided_groups_run_the_exact_sql(visits, monkeypatch):
    from domain.sql.engines import base

    monkeypatch.setattr(base, "_EXACT_PLANS", base.OrderedDict())
    plan = check(QUERY, visits_scope()).plan
    run, calls = plain_runner(visits)
    table, _ = run_plan(plan, run)
    assert calls == [plan.sql, plan.exact_sql]
    assert "__aod_undecided" not in table.column_names
    again, _ = run_plan(plan, run)  # the same plan again: straight to the exact SQL
    assert calls[2:] == [plan.exact_sql] and again.equals(table)


def test_clear_groups_take_one_pass(monkeypatch):
    from domain.sql.engines import base

    monkeypatch.setattr(base, "_EXACT_PLANS", base.OrderedDict())
    data = visits_table([("a", 300, 2), ("b", 200, 3), ("c", 2, 2)])  # large, large, fewer rows than k
    plan = check(QUERY, visits_scope()).plan
    run, calls = plain_runner(data)
    table, dropped = run_plan(plan, run)
    assert calls == [plan.sql]
    assert sorted(table.column(0).to_pylist()) == ["a", "b"]
    assert table.column_names[-1] == "__aod_dropped" and table.column(table.num_columns - 1)[0].as_py() == 1


def test_empty_result_counts_through_the_dropped_queries(monkeypatch):
    from domain.sql.engines import base

    monkeypatch.setattr(base, "_EXACT_PLANS", base.OrderedDict())
    data = visits_table([("a", 9, 30), ("b", 2, 2)])  # nothing passes; "a" is undecided
    plan = check(QUERY, visits_scope()).plan
    run, calls = plain_runner(data)
    table, dropped = run_plan(plan, run)
    assert table.num_rows == 0 and dropped() == 2
    assert calls[:3] == [plan.sql, plan.dropped_sql, plan.exact_sql]


def test_the_querys_own_distinct_count_is_the_gate():
    plan = check("SELECT grp, count(DISTINCT person) AS people FROM visits GROUP BY grp", visits_scope()).plan
    assert plan.exact_sql == "" and "BIT_OR" not in plan.sql and "HASH(" not in plan.sql
    run, _ = plain_runner(visits_table(SHAPES))
    table, _ = run_plan(plan, run)
    kept, _ = exact_answer(visits_table(SHAPES))
    assert set(table.column(0).to_pylist()) == set(kept)


def test_a_large_k_uses_enough_bins():
    plan = check(QUERY, visits_scope(k=100)).plan
    data = visits_table([("a", 100, 1), ("b", 99, 3), ("c", 500, 1)])
    run, _ = plain_runner(data)
    table, _ = run_plan(plan, run)
    assert sorted(table.column(0).to_pylist()) == ["a", "c"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 6)), min_size=1, max_size=12),
       st.sampled_from([2, 5, 10, 20]))
def test_certify_then_exact_equals_the_exact_rule(shapes, k):
    from domain.sql.engines import base

    base._EXACT_PLANS.clear()  # certify first in every example
    data = visits_table([(f"g{i}", units, rows) for i, (units, rows) in enumerate(shapes) if units])
    if data.num_rows == 0:
        return
    plan = check(QUERY, visits_scope(k)).plan
    run, _ = plain_runner(data)
    table, dropped = run_plan(plan, run)
    kept, failed = exact_answer(data, k)
    got = dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist()))
    assert got == kept
    hidden = table.column(table.num_columns - 1)[0].as_py() if table.num_rows else dropped()
    assert hidden == failed
