"""Grants (授权): operator + one application scenario + the datasets and columns it needs +
a term of at most three years + an emergency plan, with an explicit state table.

    pending ──activate──► active ◄──resume── suspended
       │                    │  └──suspend──►    │
       └──────terminate─────┴───────────────────┴──► terminated
                 active/suspended past their end ──► expired

Expiry and suspension are enforced on every request (`check_active`), not by a timer: a grant
past its end is expired whether or not anyone has recorded it yet.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from domain.authz import Perm, Resource
from domain.clock import iso
from domain.errors import GrantNotActive, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from domain.principals import SYSTEM, Principal

if TYPE_CHECKING:
    from domain.core import Domain


MAX_TEXT = 2000  # scenario, purpose and emergency-plan reference


class GrantStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    EXPIRED = "expired"


VALID_TRANSITIONS: dict[GrantStatus, frozenset[GrantStatus]] = {
    GrantStatus.PENDING: frozenset({GrantStatus.ACTIVE, GrantStatus.TERMINATED, GrantStatus.EXPIRED}),
    GrantStatus.ACTIVE: frozenset({GrantStatus.SUSPENDED, GrantStatus.TERMINATED, GrantStatus.EXPIRED}),
    GrantStatus.SUSPENDED: frozenset({GrantStatus.ACTIVE, GrantStatus.TERMINATED, GrantStatus.EXPIRED}),
    GrantStatus.TERMINATED: frozenset(),
    GrantStatus.EXPIRED: frozenset(),
}

# The audit action recorded for each transition, keyed by (from, to).
def transition_action(old: GrantStatus, new: GrantStatus):
    from audit import Action

    if new == GrantStatus.ACTIVE:
        return Action.GRANT_RESUME if old == GrantStatus.SUSPENDED else Action.GRANT_ACTIVATE
    return {
        GrantStatus.SUSPENDED: Action.GRANT_SUSPEND,
        GrantStatus.TERMINATED: Action.GRANT_TERMINATE,
        GrantStatus.EXPIRED: Action.GRANT_EXPIRE,
    }[new]


def check_transition(old: GrantStatus, new: GrantStatus) -> None:
    if new not in VALID_TRANSITIONS[old]:
        raise InvalidTransition(f"a {old.value} grant cannot become {new.value}")


@dataclass(frozen=True)
class Grant:
    id: str
    operator_id: str
    scenario: str
    purpose: str
    emergency_plan: str
    starts_on: date
    expires_on: date
    status: GrantStatus
    status_reason: str | None
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # dataset -> columns

    def effective_status(self, today: date) -> GrantStatus:
        if self.status in (GrantStatus.TERMINATED, GrantStatus.EXPIRED):
            return self.status
        if today > self.expires_on:
            return GrantStatus.EXPIRED
        return self.status

    def is_usable(self, today: date) -> bool:
        return self.effective_status(today) == GrantStatus.ACTIVE and today >= self.starts_on

    @property
    def resource(self) -> Resource:
        return Resource("grant", self.id, org=self.operator_id)


def _years_after(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_column_spec(specs: list[str]) -> dict[str, tuple[str, ...]]:
    """'dataset:col1,col2' items → {dataset: (col1, col2)}; every column named (R13)."""
    result: dict[str, list[str]] = {}
    for spec in specs:
        dataset, sep, cols = spec.partition(":")
        names = [c.strip() for c in cols.split(",") if c.strip()]
        if not sep or not dataset.strip() or not names or "*" in names:
            raise InvalidInput(
                f"dataset spec {spec!r} must be 'dataset:col1,col2,...' naming every column "
                "the scenario needs (minimum necessary)"
            )
        result.setdefault(dataset.strip(), []).extend(names)
    return {d: tuple(dict.fromkeys(c)) for d, c in result.items()}


class GrantService:
    def __init__(self, domain: "Domain"):
        self.d = domain

    # -- reading ----------------------------------------------------------------------
    def get(self, grant_id: str) -> Grant:
        row = self.d.store.one("SELECT * FROM grants WHERE id=?", (grant_id,))
        if row is None:
            raise NotFound(f"no grant {grant_id!r}")
        cols: dict[str, list[str]] = {}
        for r in self.d.store.all(
            "SELECT dataset, column_name FROM grant_columns WHERE grant_id=? ORDER BY rowid", (grant_id,)
        ):
            cols.setdefault(r["dataset"], []).append(r["column_name"])
        return Grant(
            id=row["id"], operator_id=row["operator_id"], scenario=row["scenario"],
            purpose=row["purpose"], emergency_plan=row["emergency_plan"],
            starts_on=date.fromisoformat(row["starts_on"]),
            expires_on=date.fromisoformat(row["expires_on"]),
            status=GrantStatus(row["status"]), status_reason=row["status_reason"],
            columns={d: tuple(c) for d, c in cols.items()},
        )

    def view(self, actor: Principal, grant_id: str) -> Grant:
        grant = self.sync_expiry(self.get(grant_id))
        self.d.check(actor, Perm.GRANT_VIEW, grant.resource)
        if not self._provider_may_see(actor, grant):
            from audit import Action

            reason = f"provider {actor.org} may view only grants over its own datasets"
            self.d.record_refusal(Action.AUTH_DENIED, actor_id=actor.id, role=actor.role.value,
                                  org=actor.org, targets=[("grant", grant.id)], reason=reason,
                                  details={"permission": Perm.GRANT_VIEW.value})
            raise PermissionDenied(reason)
        return grant

    def _provider_may_see(self, actor: Principal, grant: Grant) -> bool:
        """A data provider sees the grants that use its datasets (who uses its data, for
        what), not the other grants of the domain."""
        if actor.role.value != "provider":
            return True
        names = list(grant.columns)
        if not names:
            return False
        marks = ",".join("?" * len(names))
        row = self.d.store.one(f"SELECT count(*) AS n FROM datasets WHERE provider=? AND name IN ({marks})",
                               (actor.org, *names))
        return row["n"] > 0

    def list(self, actor: Principal, operator_id: str | None = None) -> list[Grant]:
        if operator_id is None and actor.org and actor.role.value == "operator_staff":
            operator_id = actor.org
        if operator_id is not None:
            self.d.check(actor, Perm.GRANT_VIEW, Resource("operator", operator_id, org=operator_id))
            rows = self.d.store.all("SELECT id FROM grants WHERE operator_id=? ORDER BY created_at", (operator_id,))
        else:
            self.d.check(actor, Perm.GRANT_VIEW)
            rows = self.d.store.all("SELECT id FROM grants ORDER BY created_at")
        grants = [self.sync_expiry(self.get(r["id"])) for r in rows]
        return [g for g in grants if self._provider_may_see(actor, g)]

    # -- creating ---------------------------------------------------------------------
    def create(
        self,
        actor: Principal,
        *,
        operator_id: str,
        scenario: str,
        columns: dict[str, tuple[str, ...]],
        emergency_plan: str,
        starts_on: date,
        expires_on: date,
        purpose: str = "",
    ) -> Grant:
        from audit import Action

        self.d.check(actor, Perm.GRANT_MANAGE)
        operator = self.d.operators.get(operator_id)
        if operator.status != "active":
            raise InvalidInput(f"operator {operator_id} is not active")
        if not scenario.strip():
            raise InvalidInput("a grant needs its application scenario (R13)")
        if not emergency_plan.strip():
            raise InvalidInput("no operation without an emergency plan (一授权一预案): give --emergency-plan")
        self._check_term(starts_on, expires_on)
        for what, text in (("scenario", scenario), ("purpose", purpose), ("emergency plan", emergency_plan)):
            if len(text) > MAX_TEXT:
                raise InvalidInput(f"the {what} is at most {MAX_TEXT} characters (refer to the document)")
        columns = {dataset: tuple(dict.fromkeys(cols)) for dataset, cols in (columns or {}).items()}
        if not columns or not all(columns.values()):
            raise InvalidInput("a grant needs at least one dataset and names every column it needs from each")
        for dataset, cols in columns.items():
            self.d.catalog.check_grantable(dataset, cols)
        grant_id = "g-" + secrets.token_hex(4)
        with self.d.store.transaction() as tx:
            now = iso(tx.now())
            tx.execute(
                "INSERT INTO grants (id, operator_id, scenario, purpose, emergency_plan, starts_on,"
                " expires_on, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (grant_id, operator_id, scenario.strip(), purpose.strip(), emergency_plan.strip(),
                 starts_on.isoformat(), expires_on.isoformat(), now, now),
            )
            for dataset, cols in columns.items():
                for col in cols:
                    tx.execute(
                        "INSERT INTO grant_columns (grant_id, dataset, column_name) VALUES (?, ?, ?)",
                        (grant_id, dataset, col),
                    )
            tx.audit(self.d.event(
                Action.GRANT_CREATE, actor, org=operator_id,
                targets=[("grant", grant_id), ("operator", operator_id)],
                inputs=[("dataset", ds) for ds in columns],
                details={
                    "scenario": scenario.strip(),
                    "columns": {d: list(c) for d, c in columns.items()},
                    "starts_on": starts_on.isoformat(),
                    "expires_on": expires_on.isoformat(),
                },
            ))
        return self.get(grant_id)

    def _check_term(self, starts_on: date, expires_on: date) -> None:
        if expires_on <= starts_on:
            raise InvalidInput("a grant must end after it starts")
        limit = min(starts_on + timedelta(days=self.d.config.max_grant_days), _years_after(starts_on, 3))
        if expires_on > limit:
            raise InvalidInput(
                f"a grant term may not exceed three years (latest end for this start: {limit}); "
                "renewal is a new application (R9)"
            )

    # -- transitions ------------------------------------------------------------------
    def activate(self, actor: Principal, grant_id: str, reason: str = "approved") -> Grant:
        return self._transition(actor, grant_id, GrantStatus.ACTIVE, reason, only_from=GrantStatus.PENDING)

    def suspend(self, actor: Principal, grant_id: str, reason: str) -> Grant:
        return self._transition(actor, grant_id, GrantStatus.SUSPENDED, reason)

    def resume(self, actor: Principal, grant_id: str, reason: str) -> Grant:
        return self._transition(actor, grant_id, GrantStatus.ACTIVE, reason, only_from=GrantStatus.SUSPENDED)

    def terminate(self, actor: Principal, grant_id: str, reason: str) -> Grant:
        return self._transition(actor, grant_id, GrantStatus.TERMINATED, reason)

    def _transition(self, actor, grant_id, new, reason, only_from=None) -> Grant:
        self.d.check(actor, Perm.GRANT_MANAGE)
        if not reason or not reason.strip():
            raise InvalidInput("a reason is required for every grant status change")
        grant = self.sync_expiry(self.get(grant_id))
        if only_from is not None and grant.status != only_from:
            raise InvalidTransition(f"only a {only_from.value} grant can become {new.value}; this one is {grant.status.value}")
        check_transition(grant.status, new)
        if new == GrantStatus.ACTIVE:
            self._check_active_datasets(grant)  # before the change: never activate, then complain
        self._apply(actor, grant, new, reason.strip())
        return self.get(grant_id)

    def _check_active_datasets(self, grant: Grant) -> None:
        for dataset, cols in grant.columns.items():
            self.d.catalog.check_grantable(dataset, cols)

    def _dataset_problem(self, grant: Grant) -> str | None:
        """Why the grant's datasets cannot be used now (prohibited, withdrawn, columns gone)."""
        try:
            self._check_active_datasets(grant)
        except (InvalidInput, NotFound) as exc:
            return f"grant {grant.id} cannot be used: {exc.diagnostics()}"
        return None

    def _apply(self, actor: Principal, grant: Grant, new: GrantStatus, reason: str) -> None:
        with self.d.store.transaction() as tx:
            row = tx.one("SELECT status FROM grants WHERE id=?", (grant.id,))
            check_transition(GrantStatus(row["status"]), new)  # re-check under the write lock
            tx.execute(
                "UPDATE grants SET status=?, status_reason=?, updated_at=? WHERE id=?",
                (new.value, reason, iso(tx.now()), grant.id),
            )
            tx.audit(self.d.event(
                transition_action(GrantStatus(row["status"]), new), actor, org=grant.operator_id,
                targets=[("grant", grant.id)], reason=reason,
                details={"from": row["status"], "to": new.value},
            ))
        for hook in self.d.grant_hooks:
            hook(grant.id, new)

    def sync_expiry(self, grant: Grant) -> Grant:
        """Record the expiry of a grant past its end (a system transition, audited)."""
        today = self.d.today()
        if grant.effective_status(today) == GrantStatus.EXPIRED and grant.status != GrantStatus.EXPIRED:
            try:
                self._apply(SYSTEM, grant, GrantStatus.EXPIRED, f"term ended on {grant.expires_on}")
            except InvalidTransition:
                pass  # another process recorded it first
            return self.get(grant.id)
        return grant

    # -- enforcement on every request --------------------------------------------------
    def check_usable(self, actor: Principal, grant_id: str, perm: Perm) -> Grant:
        """The grant exists, belongs to the actor's organisation and is active today."""
        grant = self.sync_expiry(self.get(grant_id))
        self.d.check(actor, perm, grant.resource)
        today = self.d.today()
        why = None
        if not grant.is_usable(today):
            status = grant.effective_status(today)
            why = f"grant {grant.id} is {status.value}"
            if status == GrantStatus.ACTIVE:
                why = f"grant {grant.id} starts on {grant.starts_on}"
        else:
            why = self._dataset_problem(grant)  # the catalog may have changed since the grant
        if why is not None:
            from audit import Action

            self.d.record_refusal(
                Action.AUTH_DENIED, actor_id=actor.id, role=actor.role.value, reason=why,
                org=grant.operator_id, targets=[("grant", grant.id)], details={"permission": perm.value},
            )
            raise GrantNotActive(why)
        return grant
