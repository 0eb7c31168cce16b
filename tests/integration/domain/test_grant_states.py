"""The grant state machine against a model (Hypothesis): random transitions and clock moves
on a real domain; after every step the stored status and usability match the model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.authz import Perm
from domain.errors import GrantNotActive, InvalidTransition
from domain.grants import GrantStatus
from tests.factories import MovableClock, add_operator, add_person, add_staff, admin, new_domain
from tests.integration.domain.conftest import write_csv

ALLOWED_FROM = {
    "activate": {GrantStatus.PENDING},
    "suspend": {GrantStatus.ACTIVE},
    "resume": {GrantStatus.SUSPENDED},
    "terminate": {GrantStatus.PENDING, GrantStatus.ACTIVE, GrantStatus.SUSPENDED},
}
TARGET = {"activate": GrantStatus.ACTIVE, "suspend": GrantStatus.SUSPENDED, "resume": GrantStatus.ACTIVE,
          "terminate": GrantStatus.TERMINATED}
TERM_DAYS = 30


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("states")
    clock = MovableClock()
    d = new_domain(folder / "home", clock)
    clerk = add_person(d, "clerk", "provider", "zj-rlsb")
    from domain import demo_data

    ids = demo_data.generate(people=40, firms=5).population.column("id_number").to_pylist()
    path = write_csv(folder / "pay.csv", ["id_number", "district"], [[i, "西湖区"] for i in ids])
    d.catalog.ingest(clerk, path, name="pay", title="pay", provider="zj-rlsb", open_attribute="restricted")
    d.catalog.confirm(clerk, "pay", privacy_unit="id_number")
    add_operator(d)
    return d, clock, _long_staff(d)


def _long_staff(d):
    add_staff(d)
    today = d.today()
    return d.principals.set_compliance(admin(d), "alice", nda_signed_on=today,
                                       nda_expires_on=today + timedelta(days=7300))  # > 25 examples × 8 steps × 20 days


steps = st.lists(st.one_of(st.sampled_from(sorted(ALLOWED_FROM)), st.integers(min_value=1, max_value=20)),
                 max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_grants_follow_the_model(machine, steps):
    d, clock, alice = machine
    today = d.today()
    grant = d.grants.create(admin(d), operator_id="op-hz", scenario="s", columns={"pay": ("district",)},
                            emergency_plan="EP", starts_on=today, expires_on=today + timedelta(days=TERM_DAYS))
    status, ends = GrantStatus.PENDING, grant.expires_on
    for step in steps:
        if isinstance(step, int):
            clock.advance(days=step)
        else:
            if d.today() > ends and status not in (GrantStatus.TERMINATED, GrantStatus.EXPIRED):
                status = GrantStatus.EXPIRED
            if status in ALLOWED_FROM[step]:
                status = TARGET[step]
                assert getattr(d.grants, step)(admin(d), grant.id, "model step").status == status
            else:
                with pytest.raises(InvalidTransition):
                    getattr(d.grants, step)(admin(d), grant.id, "model step")
        if d.today() > ends and status not in (GrantStatus.TERMINATED, GrantStatus.EXPIRED):
            status = GrantStatus.EXPIRED
        usable = status == GrantStatus.ACTIVE
        if usable:
            assert d.grants.check_usable(alice, grant.id, Perm.QUERY_RUN).status == GrantStatus.ACTIVE
        else:
            with pytest.raises(GrantNotActive):
                d.grants.check_usable(alice, grant.id, Perm.QUERY_RUN)
        assert d.grants.get(grant.id).status == status
