"""Tenant lifecycle in the control plane on the bubblewrap backend: the state table, a real
sandbox started and stopped, termination destroying the key and the files, grant changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.tenancy import TRANSITIONS, TenantStatus, can_transition
from domain.tenancy.imports import grant_datasets

pytestmark = [pytest.mark.bwrap, pytest.mark.slow]


def test_state_table_is_closed_and_terminated_is_final():
    assert set(TRANSITIONS) == set(TenantStatus)
    assert TRANSITIONS[TenantStatus.TERMINATED] == frozenset()
    assert all(TenantStatus.TERMINATED in targets for s, targets in TRANSITIONS.items()
               if s != TenantStatus.TERMINATED)
    assert not can_transition(TenantStatus.SUSPENDED, TenantStatus.RUNNING)  # resume first
    assert not can_transition(TenantStatus.PROVISIONED, TenantStatus.STOPPED)


def _actions(world, tenant_id):
    return [e.event.action.value for e in world.domain.audit_log.query()
            if any(r.kind == "tenant" and r.id == tenant_id for r in e.event.targets)]


def test_lifecycle_on_bwrap_and_terminate_destroys_the_key(world):
    from tenants.isolation.base import State
    from tenants.sdk import Client

    from domain.errors import InvalidTransition, NotFound

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-life")
    layout = d.tenancy.runtime.layout(tenant.id)
    assert tenant.status == TenantStatus.PROVISIONED and d.keys.exists("tenant", tenant.id)
    assert {p.stem for p in layout.samples_dir.glob("*.parquet")} == set(grant_datasets(world.domain, world.grant))

    d.tenancy.start(admin, tenant.id, wait_s=60)
    spec = d.tenancy.runtime.backend.spec_of(tenant.id)
    assert d.tenancy.runtime.status(tenant.id).state is State.RUNNING
    assert Client.at_socket(spec.gateway_socket).tenant == tenant.id
    assert d.tenancy.runtime.endpoint(tenant.id) is not None

    assert d.tenancy.stop(admin, tenant.id).status == TenantStatus.STOPPED
    assert not spec.gateway_socket.exists()
    assert d.tenancy.runtime.status(tenant.id).state is State.STOPPED

    assert d.tenancy.suspend(admin, tenant.id, reason="risk report").status == TenantStatus.SUSPENDED
    with pytest.raises(InvalidTransition):
        d.tenancy.start(admin, tenant.id, wait_s=None)
    assert d.tenancy.resume(admin, tenant.id, reason="cleared").status == TenantStatus.STOPPED

    wrapped_before = d.store.one("SELECT wrapped FROM data_keys WHERE purpose='tenant' AND owner=?", (tenant.id,))
    assert wrapped_before is not None
    assert d.tenancy.terminate(admin, tenant.id, reason="contract ended").status == TenantStatus.TERMINATED
    assert not d.keys.exists("tenant", tenant.id)
    with pytest.raises(NotFound):
        d.keys.get("tenant", tenant.id)
    assert not layout.root.exists() and not layout.cipher_dir.exists()
    assert d.tenancy.runtime.status(tenant.id).state is State.UNKNOWN
    with pytest.raises(InvalidTransition):
        d.tenancy.terminate(admin, tenant.id, reason="again")
    assert _actions(world, tenant.id) == ["tenant.create", "tenant.start", "tenant.stop", "tenant.suspend",
                                          "tenant.resume", "tenant.terminate", "key.destroy"]
    world.domain.audit_log.verify(world.domain.audit_log.public_key)  # raises if the log was altered


def test_only_the_authority_manages_tenants(world):
    from domain.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        world.domain.tenancy.create(world.principal("alice"), grant_id=world.grant.id, staff_id="alice")


def test_tenant_must_act_for_staff_of_the_grant_operator(world):
    from domain.errors import InvalidInput

    with pytest.raises(InvalidInput):
        world.domain.tenancy.create(world.principal("admin"), grant_id=world.grant.id, staff_id="rita")


def test_terminated_grant_terminates_its_tenants(world):
    from domain import demo

    d, admin = world.domain, world.principal("admin")
    today = d.today()
    grant = d.grants.create(admin, operator_id=demo.OPERATOR, scenario="second scenario",
                            columns={"population": ("district", "education")}, emergency_plan="EP-2",
                            starts_on=today, expires_on=today + timedelta(days=30))
    grant = d.grants.activate(admin, grant.id, reason="approved")
    tenant = d.tenancy.create(admin, grant_id=grant.id, staff_id="alice", tenant_id="t-short")
    d.grants.terminate(admin, grant.id, reason="licence withdrawn")
    tenant = d.tenancy.get(tenant.id)
    assert tenant.status == TenantStatus.TERMINATED and f"grant {grant.id}" in tenant.status_reason
    assert not d.keys.exists("tenant", tenant.id)
    assert not d.tenancy.runtime.layout(tenant.id).root.exists()
