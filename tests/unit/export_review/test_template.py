import datetime as dt

import pytest
import sqlglot
from hypothesis import given, strategies as st
from sqlglot import exp

from export_review.api.ratelimit import RateLimiter
from export_review.api.template import QueryTemplate
from export_review.errors import InvalidInput, RateLimited, TemplateError

SPEC = {"name": "counts", "sql": "SELECT gender, count(*) AS n FROM population WHERE district = :district "
        "AND birth_date >= :since AND income > :min_income GROUP BY gender",
        "params": {"district": {"type": "str", "max_length": 10}, "since": {"type": "date"},
                   "min_income": {"type": "int", "min": 0, "max": 100000}}}


def test_bind_types_values():
    sql = QueryTemplate.parse(SPEC).bind({"district": "西湖区", "since": "2000-01-01", "min_income": "5000"})
    assert "'西湖区'" in sql and "CAST('2000-01-01' AS DATE)" in sql and "> 5000" in sql


@pytest.mark.parametrize("values,match", [
    ({"district": "x", "since": "2000-01-01"}, "missing"),
    ({"district": "x", "since": "2000-01-01", "min_income": 1, "extra": 2}, "unknown"),
    ({"district": "x", "since": "yesterday", "min_income": 1}, "date"),
    ({"district": "x", "since": "2000-01-01", "min_income": -1}, "between"),
    ({"district": "x" * 11, "since": "2000-01-01", "min_income": 1}, "longer"),
    ({"district": 5, "since": "2000-01-01", "min_income": 1}, "str"),
])
def test_bad_values_are_refused(values, match):
    with pytest.raises(InvalidInput, match=match):
        QueryTemplate.parse(SPEC).bind(values)


@pytest.mark.parametrize("spec,match", [
    ({**SPEC, "sql": "DELETE FROM population WHERE district = :district"}, "SELECT"),
    ({**SPEC, "sql": "SELECT 1; SELECT 2"}, "SELECT"),
    ({**SPEC, "sql": "SELECT * FROM population WHERE a = ?"}, "named|differ"),
    ({**SPEC, "params": {"district": {"type": "str"}}}, "differ"),
    ({**SPEC, "params": {**SPEC["params"], "since": {"type": "blob"}}}, "type"),
    ({**SPEC, "name": "Bad Name"}, "name"),
    ({**SPEC, "max_rows": 0}, "max_rows"),
])
def test_bad_templates_are_refused(spec, match):
    with pytest.raises(TemplateError, match=match):
        QueryTemplate.parse(spec)


@given(st.text(max_size=10))
def test_any_string_stays_one_literal(value):
    sql = QueryTemplate.parse(SPEC).bind({"district": value, "since": dt.date(2000, 1, 1), "min_income": 1})
    trees = sqlglot.parse(sql, read="duckdb")
    assert len(trees) == 1 and isinstance(trees[0], exp.Select)
    literals = [l.this for l in trees[0].find_all(exp.Literal) if l.is_string]
    assert value in literals


def test_rate_limiter_refills_with_time():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.allow("k", 2, 10) for _ in range(3)] == [True, True, False]
    with pytest.raises(RateLimited):
        limiter.check("k", 2, 10)
    now[0] = 5.0
    assert limiter.allow("k", 2, 10) and not limiter.allow("k", 2, 10)
    assert limiter.allow("other", 2, 10)
