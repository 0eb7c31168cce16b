"""DuckDB -> Spark translation: each fix for a sqlglot mis-transpile (parity is proven on data in
tests/security/sql/test_legitimate.py, which runs both engines)."""

from __future__ import annotations

import pytest
import sqlglot

from domain.sql.engines.base import PlanRejected
from domain.sql.engines.spark_sql import to_spark

VIEWS = {"t": "aod_v1_0"}


def test_regexp_back_references_become_dollar_references():
    out = to_spark(r"SELECT regexp_replace(t.a, '(.)(.*)', '\2\1') FROM t AS t", VIEWS)
    assert "'$2$1'" in out
    assert "'\\\\2\\\\1'" in sqlglot.transpile(r"SELECT regexp_replace(a, '(.)(.*)', '\2\1')", read="duckdb",
                                               write="spark")[0]  # what plain sqlglot emits


def test_literal_dollar_in_replacement_is_escaped():
    out = to_spark("SELECT regexp_replace(t.a, 'x', 'US$') FROM t AS t", VIEWS)
    assert "US\\\\$" in out


def test_regexp_extract_defaults_to_the_whole_match():
    assert "REGEXP_EXTRACT(t.a, 'a(b)', 0)" in to_spark("SELECT regexp_extract(t.a, 'a(b)') FROM t AS t", VIEWS)
    explicit = to_spark("SELECT regexp_extract(t.a, 'a(b)', 1) FROM t AS t", VIEWS)
    assert ", 0)" not in explicit  # group 1 is Spark's default, so sqlglot may leave it out


def test_day_of_week_counts_sunday_as_zero():
    assert "DAYOFWEEK(t.d) - 1" in to_spark("SELECT dayofweek(t.d) FROM t AS t", VIEWS)


def test_date_diff_with_other_units_is_refused():
    assert "DATEDIFF" in to_spark("SELECT date_diff('day', t.a, t.b) FROM t AS t", VIEWS)
    with pytest.raises(PlanRejected):
        to_spark("SELECT date_diff('year', t.a, t.b) FROM t AS t", VIEWS)


def test_qualify_filter_runs_before_order_and_limit():
    out = to_spark("SELECT t.a AS a, count(*) AS n FROM t AS t GROUP BY t.a "
                   "QUALIFY row_number() OVER (ORDER BY count(*) DESC) <= 3 ORDER BY n DESC LIMIT 2", VIEWS)
    tree = sqlglot.parse_one(out, read="spark")
    assert tree.args.get("limit") is not None and tree.args.get("order") is not None
    assert tree.args.get("where") is not None  # the filter is in the same (outer) select as the LIMIT
    inner = tree.find(sqlglot.exp.Subquery).this
    assert inner.args.get("limit") is None and inner.args.get("order") is None
    naive = sqlglot.parse_one(sqlglot.transpile(
        "SELECT a, count(*) n FROM t GROUP BY a QUALIFY row_number() OVER (ORDER BY count(*) DESC) <= 3 "
        "ORDER BY n DESC LIMIT 2", read="duckdb", write="spark")[0], read="spark")
    assert naive.find(sqlglot.exp.Subquery).this.args.get("limit") is not None  # sqlglot's bug


def test_tables_become_per_query_views_and_unknown_tables_are_refused():
    out = to_spark('SELECT count(*) FROM "t" AS "x"', VIEWS)
    assert "`aod_v1_0` AS `x`" in out
    with pytest.raises(PlanRejected):
        to_spark("SELECT count(*) FROM other AS other", VIEWS)
