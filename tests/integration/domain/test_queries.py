"""Checked queries through domain.queries on the encrypted raw data."""

from __future__ import annotations

import pytest

from audit import Action, Outcome
from domain.errors import DomainError, GrantNotActive, PermissionDenied, QueryRefused
from domain.queries import MAX_SQL_CHARS

JOIN_SQL = """
SELECT p.district, count(DISTINCT s.id_number) AS workers, round(avg(s.contribution_base), 0) AS base
FROM social_insurance s JOIN population p ON s.id_number = p.id_number
GROUP BY p.district
"""


def _query_events(world):
    return [e.event for e in world.domain.audit_log.query(action=Action.QUERY_RUN.value)]


def _plain_district_counts(world):
    from collections import Counter

    return Counter(world.data.population.column("district").to_pylist())


def test_an_aggregate_on_raw_data_is_answered_and_audited(world):
    out = world.domain.queries.run(world.alice, world.grant.id, JOIN_SQL, request_id="req-1")
    assert out.rows > 0 and out.engine == "duckdb" and set(out.datasets) == {"population", "social_insurance"}
    workers = out.table.column("workers").to_pylist()
    assert all(w >= out.k == 10 for w in workers)
    event = _query_events(world)[-1]
    assert event.outcome == Outcome.OK and event.request_id == "req-1"
    assert event.outputs[0].sha256 == out.sha256 and event.details["rows"] == out.rows
    assert {r.id for r in event.inputs} == {"population", "social_insurance"}
    assert event.org == "op-hz" and event.actor.id == "alice"


def test_counts_are_rounded_and_small_groups_suppressed(world):
    out = world.domain.queries.run(world.alice, world.grant.id,
                                   "SELECT district, count(*) AS n FROM population GROUP BY district")
    truth = _plain_district_counts(world)
    shown = dict(zip(out.table.column("district").to_pylist(), out.table.column("n").to_pylist()))
    assert shown and all(n % 5 == 0 and n >= 10 for n in shown.values())
    assert all(abs(shown[d] - truth[d]) < 5 for d in shown)
    small = {d for d, n in truth.items() if n < 10}
    assert not small & set(shown)
    assert out.suppressed == len(truth) - len(shown)


def test_k_is_enforced_on_the_result_not_the_query_text(world):
    out = world.domain.queries.run(
        world.alice, world.grant.id,
        "SELECT district, education, sex, count(*) AS n FROM population GROUP BY 1, 2, 3",
    )
    assert out.suppressed > 0
    assert all(n >= 10 for n in out.table.column("n").to_pylist())


@pytest.mark.parametrize("sql", [
    "SELECT id_number, sex FROM population",
    "SELECT * FROM population LIMIT 1",
    "SELECT district, max(id_number) FROM population GROUP BY district",
    "SELECT id_number, count(*) FROM population GROUP BY id_number",
    "SELECT name, count(*) FROM population GROUP BY name",  # not in the grant
    "SELECT count(*) FROM read_csv('/etc/passwd')",
    "SELECT 1; SELECT 2",
    "this is not sql",
])
def test_raw_row_attempts_are_refused_and_audited(world, sql):
    with pytest.raises(QueryRefused) as info:
        world.domain.queries.run(world.alice, world.grant.id, sql)
    reason = info.value.diagnostics()
    assert reason and "\n" not in reason
    event = _query_events(world)[-1]
    assert event.outcome == Outcome.REFUSED and event.reason == reason
    assert event.details["sql_redacted"]


def test_a_literal_never_reaches_the_audit_log_or_the_error(world):
    secret = world.an_id_number(7)
    sql = f"SELECT count(*) FROM population WHERE id_number = '{secret}'"
    with pytest.raises(QueryRefused) as info:
        world.domain.queries.run(world.alice, world.grant.id, sql)
    assert secret not in info.value.diagnostics()
    event = _query_events(world)[-1]
    assert secret not in event.canonical_json()
    assert "?" in event.details["sql_redacted"] and "id_number" in event.details["sql_redacted"]
    assert not world.audit_files_contain(secret)


def test_an_allowed_query_with_a_literal_is_logged_redacted(world):
    out = world.domain.queries.run(
        world.alice, world.grant.id,
        "SELECT district, count(*) AS n FROM population WHERE education = '本科' GROUP BY district",
    )
    assert "本科" not in out.sql_redacted
    assert "本科" not in _query_events(world)[-1].canonical_json()


def test_a_suspended_grant_refuses_until_resumed(world):
    d, grant = world.domain, world.new_grant()
    sql = "SELECT district, count(*) AS n FROM population GROUP BY district"
    d.grants.suspend(world.admin, grant.id, "incident INC-9")
    with pytest.raises(GrantNotActive, match="suspended"):
        d.queries.run(world.alice, grant.id, sql)
    d.grants.resume(world.admin, grant.id, "closed")
    assert d.queries.run(world.alice, grant.id, sql).rows > 0
    d.grants.terminate(world.admin, grant.id, "done")
    with pytest.raises(GrantNotActive, match="terminated"):
        d.queries.run(world.alice, grant.id, sql)


def test_a_pending_grant_cannot_be_used(world):
    grant = world.new_grant(activate=False)
    with pytest.raises(GrantNotActive, match="pending"):
        world.domain.queries.run(world.alice, grant.id, "SELECT count(*) FROM population")


