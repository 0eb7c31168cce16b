"""Disclosure control is enforced on the executed result, on both engines: the k rule (strictest
dataset wins), small-cell suppression, rounding, and the accounting of suppressed rows."""

from __future__ import annotations

import pytest

from domain.sql import check
from tests.integration.sql.fixtures import make_scope


def run(sql, scope, engine, raw_sources, limits):
    decision = check(sql, scope)
    assert decision.allowed, decision.reasons
    return engine.execute(decision, raw_sources, limits)


def test_group_below_k_is_dropped_and_counted(scope, engine, raw_sources, limits, reference):
    result = run("SELECT district, count(*) AS n FROM population GROUP BY district", scope, engine,
                 raw_sources, limits)
    districts = reference.execute("SELECT count(DISTINCT district) FROM population").fetchall()[0][0]
    assert "淳安县" not in result.table.column("district").to_pylist()
    assert result.rows == districts - 1
    assert result.rows_suppressed == 1


def test_every_group_suppressed_reports_how_many(scope, engine, raw_sources, limits, reference):
    result = run("SELECT birth_date, district, count(*) FROM population GROUP BY 1, 2 HAVING count(*) = 1",
                 scope, engine, raw_sources, limits)
    expected = reference.sql("SELECT count(*) FROM (SELECT 1 FROM population GROUP BY birth_date, district "
                             "HAVING count(*) = 1)").fetchall()[0][0]
    assert result.rows == 0
    assert result.rows_suppressed == expected > 0


def test_global_aggregate_over_too_few_people_returns_nothing(scope, engine, raw_sources, limits):
    result = run("SELECT count(*), avg(income) FROM population WHERE district = '淳安县'", scope, engine,
                 raw_sources, limits)
    assert result.rows == 0 and result.rows_suppressed == 1


def test_k_is_counted_in_distinct_people_not_rows(scope, engine, raw_sources, limits, reference):
    # The 3 residents of 淳安县 have up to 6 monthly records each: more than 10 rows, 3 people.
    rows = reference.sql("SELECT count(*) FROM social_insurance s JOIN population p USING (id_number) "
                         "WHERE p.district = '淳安县'").fetchall()[0][0]
    assert rows >= 10
    result = run("SELECT p.district, count(*) FROM social_insurance s JOIN population p "
                 "ON s.id_number = p.id_number GROUP BY p.district", scope, engine, raw_sources, limits)
    assert "淳安县" not in result.table.column(0).to_pylist()


def test_strictest_k_of_joined_datasets_wins(registers, engine, raw_sources, limits):
    strict = make_scope(registers, min_group_size=10, suppress_below=0, round_to=1)
    datasets = tuple(d if d.table != "enterprise" else type(d)(**{**d.__dict__, "min_group_size": 50})
                     for d in strict.datasets)
    scope50 = type(strict)(datasets)
    sql = ("SELECT e.district, count(*) FROM social_insurance s JOIN enterprise e "
           "ON s.credit_code = e.credit_code GROUP BY e.district")
    assert check(sql, scope50).plan.disclosure.min_group_size == 50
    result = run(sql, scope50, engine, raw_sources, limits)
    assert result.rows == 0  # 15 enterprises per district < 50


def test_counts_are_suppressed_and_rounded(strict_scope, engine, raw_sources, limits, reference):
    result = run("SELECT district, count(*) AS n, count(*) FILTER (WHERE income > 140000) AS rich, "
                 "sum(CASE WHEN education = '硕士' THEN 1 ELSE 0 END) AS masters FROM population GROUP BY district",
                 strict_scope, engine, raw_sources, limits)
    truth = {r[0]: r[1:] for r in reference.sql(
        "SELECT district, count(*), count(*) FILTER (WHERE income > 140000), "
        "sum(CASE WHEN education = '硕士' THEN 1 ELSE 0 END) FROM population GROUP BY district").fetchall()}
    assert any(r is None for row in result.table.to_pylist() for r in row.values()), "no small cell to test"
    for district, n, rich, masters in [tuple(r.values()) for r in result.table.to_pylist()]:
        for shown, true in zip((n, rich, masters), truth[district]):
            if 0 < true < 10:
                assert shown is None, "a small cell was shown"
            else:
                assert shown % 5 == 0 and abs(shown - true) <= 2.5


def test_rates_use_rounded_counts(strict_scope, engine, raw_sources, limits):
    result = run("SELECT district, count(*) AS n, 100.0 * count(*) / 3000 AS pct FROM population GROUP BY 1",
                 strict_scope, engine, raw_sources, limits)
    for row in result.table.to_pylist():
        assert float(row["pct"]) == pytest.approx(100.0 * row["n"] / 3000)


def test_window_sees_only_rows_that_passed(scope, engine, raw_sources, limits, reference):
    result = run("SELECT district, sum(count(*)) OVER () AS visible_total FROM population GROUP BY district",
                 scope, engine, raw_sources, limits)
    visible = reference.execute("SELECT count(*) FROM population WHERE district <> '淳安县'").fetchall()[0][0]
    assert set(result.table.column("visible_total").to_pylist()) == {visible}


def test_differencing_pair_each_half_respects_k(scope, engine, raw_sources, limits, registers):
    person = registers.population.to_pylist()[0]
    for sql in ("SELECT count(*), sum(income) FROM population WHERE district = '淳安县'",
                "SELECT count(*), sum(income) FROM population WHERE district = '淳安县' "
                f"AND birth_date <> DATE '{person['birth_date'].isoformat()}'"):
        assert run(sql, scope, engine, raw_sources, limits).rows == 0
