"""Tenants in the control plane: one isolated sandbox per operator grant (R1, R3, R7, R10, R11).

The control plane records each tenant (operator, grant, the staff member it acts for, backend)
with an explicit state table; the tenants/ package does the isolation. Every change is audited
in the transaction that records it.

    provisioned ──start──► running ──stop──► stopped ──start──► running
        │  └──────────────────┴─────suspend────┴──► suspended ──resume──► stopped
        └──────────────────── terminate (from any state but terminated) ──► terminated
    any state but terminated ──risk report (authority or the operator's staff)──► halted
    halted ──risk clear (authority only)──► stopped (or suspended, if it was suspended then)

The exact table is `model.TRANSITIONS`; `model.VERBS` says which command makes which change.

Sandboxes and gateway sockets live as long as the process that started them (`aod tenant start`
in the foreground, or the domain server): `TenantService.enforce()` closes any tenant whose
recorded status is no longer `running`, so a stop, suspension or grant suspension recorded by
another process cuts access within a poll interval; the gateway handler (`DomainGatewayHandler`)
also re-checks tenant and grant on every request (fail closed).

Terminating a tenant destroys its workspace key in the key store (in the audited transaction)
and deletes its workspace ciphertext and folders.

Modules: `model` (table, states, transitions), `service` (lifecycle), `samples` (desensitized
samples of a grant), `gateway` (the `GatewayHandler`), `jobs` (code to the data), `imports`
(social-data imports), `risks` (risk reports, R17).
"""

from domain.tenancy.gateway import DomainGatewayHandler
from domain.tenancy.imports import ImportService
from domain.tenancy.jobs import JobRunner
from domain.tenancy.model import (
    MIGRATIONS, SAMPLE_KEY, TENANT_KEY, TRANSITIONS, VERBS, Tenant, TenantStatus, can_transition, check_transition,
)
from domain.tenancy.samples import make_grant_samples
from domain.tenancy.service import TenantService, make_backend

__all__ = [
    "MIGRATIONS", "SAMPLE_KEY", "TENANT_KEY", "TRANSITIONS", "VERBS", "DomainGatewayHandler", "ImportService", "JobRunner",
    "Tenant", "TenantService", "TenantStatus", "can_transition", "check_transition", "make_backend",
    "make_grant_samples",
]
