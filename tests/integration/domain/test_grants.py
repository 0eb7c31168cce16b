"""Grants: term, emergency plan, columns, the transition table, expiry by the clock."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import pytest

from audit import Action
from domain.authz import Perm
from domain.config import MAX_GRANT_DAYS
from domain.errors import GrantNotActive, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from domain.grants import VALID_TRANSITIONS, GrantStatus, check_transition, parse_column_spec
from tests.factories import MovableClock, add_operator, add_person, add_staff, admin, new_domain, term
from tests.integration.domain.conftest import write_csv


def _create(world, **overrides):
    starts, ends = term(world.domain)
    kwargs = dict(operator_id="op-hz", scenario="labour market study", columns={"population": ("district",)},
                  emergency_plan="EP-1", starts_on=starts, expires_on=ends)
    kwargs.update(overrides)
    return world.domain.grants.create(world.admin, **kwargs)


def _grant_count(world):
    return world.domain.store.one("SELECT count(*) AS n FROM grants")["n"]


# -- creation rules ---------------------------------------------------------------------------

def test_a_term_of_three_years_is_the_most(world):
    start = world.domain.today()
    assert _create(world, starts_on=start, expires_on=start + timedelta(days=MAX_GRANT_DAYS)).status == GrantStatus.PENDING
    before = _grant_count(world)
    with pytest.raises(InvalidInput, match="three years"):
        _create(world, starts_on=start, expires_on=start + timedelta(days=MAX_GRANT_DAYS + 1))
    with pytest.raises(InvalidInput, match="end after"):
        _create(world, starts_on=start, expires_on=start)
    assert _grant_count(world) == before


@pytest.mark.parametrize("start, latest", [
    (date(2025, 1, 1), date(2028, 1, 1)),    # no leap day inside: 1095 days
    (date(2026, 11, 23), date(2029, 11, 23)),  # 29 Feb 2028 inside: 1096 days
    (date(2028, 2, 29), date(2031, 2, 28)),
])
def test_three_years_are_counted_on_the_calendar(world, start, latest):
    assert _create(world, starts_on=start, expires_on=latest).expires_on == latest
    with pytest.raises(InvalidInput, match=f"latest end for this start: {latest}"):
        _create(world, starts_on=start, expires_on=latest + timedelta(days=1))


@pytest.mark.parametrize("field, value, match", [
    ("emergency_plan", "", "emergency plan"),
    ("emergency_plan", "   ", "emergency plan"),
    ("scenario", "", "scenario"),
    ("columns", {}, "at least one"),
    ("columns", {"population": ()}, "names every column"),
    ("columns", {"population": ("district",), "enterprise": ()}, "names every column"),
    ("scenario", "x" * 5000, "at most"),
    ("emergency_plan", "x" * 5000, "at most"),
    ("columns", {"population": ("district", "no_such_column")}, "no column"),
    ("operator_id", "op-nobody", "no operator"),
    ("columns", {"no_such_dataset": ("x",)}, "no dataset"),
])
def test_a_grant_needs_plan_scenario_and_existing_columns(world, field, value, match):
    before = _grant_count(world)
    with pytest.raises((InvalidInput, NotFound), match=match):
        _create(world, **{field: value})
    assert _grant_count(world) == before


def test_a_column_named_twice_is_granted_once(world):
    grant = _create(world, columns={"population": ("district", "sex", "district")})
    assert grant.columns == {"population": ("district", "sex")}


def test_column_specs_name_every_column():
    assert parse_column_spec(["population:district,sex", "population:sex"]) == {"population": ("district", "sex")}
    for bad in ("population", "population:", "population:*", ":x"):
        with pytest.raises(InvalidInput, match="minimum necessary"):
            parse_column_spec([bad])


def test_creation_is_audited_with_scenario_columns_and_term(world):
    grant = _create(world, columns={"population": ("district", "sex")})
    event = [e.event for e in world.domain.audit_log.query(action=Action.GRANT_CREATE.value)
             if e.event.targets[0].id == grant.id][0]
    assert event.org == "op-hz" and event.details["columns"] == {"population": ["district", "sex"]}
    assert event.details["expires_on"] == grant.expires_on.isoformat()


# -- the transition table ------------------------------------------------------------------

@pytest.mark.parametrize("old, new", list(product(GrantStatus, GrantStatus)))
def test_the_transition_table_is_enforced(old, new):
    if new in VALID_TRANSITIONS[old]:
        check_transition(old, new)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(old, new)


def test_terminal_states_have_no_way_out():
    assert VALID_TRANSITIONS[GrantStatus.TERMINATED] == frozenset()
    assert VALID_TRANSITIONS[GrantStatus.EXPIRED] == frozenset()


def test_suspend_resume_terminate_are_audited_with_reasons(world):
    d, grant = world.domain, _create(world)
    with pytest.raises(InvalidTransition):
        d.grants.suspend(world.admin, grant.id, "pending grants cannot be suspended")
    with pytest.raises(InvalidTransition):
        d.grants.resume(world.admin, grant.id, "not suspended")
    with pytest.raises(InvalidInput, match="reason"):
        d.grants.activate(world.admin, grant.id, " ")
    assert d.grants.activate(world.admin, grant.id, "approved").status == GrantStatus.ACTIVE
    with pytest.raises(InvalidTransition):
        d.grants.activate(world.admin, grant.id, "twice")
    assert d.grants.suspend(world.admin, grant.id, "incident INC-7").status == GrantStatus.SUSPENDED
    assert d.grants.resume(world.admin, grant.id, "incident closed").status == GrantStatus.ACTIVE
    done = d.grants.terminate(world.admin, grant.id, "operator withdrew")
    assert done.status == GrantStatus.TERMINATED and done.status_reason == "operator withdrew"
    for verb in ("activate", "suspend", "resume", "terminate"):
        with pytest.raises(InvalidTransition):
            getattr(d.grants, verb)(world.admin, grant.id, "again")
    trail = [(e.event.action, e.event.reason, e.event.details.get("from"), e.event.details.get("to"))
             for e in d.audit_log.entries() if any(r.id == grant.id for r in e.event.targets)
             and e.event.action != Action.GRANT_CREATE]
    assert trail == [
        (Action.GRANT_ACTIVATE, "approved", "pending", "active"),
        (Action.GRANT_SUSPEND, "incident INC-7", "active", "suspended"),
        (Action.GRANT_RESUME, "incident closed", "suspended", "active"),
        (Action.GRANT_TERMINATE, "operator withdrew", "active", "terminated"),
    ]


def test_only_the_authority_changes_grants(world):
    grant = world.grant
    for actor in (world.alice, world.providers["population"]):
        with pytest.raises(PermissionDenied):
            world.domain.grants.suspend(actor, grant.id, "I say so")
    assert world.domain.grants.get(grant.id).status == GrantStatus.ACTIVE


def test_staff_see_their_own_grants_only(world):
    mine = world.domain.grants.list(world.alice)
    assert mine and {g.operator_id for g in mine} == {"op-hz"}
    with pytest.raises(PermissionDenied):
        world.domain.grants.list(world.alice, "op-other")
    with pytest.raises(PermissionDenied):
        world.domain.grants.view(world.alice, world.other_grant.id)


# -- expiry by the clock (a domain of its own: the clock moves) ----------------------------------

@pytest.fixture
def timed(home, tmp_path):
    clock = MovableClock()
    d = new_domain(home, clock)
    clerk = add_person(d, "clerk", "provider", "zj-rlsb")
    from domain import demo_data

    data = demo_data.generate(people=60, firms=10)
    path = write_csv(tmp_path / "pay.csv", ["id_number", "district", "amount"],
                     [[i, "西湖区", 100 + n] for n, i in enumerate(data.population.column("id_number").to_pylist())])
    d.catalog.ingest(clerk, path, name="pay", title="pay", provider="zj-rlsb", open_attribute="restricted")
    d.catalog.confirm(clerk, "pay", privacy_unit="id_number")
    add_operator(d)
    alice = add_staff(d)
    return d, clock, alice


def test_a_grant_expires_when_its_term_ends(timed):
    d, clock, alice = timed
    today = d.today()
    grant = d.grants.create(admin(d), operator_id="op-hz", scenario="s", columns={"pay": ("district", "amount")},
                            emergency_plan="EP-1", starts_on=today, expires_on=today + timedelta(days=30))
    d.grants.activate(admin(d), grant.id, "approved")
    assert d.grants.check_usable(alice, grant.id, Perm.QUERY_RUN).status == GrantStatus.ACTIVE
    clock.advance(days=30)
    assert d.grants.check_usable(alice, grant.id, Perm.QUERY_RUN).status == GrantStatus.ACTIVE  # last day
    clock.advance(days=1)
    with pytest.raises(GrantNotActive, match="expired"):
        d.grants.check_usable(alice, grant.id, Perm.QUERY_RUN)
    assert d.grants.get(grant.id).status == GrantStatus.EXPIRED  # recorded, by the system
    expiry = d.audit_log.query(action=Action.GRANT_EXPIRE.value)
    assert len(expiry) == 1 and expiry[0].event.actor.id == "system"
    with pytest.raises(InvalidTransition):
        d.grants.resume(admin(d), grant.id, "please")
    with pytest.raises(GrantNotActive):
        d.queries.run(alice, grant.id, "SELECT district, sum(amount) FROM pay GROUP BY district")
    refused = [e.event for e in d.audit_log.query(action=Action.AUTH_DENIED.value)]
    assert refused and refused[-1].reason == f"grant {grant.id} is expired"


def test_a_suspended_grant_also_expires(timed):
    d, clock, alice = timed
    today = d.today()
    grant = d.grants.create(admin(d), operator_id="op-hz", scenario="s", columns={"pay": ("district",)},
                            emergency_plan="EP-1", starts_on=today, expires_on=today + timedelta(days=5))
    d.grants.activate(admin(d), grant.id, "approved")
    d.grants.suspend(admin(d), grant.id, "audit finding")
    clock.advance(days=6)
    assert d.grants.view(admin(d), grant.id).status == GrantStatus.EXPIRED


def test_a_grant_is_not_usable_before_it_starts(timed):
    d, clock, alice = timed
    today = d.today()
    grant = d.grants.create(admin(d), operator_id="op-hz", scenario="s", columns={"pay": ("district",)},
                            emergency_plan="EP-1", starts_on=today + timedelta(days=10),
                            expires_on=today + timedelta(days=40))
    d.grants.activate(admin(d), grant.id, "approved")
    with pytest.raises(GrantNotActive, match="starts on"):
        d.grants.check_usable(alice, grant.id, Perm.QUERY_RUN)
    clock.advance(days=10)
    assert d.grants.check_usable(alice, grant.id, Perm.QUERY_RUN).id == grant.id


def test_catalog_changes_are_enforced_on_every_request(world):
    """A dataset that became prohibited after the grant: queries stop, activation is refused
    before anything changes (fail closed)."""
    d = world.domain
    active, pending = world.new_grant(), world.new_grant(activate=False)
    sql = "SELECT district, count(*) AS n FROM population GROUP BY district"
    assert d.queries.run(world.alice, active.id, sql).rows > 0
    with d.store.transaction() as tx:
        tx.execute("UPDATE datasets SET open_attribute='prohibited' WHERE name='population'")
    try:
        with pytest.raises(GrantNotActive, match="prohibited"):
            d.queries.run(world.alice, active.id, sql)
        with pytest.raises(InvalidInput, match="prohibited"):
            d.grants.activate(world.admin, pending.id, "approved")
        assert d.grants.get(pending.id).status == GrantStatus.PENDING
    finally:
        with d.store.transaction() as tx:
            tx.execute("UPDATE datasets SET open_attribute='restricted' WHERE name='population'")
    assert d.queries.run(world.alice, active.id, sql).rows > 0
