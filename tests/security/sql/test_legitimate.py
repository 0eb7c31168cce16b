"""Legitimate analysis passes the policy and gives the correct answer on DuckDB and Spark.

"Correct" = equal to the same analysis computed without any restriction on the plaintext data
(plain DuckDB), with only the groups below k (3 residents of 淳安县, 4 enterprises of 采矿业)
left out.
"""

from __future__ import annotations

import pytest

from domain.sql import check
from tests.security.sql.harness import assert_same
from tests.security.sql.legitimate import LEGITIMATE


def test_there_are_at_least_30_legitimate_queries():
    assert len(LEGITIMATE) >= 30
    assert len({name for name, *_ in LEGITIMATE}) == len(LEGITIMATE)


@pytest.mark.parametrize("name,sql,reference_sql,ordered", LEGITIMATE, ids=[q[0] for q in LEGITIMATE])
def test_legitimate_query_is_accepted_and_correct(name, sql, reference_sql, ordered, scope, raw_sources,
                                                  reference, engine, limits):
    decision = check(sql, scope)
    assert decision.allowed, f"{name} was refused: {decision.reasons}"
    result = engine.execute(decision, raw_sources, limits)
    expected = reference.sql(reference_sql or sql).to_arrow_table()
    assert expected.num_rows > 0
    assert_same(result.table, expected, ordered, name)
    assert result.rows == expected.num_rows
