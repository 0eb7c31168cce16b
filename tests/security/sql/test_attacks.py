"""Red team: every attack is refused, or runs and returns nothing that identifies anyone.

Run on DuckDB and on Spark (the engine fixture is parametrized). A refusal's reasons and the
redacted SQL for the audit log must not carry the identifier values the attack used.
"""

from __future__ import annotations

import pytest

from domain.sql import Decision, check
from tests.security.sql.attacks import ATTACKS, H, R
from tests.security.sql.harness import fragments, identifier_values, leaks, small_group_rows

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture(scope="module")
def secrets(registers) -> dict[str, str]:
    people = registers.population.to_pylist()
    return {
        "ID": people[0]["id_number"], "ID2": people[1]["id_number"], "NAME": people[0]["name"],
        "MOBILE": people[0]["mobile"], "CODE": registers.enterprise.column("credit_code")[0].as_py(),
        "BIRTH": people[0]["birth_date"].isoformat(),
        "FWID": people[0]["id_number"].translate(FULL_WIDTH),
    }


@pytest.fixture(scope="module")
def identifiers(registers):
    values = identifier_values(registers)
    return values, fragments(values)


def test_there_are_at_least_100_attacks():
    assert len(ATTACKS) >= 100
    assert len({name for name, _, _ in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("name,expected,template", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_is_refused_or_harmless(name, expected, template, secrets, identifiers, scope, raw_sources,
                                       engine, limits):
    sql = template
    for key, value in secrets.items():
        sql = sql.replace("{" + key + "}", value)
    decision = check(sql, scope)
    assert isinstance(decision, Decision)
    values, frags = identifiers
    text = " ".join(decision.reasons) + " " + decision.sql_redacted
    assert not [v for v in secrets.values() if v in text], "an attack's literal reached the reasons or audit text"
    if expected == R:
        assert not decision.allowed, f"{name} should be refused"
        assert decision.reasons and all(r.strip() for r in decision.reasons)
        return
    assert decision.allowed, f"{name} was refused: {decision.reasons}"
    result = engine.execute(decision, raw_sources, limits)
    assert leaks(result.table, values, frags) == [], f"{name}: identifier values in the result"
    assert small_group_rows(result.table) == [], f"{name}: a group below k reached the result"
