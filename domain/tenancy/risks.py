"""Risk reports (R17): a report halts a tenant's processing until the authority clears it.

A report moves the tenant to `halted` (audited `risk.report`, in the same transaction as the
report's row); a second report on a halted tenant is recorded and audited too, the status stays.
Clearance (`risk.clear`) closes every open report of the tenant and returns it to the status the
first open report found: `stopped`, or `suspended` if it was suspended then (a risk clearance
never lifts a suspension). Permissions are checked by the caller (`TenantService`).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from domain.clock import iso
from domain.errors import InvalidTransition
from domain.tenancy.model import S, Tenant, TenantStatus, check_transition

if TYPE_CHECKING:
    from domain.core import Domain
    from domain.principals import Principal
    from domain.tenancy.service import TenantService


def report(service: "TenantService", actor: "Principal", tenant: Tenant, reason: str) -> str:
    """Record a risk report and halt the tenant in the control plane; returns the report's id."""
    from audit import Action

    risk_id = "risk-" + secrets.token_hex(6)
    with service.d.store.transaction() as tx:
        old = TenantStatus(tx.one("SELECT status FROM tenants WHERE id=?", (tenant.id,))["status"])
        if old == S.TERMINATED:
            raise InvalidTransition(f"tenant {tenant.id} is terminated: nothing left to halt")
        tx.execute("INSERT INTO tenant_risks (id, tenant_id, reported_by, reason, halted_from, reported_at)"
                   " VALUES (?, ?, ?, ?, ?, ?)", (risk_id, tenant.id, actor.id, reason, old.value, iso(tx.now())))
        if old == S.HALTED:  # already halted: the report is recorded, the status stays
            tx.audit(service.d.event(
                Action.RISK_REPORT, actor, org=tenant.operator_id, reason=reason,
                targets=[("tenant", tenant.id), ("grant", tenant.grant_id), ("risk", risk_id)],
                details={"from": old.value, "to": old.value}))
        else:
            service._update(tx, actor, tenant, S.HALTED, reason, verb="risk_report", targets=(("risk", risk_id),))
    return risk_id


def clear(service: "TenantService", actor: "Principal", tenant: Tenant, reason: str) -> TenantStatus:
    """Close the tenant's open reports and lift the halt; returns the tenant's new status."""
    with service.d.store.transaction() as tx:
        old = TenantStatus(tx.one("SELECT status FROM tenants WHERE id=?", (tenant.id,))["status"])
        if old != S.HALTED:
            raise InvalidTransition(f"tenant {tenant.id} is {old.value}, not halted by a risk report")
        open_ = tx.all("SELECT id, halted_from FROM tenant_risks WHERE tenant_id=? AND cleared_at IS NULL"
                       " ORDER BY reported_at, id", (tenant.id,))
        new = S.SUSPENDED if open_ and open_[0]["halted_from"] == S.SUSPENDED.value else S.STOPPED
        check_transition(old, new, "risk_clear")
        tx.execute("UPDATE tenant_risks SET cleared_by=?, clear_reason=?, cleared_at=? WHERE tenant_id=?"
                   " AND cleared_at IS NULL", (actor.id, reason, iso(tx.now()), tenant.id))
        service._update(tx, actor, tenant, new, reason, verb="risk_clear",
                        targets=tuple(("risk", r["id"]) for r in open_))
    return new


def of_tenant(domain: "Domain", tenant_id: str) -> list[dict]:
    rows = domain.store.all("SELECT * FROM tenant_risks WHERE tenant_id=? ORDER BY reported_at, id", (tenant_id,))
    return [dict(r) for r in rows]
