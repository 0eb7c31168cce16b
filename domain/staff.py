"""Principals: authority admins, providers' staff, operators' staff, reviewers, regulators."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from domain.authz import Perm, Resource
from domain.clock import iso
from domain.errors import Conflict, InvalidInput, NotFound
from domain.principals import (
    ROLES_WITH_ORG,
    SYSTEM,
    Principal,
    PrincipalStatus,
    Role,
    check_id,
    principal_from_row,
)

if TYPE_CHECKING:
    from domain.core import Domain

# Actor ids the domain writes itself (system transitions, failed logins): no person takes them.
RESERVED_IDS = frozenset({SYSTEM.id, "unknown"})


class PrincipalService:
    def __init__(self, domain: "Domain"):
        self.d = domain

    def get(self, principal_id: str) -> Principal:
        row = self.d.store.one("SELECT * FROM principals WHERE id=?", (principal_id,))
        if row is None:
            raise NotFound(f"no principal {principal_id!r}")
        return principal_from_row(row)

    def view(self, actor: Principal, principal_id: str) -> Principal:
        if actor.id != principal_id:
            self.d.check(actor, Perm.PRINCIPAL_MANAGE)
        return self.get(principal_id)

    def list(self, actor: Principal, org: str | None = None) -> list[Principal]:
        self.d.check(actor, Perm.PRINCIPAL_MANAGE)
        sql, params = "SELECT * FROM principals", ()
        if org:
            sql, params = sql + " WHERE org=?", (org,)
        return [principal_from_row(r) for r in self.d.store.all(sql + " ORDER BY id", params)]

    def create(
        self,
        actor: Principal,
        *,
        principal_id: str,
        display_name: str,
        role: Role | str,
        org: str | None = None,
        password: str | None = None,
    ) -> Principal:
        from audit import Action

        from domain.auth import hash_password

        self.d.check(actor, Perm.PRINCIPAL_MANAGE)
        check_id(principal_id, "principal id")
        if principal_id in RESERVED_IDS:
            raise InvalidInput(f"the id {principal_id!r} is reserved for the domain's own records")
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInput(f"unknown role {role!r}; one of {', '.join(r.value for r in Role if r != Role.SYSTEM)}") from None
        if role == Role.SYSTEM:
            raise InvalidInput("the system role cannot be given to a person")
        if role in ROLES_WITH_ORG and not org:
            raise InvalidInput(f"a {role.value} must belong to an organisation (--org)")
        if org is not None:
            check_id(org, "organisation")
        if not display_name or not display_name.strip() or len(display_name) > 200:
            raise InvalidInput("a display name of at most 200 characters is required")
        if not display_name.isprintable():
            raise InvalidInput("a display name cannot hold control characters")
        password_hash = hash_password(password) if password is not None else None
        with self.d.store.transaction() as tx:
            self._check_org_exists(tx, role, org)
            if tx.one("SELECT 1 FROM principals WHERE id=?", (principal_id,)):
                raise Conflict(f"principal {principal_id!r} already exists")
            now = iso(tx.now())
            tx.execute(
                "INSERT INTO principals (id, display_name, role, org, status, password_hash,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
                (principal_id, display_name.strip(), role.value, org, password_hash, now, now),
            )
            tx.audit(self.d.event(
                Action.PRINCIPAL_CREATE, actor, org=org, targets=[("principal", principal_id)],
                details={"role": role.value},
            ))
        return self.get(principal_id)

    @staticmethod
    def _check_org_exists(tx, role: Role, org: str | None) -> None:
        if role == Role.OPERATOR_STAFF and not tx.one("SELECT 1 FROM operators WHERE id=?", (org,)):
            raise NotFound(f"no operator {org!r}; register it first with 'aod operator add'")

    def set_compliance(
        self,
        actor: Principal,
        principal_id: str,
        *,
        realname_verified_on: date | None = None,
        realname_method: str | None = None,
        nda_signed_on: date | None = None,
        nda_expires_on: date | None = None,
        training_passed_on: date | None = None,
    ) -> Principal:
        """Record real-name verification, confidentiality agreement and training (R7)."""
        from audit import Action

        self.d.check(actor, Perm.PRINCIPAL_MANAGE)
        current = self.get(principal_id)
        changes = {
            "realname_verified_on": realname_verified_on,
            "realname_method": realname_method,
            "nda_signed_on": nda_signed_on,
            "nda_expires_on": nda_expires_on,
            "training_passed_on": training_passed_on,
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            raise InvalidInput("nothing to change")
        if realname_verified_on and not (realname_method or current.realname_method):
            raise InvalidInput("say how the real name was verified (--method)")
        signed = nda_signed_on or current.nda_signed_on
        expires = nda_expires_on or current.nda_expires_on
        if expires and (signed is None or expires <= signed):
            raise InvalidInput("the confidentiality agreement must be signed before it expires")
        if nda_signed_on and not expires:
            raise InvalidInput("a confidentiality agreement needs a term (--nda-expires)")
        stored = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()}
        with self.d.store.transaction() as tx:
            assignments = ", ".join(f"{k}=?" for k in stored)
            tx.execute(
                f"UPDATE principals SET {assignments}, updated_at=? WHERE id=?",
                (*stored.values(), iso(tx.now()), principal_id),
            )
            tx.audit(self.d.event(
                Action.PRINCIPAL_UPDATE, actor, org=current.org,
                targets=[("principal", principal_id)], details={"set": sorted(stored)},
            ))
        return self.get(principal_id)

    def unlock_login(self, actor: Principal, principal_id: str, reason: str) -> bool:
        """Clear a login lock (and the failure count) before it runs out; audited.
        Returns whether there was anything to clear."""
        from audit import Action

        self.d.check(actor, Perm.PRINCIPAL_MANAGE)
        current = self.get(principal_id)
        if not reason:
            raise InvalidInput("a reason is required")
        with self.d.store.transaction() as tx:
            cleared = self.d.auth.throttle.clear(tx, principal_id)
            tx.audit(self.d.event(
                Action.PRINCIPAL_UPDATE, actor, org=current.org, targets=[("principal", principal_id)],
                reason=reason, details={"login_lock": "cleared" if cleared else "none"},
            ))
        return cleared

    def disable(self, actor: Principal, principal_id: str, reason: str) -> Principal:
        from audit import Action

        self.d.check(actor, Perm.PRINCIPAL_MANAGE)
        current = self.get(principal_id)
        if not reason:
            raise InvalidInput("a reason is required")
        with self.d.store.transaction() as tx:
            if current.role == Role.AUTHORITY and current.status == PrincipalStatus.ACTIVE and tx.one(
                "SELECT count(*) AS n FROM principals WHERE role=? AND status=?",
                (Role.AUTHORITY.value, PrincipalStatus.ACTIVE.value),
            )["n"] <= 1:
                raise Conflict(f"{principal_id} is the last active authority administrator; add another first")
            tx.execute(
                "UPDATE principals SET status=?, updated_at=? WHERE id=?",
                (PrincipalStatus.DISABLED.value, iso(tx.now()), principal_id),
            )
            tx.execute(
                "UPDATE tokens SET revoked_at=? WHERE principal_id=? AND revoked_at IS NULL",
                (iso(tx.now()), principal_id),
            )
            tx.audit(self.d.event(
                Action.PRINCIPAL_DISABLE, actor, org=current.org,
                targets=[("principal", principal_id)], reason=reason,
            ))
        return self.get(principal_id)

    def set_password(self, actor: Principal, principal_id: str, password: str) -> None:
        from audit import Action

        from domain.auth import hash_password

        if actor.id != principal_id:
            self.d.check(actor, Perm.PRINCIPAL_MANAGE)
        self.get(principal_id)
        password_hash = hash_password(password)
        with self.d.store.transaction() as tx:
            tx.execute(
                "UPDATE principals SET password_hash=?, updated_at=? WHERE id=?",
                (password_hash, iso(tx.now()), principal_id),
            )
            tx.audit(self.d.event(
                Action.PRINCIPAL_UPDATE, actor, targets=[("principal", principal_id)],
                details={"set": ["password"]},
            ))
