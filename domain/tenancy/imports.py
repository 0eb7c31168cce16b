"""Social-data imports (R15): pending until the competent authority approves or refuses."""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from domain.authz import Perm, Resource
from domain.clock import iso
from domain.errors import InvalidInput, InvalidTransition, NotFound
from domain.principals import Principal

if TYPE_CHECKING:
    from domain.core import Domain

STATES = ("pending", "approved", "refused")


@dataclass(frozen=True)
class ImportRecord:
    """A social-data import as the control plane shows it (never its content)."""

    id: str
    tenant_id: str
    operator_id: str
    name: str
    filename: str
    size: int
    sha256: str
    description: str
    state: str
    decided_by: str | None
    reason: str | None
    created_at: str
    decided_at: str | None

    @classmethod
    def from_row(cls, row) -> "ImportRecord":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


class ImportService:
    """An operator's external data: spooled by the gateway, kept pending under home/imports/,
    approved (kept, recorded) or refused (destroyed) by the competent authority."""

    def __init__(self, domain: "Domain"):
        self.d = domain

    def request(self, tenant, staff, upload, request_id):
        from tenants.gateway import ImportInfo

        import_id = "i-" + secrets.token_hex(6)
        filename = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(upload.filename).name)[:100] or "upload"
        folder = self.d.home / "imports" / import_id
        folder.mkdir(parents=True, mode=0o700)
        shutil.move(str(upload.path), folder / filename)
        try:
            self._record(tenant, staff, upload, import_id, filename, request_id)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # nothing acknowledged, nothing kept
            raise
        return ImportInfo(import_id, "pending", "awaiting the competent authority's decision")

    def _record(self, tenant, staff, upload, import_id: str, filename: str, request_id) -> None:
        from audit import Action

        with self.d.store.transaction() as tx:
            tx.execute("INSERT INTO tenant_imports (id, tenant_id, operator_id, name, filename, size, sha256,"
                       " description, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                       (import_id, tenant.id, tenant.operator_id, upload.name, filename, upload.size,
                        upload.sha256, upload.description[:500], iso(tx.now())))
            tx.audit(self.d.event(
                Action.IMPORT_REQUEST, staff, org=tenant.operator_id, request_id=request_id,
                targets=[("import", import_id), ("tenant", tenant.id)],
                inputs=[("file", filename, upload.sha256)], details={"name": upload.name, "size": upload.size}))

    def list(self, actor: Principal, state: str | None = None) -> list[ImportRecord]:
        """Imports the actor may see: all for the authority, its own operator's for staff."""
        if state is not None and state not in STATES:
            raise InvalidInput(f"import state must be one of {', '.join(STATES)}")
        where, params = ["(? IS NULL OR state=?)"], [state, state]
        if actor.role.value == "operator_staff":
            self.d.check(actor, Perm.IMPORT_REQUEST, Resource("operator", actor.org or "", org=actor.org))
            where.append("operator_id=?")
            params.append(actor.org)
        else:
            self.d.check(actor, Perm.IMPORT_DECIDE)
        rows = self.d.store.all(f"SELECT * FROM tenant_imports WHERE {' AND '.join(where)}"
                                " ORDER BY created_at, id", params)
        return [ImportRecord.from_row(r) for r in rows]

    def decide(self, actor: Principal, import_id: str, *, approve: bool, reason: str) -> str:
        from audit import Action

        self.d.check(actor, Perm.IMPORT_DECIDE)
        if not reason or not reason.strip():
            raise InvalidInput("say why the import is approved or refused")
        row = self.d.store.one("SELECT * FROM tenant_imports WHERE id=?", (import_id,))
        if row is None:
            raise NotFound(f"no import {import_id!r}")
        if row["state"] != "pending":
            raise InvalidTransition(f"import {import_id} is {row['state']} already")
        state = "approved" if approve else "refused"
        with self.d.store.transaction() as tx:
            if tx.one("SELECT state FROM tenant_imports WHERE id=?", (import_id,))["state"] != "pending":
                raise InvalidTransition(f"import {import_id} was decided meanwhile")  # under the write lock
            tx.execute("UPDATE tenant_imports SET state=?, decided_by=?, reason=?, decided_at=? WHERE id=?",
                       (state, actor.id, reason.strip(), iso(tx.now()), import_id))
            tx.audit(self.d.event(
                Action.IMPORT_APPROVE if approve else Action.IMPORT_REFUSE, actor, org=row["operator_id"],
                targets=[("import", import_id)], inputs=[("file", row["filename"], row["sha256"])],
                reason=reason.strip()))
        if not approve:
            shutil.rmtree(self.d.home / "imports" / import_id, ignore_errors=True)
        return state
