from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tenants.errors import BackendRetry, TenantNotFound
from tenants.isolation import TRANSITIONS, InvalidTransition, Op, State, StubBackend, can_transition, check_transition
from tenants.spec import TenantLayout


def test_every_operation_is_decided_from_every_live_state():
    for op in Op:
        for state in State:
            if op is Op.START and state is State.UNKNOWN:
                assert not can_transition(op, state)
                continue
            assert can_transition(op, state), (op, state)


def test_every_operation_is_idempotent():
    for (op, before), after in TRANSITIONS.items():
        assert TRANSITIONS[(op, after)] == after, (op, before, after)


def test_start_from_unknown_is_refused():
    with pytest.raises(InvalidTransition, match="cannot start"):
        check_transition(Op.START, State.UNKNOWN, "acme")


def _spec(tmp_path, tenant="acme"):
    return TenantLayout.for_home(tmp_path, tenant).spec()


def test_stub_records_calls_and_injects_failures(tmp_path):
    stub = StubBackend()
    stub.create(_spec(tmp_path))
    stub.fail_next(Op.START, BackendRetry("engine busy"))
    with pytest.raises(BackendRetry) as err:
        stub.start("acme")
    assert err.value.retry
    assert stub.start("acme").state is State.RUNNING
    stub.crash("acme")
    assert stub.status("acme").state is State.ERROR
    assert stub.stop("acme").state is State.STOPPED
    assert ("start", "acme") in stub.calls
    with pytest.raises(TenantNotFound):
        stub.start("other")


class StubFollowsTheTable(RuleBasedStateMachine):
    """The stub, driven at random, always agrees with the transition table (a reference model)."""

    def __init__(self):
        super().__init__()
        self.stub = StubBackend()
        self.model: dict[str, State] = {}

    @rule(tenant=st.sampled_from(["a", "b"]), op=st.sampled_from(list(Op)))
    def apply(self, tenant, op):
        import pathlib

        before = self.model.get(tenant, State.UNKNOWN)
        if not can_transition(op, before):
            with pytest.raises((InvalidTransition, TenantNotFound)):
                getattr(self.stub, op.value)(tenant)
            return
        if op is Op.CREATE:
            status = self.stub.create(TenantLayout.for_home(pathlib.Path("/h"), tenant).spec())
        else:
            status = getattr(self.stub, op.value)(tenant)
        self.model[tenant] = TRANSITIONS[(op, before)]
        assert status.state is self.model[tenant]

    @rule(tenant=st.sampled_from(["a", "b"]))
    def crash(self, tenant):
        if self.model.get(tenant, State.UNKNOWN) is not State.UNKNOWN:
            self.stub.crash(tenant)
            self.model[tenant] = State.ERROR

    @invariant()
    def statuses_match(self):
        for tenant in ("a", "b"):
            assert self.stub.status(tenant).state is self.model.get(tenant, State.UNKNOWN)


TestStubFollowsTheTable = StubFollowsTheTable.TestCase
