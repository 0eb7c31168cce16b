"""The tenants table, its states and the transition table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.authz import Resource
from domain.errors import InvalidTransition


TENANT_KEY = "tenant"
SAMPLE_KEY = "sample"
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")

MIGRATIONS: list[str] = [
    """
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        operator_id TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        backend TEXT NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX tenants_by_grant ON tenants (grant_id);
    CREATE TABLE tenant_jobs (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        entrypoint TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        outputs TEXT NOT NULL DEFAULT '[]',
        logs TEXT,
        submitted_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE TABLE tenant_imports (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        operator_id TEXT NOT NULL,
        name TEXT NOT NULL,
        filename TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        decided_by TEXT,
        reason TEXT,
        created_at TEXT NOT NULL,
        decided_at TEXT
    );
    """,
    """
    CREATE TABLE tenant_risks (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        reported_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        halted_from TEXT NOT NULL,
        reported_at TEXT NOT NULL,
        cleared_by TEXT,
        clear_reason TEXT,
        cleared_at TEXT
    );
    CREATE INDEX tenant_risks_open ON tenant_risks (tenant_id, cleared_at);
    """,
    """
    ALTER TABLE tenant_jobs ADD COLUMN host TEXT;
    """,
]


class TenantStatus(StrEnum):
    PROVISIONED = "provisioned"
    RUNNING = "running"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    HALTED = "halted"  # a risk report (R17) stopped its processing; only the authority clears it
    TERMINATED = "terminated"


S = TenantStatus
TRANSITIONS: dict[TenantStatus, frozenset[TenantStatus]] = {
    S.PROVISIONED: frozenset({S.RUNNING, S.SUSPENDED, S.HALTED, S.TERMINATED}),
    S.RUNNING: frozenset({S.STOPPED, S.SUSPENDED, S.HALTED, S.TERMINATED}),
    S.STOPPED: frozenset({S.RUNNING, S.SUSPENDED, S.HALTED, S.TERMINATED}),
    S.SUSPENDED: frozenset({S.STOPPED, S.HALTED, S.TERMINATED}),  # resume: back to stopped, then start
    # risk cleared: back to stopped, or to suspended if it was suspended when the risk was reported
    S.HALTED: frozenset({S.STOPPED, S.SUSPENDED, S.TERMINATED}),
    S.TERMINATED: frozenset(),
}

# Which command may make which change. The transition table says what is possible at all; a
# halted tenant leaves `halted` only through the authority's risk clearance (or termination).
VERBS: dict[str, frozenset[tuple[TenantStatus, TenantStatus]]] = {
    "start": frozenset((old, S.RUNNING) for old in (S.PROVISIONED, S.STOPPED)),
    "stop": frozenset({(S.RUNNING, S.STOPPED)}),
    "suspend": frozenset((old, S.SUSPENDED) for old in (S.PROVISIONED, S.RUNNING, S.STOPPED)),
    "resume": frozenset({(S.SUSPENDED, S.STOPPED)}),
    "risk_report": frozenset((old, S.HALTED) for old in (S.PROVISIONED, S.RUNNING, S.STOPPED, S.SUSPENDED)),
    "risk_clear": frozenset({(S.HALTED, S.STOPPED), (S.HALTED, S.SUSPENDED)}),
    "terminate": frozenset((old, S.TERMINATED) for old in TenantStatus if old != S.TERMINATED),
}


def check_transition(old: TenantStatus, new: TenantStatus, verb: str | None = None) -> None:
    """Raise unless `old → new` is in the table (and, given a verb, is that verb's change)."""
    if new not in TRANSITIONS[old] or (verb is not None and (old, new) not in VERBS[verb]):
        if old == S.HALTED:
            raise InvalidTransition("the tenant is halted by a risk report: only the competent authority's "
                                    "risk clearance (or termination) lifts it")
        raise InvalidTransition(f"a {old.value} tenant cannot become {new.value}")


def can_transition(old: TenantStatus, new: TenantStatus, verb: str | None = None) -> bool:
    return new in TRANSITIONS[old] and (verb is None or (old, new) in VERBS[verb])


def _action(old: TenantStatus, new: TenantStatus):
    from audit import Action

    if new == S.HALTED:
        return Action.RISK_REPORT
    if old == S.HALTED and new != S.TERMINATED:
        return Action.RISK_CLEAR
    if new == S.STOPPED:
        return Action.TENANT_RESUME if old == S.SUSPENDED else Action.TENANT_STOP
    return {S.RUNNING: Action.TENANT_START, S.SUSPENDED: Action.TENANT_SUSPEND,
            S.TERMINATED: Action.TENANT_TERMINATE}[new]


@dataclass(frozen=True)
class Tenant:
    id: str
    operator_id: str
    grant_id: str
    staff_id: str
    backend: str
    status: TenantStatus
    status_reason: str | None
    created_at: str
    updated_at: str

    @property
    def resource(self) -> Resource:
        return Resource("tenant", self.id, org=self.operator_id)

    @classmethod
    def from_row(cls, row) -> "Tenant":
        return cls(id=row["id"], operator_id=row["operator_id"], grant_id=row["grant_id"],
                   staff_id=row["staff_id"], backend=row["backend"], status=TenantStatus(row["status"]),
                   status_reason=row["status_reason"], created_at=row["created_at"],
                   updated_at=row["updated_at"])


