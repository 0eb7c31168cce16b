"""policy.check: decisions, reasons a person can act on, sealed plans, never raising."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.sql import Decision, DatasetScope, Scope, check
from domain.sql.decision import Plan, is_sealed

SCOPE = Scope((
    DatasetScope.build("population", {
        "id_number": "direct_identifier", "name": "direct_identifier", "district": "quasi_identifier",
        "birth_date": ("quasi_identifier", "DATE"), "income": ("sensitive", "DOUBLE")}, "id_number"),
    DatasetScope.build("social_insurance", {
        "id_number": "direct_identifier", "credit_code": "direct_identifier", "amount": ("sensitive", "DOUBLE"),
        "period": ("other", "DATE")}, "id_number", min_group_size=20),
    DatasetScope.build("enterprise", {
        "credit_code": "direct_identifier", "industry": "other"}, "credit_code", round_to=10, suppress_below=3),
))


def reasons(sql: str) -> str:
    decision = check(sql, SCOPE)
    assert not decision.allowed
    return " | ".join(decision.reasons)


def test_allowed_decision_carries_a_sealed_plan():
    decision = check("SELECT district, count(*) AS n FROM population GROUP BY district", SCOPE)
    assert decision.allowed and decision.reasons == ()
    plan = decision.plan
    assert is_sealed(plan)
    assert plan.output_columns == ("district", "n")
    assert plan.tables == ("population",) and plan.k_enforced
    assert "BIT_OR(" in plan.sql  # certifies the k rule with a bitmap bound...
    assert "COUNT(DISTINCT" in plan.exact_sql and is_sealed(plan)  # ...or the exact count runs
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.allowed = False


def test_a_changed_plan_is_no_longer_sealed():
    plan = check("SELECT count(*) FROM population", SCOPE).plan
    forged = dataclasses.replace(plan, sql="SELECT id_number FROM population")
    assert not is_sealed(forged)
    assert not is_sealed(Plan(sql="SELECT 1", tables=(), datasets=(), output_columns=("1",),
                              disclosure=plan.disclosure, k_enforced=False, reports_dropped=False))


def test_strictest_settings_of_the_datasets_read_win():
    plan = check("SELECT e.industry, count(*) FROM social_insurance s JOIN enterprise e "
                 "ON s.credit_code = e.credit_code GROUP BY 1", SCOPE).plan
    assert (plan.disclosure.min_group_size, plan.disclosure.round_to, plan.disclosure.suppress_below) == (20, 10, 10)
    assert check("SELECT count(*) FROM population", SCOPE).plan.disclosure.min_group_size == 10


def test_decision_invariants():
    with pytest.raises(ValueError):
        Decision(allowed=True, reasons=())
    with pytest.raises(ValueError):
        Decision(allowed=False, reasons=())


@pytest.mark.parametrize("sql,expected", [
    ("SELECT id_number FROM population", "is returned in the result"),
    ("SELECT count(*) FROM population WHERE id_number = 'x'", "compared with a value"),
    ("SELECT max(id_number) FROM population", "fed to the aggregate max()"),
    ("SELECT lower(name), count(*) FROM population GROUP BY 1", "used in the function lower()"),
    ("SELECT count(*) FROM population GROUP BY id_number", "one row per person"),
    ("SELECT district FROM population", "rows of raw data"),
    ("SELECT district, max(income) FROM population GROUP BY 1", "sensitive"),
    ("SELECT string_agg(district, ',') FROM population", "returns individual values"),
    ("SELECT count(*) FROM tax", "not granted"),
    ("SELECT mobile FROM population", "could not be resolved"),
    ("SELECT 1; SELECT 2", "exactly one statement"),
    ("DELETE FROM population", "only a SELECT"),
    ("SELECT district FROM population UNION SELECT district FROM population", "set operation"),
    ("SELECT count(*) FROM population WHERE district IN (SELECT district FROM population)", "subqueries"),
    ("SELECT read_csv('x')", "allow-list"),
    ("SELECT CAST(district AS BLOB) FROM population", "casts to"),
    ("SELECT count(*) FROM population LIMIT (SELECT 1)", "whole number"),
    ("SELECT rank() FROM population", "OVER"),
    ("SELEC 1", "could not be parsed"),
    ("SELECT 'unterminated", "could not be read"),
    ("", "empty"),
    ("SELECT district, income FROM population GROUP BY district", "GROUP BY or inside an aggregate"),
])
def test_refusals_say_why(sql, expected):
    assert expected in reasons(sql)


def test_identifier_reason_names_the_column_and_the_permitted_uses():
    text = reasons("SELECT count(*) FROM population WHERE id_number LIKE '3301%'")
    assert "population.id_number is a direct identifier" in text
    assert "join key" in text and "count(DISTINCT" in text and "IS NULL" in text


def test_permitted_identifier_uses():
    for sql in [
        "SELECT count(DISTINCT id_number) FROM population",
        "SELECT count(*) FROM population WHERE id_number IS NOT NULL",
        "SELECT p.district, count(*) FROM population p JOIN social_insurance s ON p.id_number = s.id_number GROUP BY 1",
        "SELECT p.district, count(*) FROM population p, social_insurance s WHERE p.id_number = s.id_number GROUP BY 1",
        "WITH per AS (SELECT id_number, sum(amount) t FROM social_insurance GROUP BY id_number) "
        "SELECT avg(t) FROM per",
        "WITH r AS (SELECT district, row_number() OVER (PARTITION BY id_number ORDER BY income) rn FROM population) "
        "SELECT rn, count(*) FROM r GROUP BY rn",
    ]:
        decision = check(sql, SCOPE)
        assert decision.allowed, (sql, decision.reasons)


def test_join_on_unit_is_counted_once_but_outer_join_counts_both():
    inner = check("SELECT p.district, count(*) FROM population p JOIN social_insurance s "
                  "ON p.id_number = s.id_number GROUP BY 1", SCOPE).plan
    outer = check("SELECT p.district, count(*) FROM population p LEFT JOIN social_insurance s "
                  "ON p.id_number = s.id_number GROUP BY 1", SCOPE).plan
    assert inner.exact_sql.count("COUNT(DISTINCT") == 1  # one unit, counted once for every k-rule use
    assert outer.exact_sql.count("COUNT(DISTINCT") == 2
    assert inner.sql.count("BIT_OR(") == 1 and outer.sql.count("BIT_OR(") == 2
    assert "BIT_OR(" not in inner.exact_sql + outer.exact_sql


def test_reasons_never_quote_literals():
    decision = check("SELECT count(*) FROM population WHERE id_number = '330127200007240006'", SCOPE)
    assert "330127200007240006" not in decision.reason
    assert "330127200007240006" not in decision.sql_redacted


def test_checker_failure_is_a_refusal(monkeypatch):
    from domain.sql import policy

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(policy, "resolve_names", broken)
    policy._cached_check.cache_clear()
    decision = check("SELECT count(*) FROM population", SCOPE)
    assert not decision.allowed and "could not check" in decision.reason


def test_bad_arguments_are_refusals():
    assert not check(None, SCOPE).allowed
    assert not check("SELECT 1", None).allowed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_never_raises_on_arbitrary_text(text):
    assert isinstance(check(text, SCOPE), Decision)


fragments = st.sampled_from([
    "SELECT", "district", "id_number", "count(*)", "FROM", "population", "p", "JOIN", "social_insurance",
    "s", "ON", "p.id_number", "=", "s.id_number", "WHERE", "GROUP BY", "1", ",", "(", ")", "'x'", "max(",
    "income", "WITH", "a", "AS", "UNION", "ORDER BY", "LIMIT", "OVER", "PARTITION BY", "*", ";", "--",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(fragments, min_size=1, max_size=25))
def test_never_raises_and_never_returns_identifiers_on_sql_like_input(parts):
    decision = check(" ".join(parts), SCOPE)
    assert isinstance(decision, Decision)
    if decision.allowed:
        assert all(c not in ("id_number", "name", "credit_code") for c in decision.plan.output_columns)