def test_another_operators_grant_is_denied(world):
    with pytest.raises(PermissionDenied) as info:
        world.domain.queries.run(world.alice, world.other_grant.id,
                                 "SELECT district, count(*) FROM population GROUP BY district")
    assert not isinstance(info.value, GrantNotActive)
    denial = world.domain.audit_log.query(action=Action.AUTH_DENIED.value)[-1].event
    assert denial.actor.id == "alice" and denial.targets[0].id == world.other_grant.id


def test_only_granted_columns_are_visible(world):
    grant = world.new_grant(columns={"population": ("id_number", "district")})
    assert world.domain.queries.run(world.alice, grant.id,
                                    "SELECT district, count(*) AS n FROM population GROUP BY 1").rows > 0
    with pytest.raises(QueryRefused):
        world.domain.queries.run(world.alice, grant.id, "SELECT sex, count(*) AS n FROM population GROUP BY 1")
    with pytest.raises(QueryRefused):
        world.domain.queries.run(world.alice, grant.id, "SELECT count(*) FROM enterprise")


def test_empty_and_oversized_queries_are_refused(world):
    for sql in ("", "   ", None):
        with pytest.raises(QueryRefused, match="empty"):
            world.domain.queries.run(world.alice, world.grant.id, sql)
    huge = "SELECT count(*) FROM population WHERE " + " OR ".join(["district = 'x'"] * 2000)
    assert len(huge) > MAX_SQL_CHARS
    with pytest.raises(QueryRefused, match="at most"):
        world.domain.queries.run(world.alice, world.grant.id, huge)
    assert _query_events(world)[-1].outcome == Outcome.REFUSED


def test_the_regulator_and_authority_cannot_query_raw_data(world):
    from tests.factories import add_person

    reg = add_person(world.domain, "reg", "regulator")
    for actor in (reg, world.admin):
        with pytest.raises(PermissionDenied):
            world.domain.queries.run(actor, world.grant.id, "SELECT count(*) FROM population")


@pytest.fixture(scope="module")
def copy_grant(world, tmp_path_factory):
    """A grant on a separate copy of the enterprise register, which the test may damage."""
    d, clerk = world.domain, world.providers["enterprise"]
    d.catalog.ingest(clerk, world.files["enterprise"], name="enterprise_copy", title="copy", provider="zj-scjg",
                     open_attribute="restricted")
    d.catalog.confirm(clerk, "enterprise_copy", privacy_unit="credit_code")
    return world.new_grant(columns={"enterprise_copy": ("credit_code", "industry")})


@pytest.mark.parametrize("damage", ["flip bytes", "drop the key"])
def test_a_query_that_breaks_is_on_the_record(world, copy_grant, damage):
    d = world.domain
    sql = "SELECT industry, count(*) AS n FROM enterprise_copy GROUP BY industry"
    assert d.queries.run(world.alice, copy_grant.id, sql).rows >= 0
    raw = d.catalog.raw_dir("enterprise_copy")
    part = sorted(raw.rglob("*.parquet"))[0]
    original = part.read_bytes()
    wrapped = d.store.one("SELECT wrapped FROM data_keys WHERE owner='enterprise_copy'")["wrapped"]
    try:
        if damage == "flip bytes":  # every 97th byte past the header: hits every column's pages
            damaged = bytearray(original)
            for i in range(8, len(damaged) - 8, 97):
                damaged[i] ^= 0xFF
            part.write_bytes(bytes(damaged))
        else:
            with d.store.transaction() as tx:
                d.keys.destroy(tx, "dataset", "enterprise_copy")
        size = d.audit_log.size()
        with pytest.raises(Exception) as info:
            d.queries.run(world.alice, copy_grant.id, sql)
        events = [e.event for e in d.audit_log.entries(size) if e.event.action == Action.QUERY_RUN]
        assert len(events) == 1 and events[0].outcome == Outcome.FAILED
        assert isinstance(info.value, DomainError)
        assert "\n" not in info.value.diagnostics()
        assert events[0].reason == info.value.diagnostics()
    finally:
        part.write_bytes(original)
        if not d.keys.exists("dataset", "enterprise_copy"):
            with d.store.transaction() as tx:
                d.keys.insert(tx, "dataset", "enterprise_copy", wrapped)
    assert d.queries.run(world.alice, copy_grant.id, sql).rows >= 0


def test_decrypted_columns_leave_memory_when_the_grant_stops_or_the_key_is_destroyed(world, copy_grant):
    from domain import rawstore

    d = world.domain
    sql = "SELECT industry, count(*) AS n FROM enterprise_copy GROUP BY industry"
    cache = rawstore.shared_cache()
    raw = d.catalog.raw_dir("enterprise_copy")

    def kept() -> int:  # columns of enterprise_copy held decrypted (evict counts and drops them)
        return cache.evict(raw)

    d.queries.run(world.alice, copy_grant.id, sql)
    assert kept() > 0
    d.queries.run(world.alice, copy_grant.id, sql)
    d.grants.suspend(world.admin, copy_grant.id, "risk found")
    assert kept() == 0
    d.grants.resume(world.admin, copy_grant.id, "cleared")
    d.queries.run(world.alice, copy_grant.id, sql)
    wrapped = d.store.one("SELECT wrapped FROM data_keys WHERE owner='enterprise_copy'")["wrapped"]
    with d.store.transaction() as tx:
        d.keys.destroy(tx, "dataset", "enterprise_copy")
    try:
        assert kept() == 0
    finally:
        with d.store.transaction() as tx:
            d.keys.insert(tx, "dataset", "enterprise_copy", wrapped)
