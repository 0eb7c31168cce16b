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
from domain.errors import DomainError, InvalidInput, InvalidTransition, NotFound
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

    def decide(self, actor: Principal, import_id: str, *, approve: bool, reason: str,
               privacy_unit: str | None = None) -> str:
        """Refused, the upload is destroyed. Approved, it becomes the operator's own dataset
        (classified, encrypted, restricted, active), in the same transaction as the decision;
        an upload that cannot be registered fails the approval and stays pending."""
        self.d.check(actor, Perm.IMPORT_DECIDE)
        if not reason or not reason.strip():
            raise InvalidInput("say why the import is approved or refused")
        row = self.d.store.one("SELECT * FROM tenant_imports WHERE id=?", (import_id,))
        if row is None:
            raise NotFound(f"no import {import_id!r}")
        if row["state"] != "pending":
            raise InvalidTransition(f"import {import_id} is {row['state']} already")
        if approve:
            try:
                self._approve(actor, row, reason.strip(), privacy_unit)
            except DomainError as exc:  # the approval failed: on the record, with why
                from audit import Action

                self.d.record_refusal(
                    Action.IMPORT_APPROVE, actor_id=actor.id, role=actor.role.value,
                    reason=f"approval failed: {exc.diagnostics()}", org=row["operator_id"],
                    targets=[("import", import_id)])
                raise
        else:
            with self.d.store.transaction() as tx:
                self._record_decision(tx, actor, row, "refused", reason.strip(), None)
        shutil.rmtree(self.d.home / "imports" / import_id, ignore_errors=True)
        return "approved" if approve else "refused"

    def _approve(self, actor: Principal, row, reason: str, privacy_unit: str | None) -> None:
        from domain.catalog import Approval, OpenAttribute

        source = self.d.home / "imports" / row["id"] / row["filename"]
        if not source.is_file():
            raise InvalidInput(f"import {row['id']} has no pending file any more; refuse it")
        self.d.catalog.ingest(
            actor, source, name=dataset_name(row["operator_id"], row["name"], row["id"]),
            title=f"{row['name']} (social data of {row['operator_id']}, import {row['id']})",
            provider=row["operator_id"], open_attribute=OpenAttribute.RESTRICTED.value,
            description=row["description"],
            approval=Approval(privacy_unit, lambda tx, info: self._record_decision(
                tx, actor, row, "approved", reason, info.sha256)))

    def _record_decision(self, tx, actor: Principal, row, state: str, reason: str, content_sha256) -> None:
        from audit import Action

        import_id = row["id"]
        if tx.one("SELECT state FROM tenant_imports WHERE id=?", (import_id,))["state"] != "pending":
            raise InvalidTransition(f"import {import_id} was decided meanwhile")  # under the write lock
        tx.execute("UPDATE tenant_imports SET state=?, decided_by=?, reason=?, decided_at=? WHERE id=?",
                   (state, actor.id, reason, iso(tx.now()), import_id))
        approved = state == "approved"
        outputs = [("dataset", dataset_name(row["operator_id"], row["name"], row["id"]), content_sha256)] if approved else []
        tx.audit(self.d.event(
            Action.IMPORT_APPROVE if approved else Action.IMPORT_REFUSE, actor, org=row["operator_id"],
            targets=[("import", import_id)], inputs=[("file", row["filename"], row["sha256"])],
            outputs=outputs, reason=reason))


def dataset_name(operator_id: str, name: str, import_id: str) -> str:
    """The catalog name of an operator's approved import: `imp_<operator>_<name>` (the
    import's id when the name has no ASCII letters or digits)."""
    def part(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")

    return f"imp_{part(operator_id)}_{part(name) or part(import_id)}"[:63].rstrip("_")


def operator_datasets(domain: "Domain", operator_id: str) -> tuple[str, ...]:
    """The active datasets made from `operator_id`'s approved imports: usable by that
    operator's grants only (the operator is their provider)."""
    rows = domain.store.all(
        "SELECT id, name FROM tenant_imports WHERE operator_id=? AND state='approved'", (operator_id,))
    names = {dataset_name(operator_id, r["name"], r["id"]) for r in rows}
    found = []
    for name in sorted(names):
        ds = domain.store.one("SELECT provider, status FROM datasets WHERE name=?", (name,))
        if ds is not None and ds["provider"] == operator_id and ds["status"] == "active":
            found.append(name)
    return tuple(found)


def grant_datasets(domain: "Domain", grant) -> dict[str, tuple[str, ...]]:
    """Every dataset a grant reaches, with its columns: the granted columns, and every column
    of the datasets made from its operator's approved imports (R15). Queries, jobs and samples
    all see this same set."""
    reached = {name: tuple(columns) for name, columns in grant.columns.items()}
    for name in operator_datasets(domain, grant.operator_id):
        if name not in reached:
            reached[name] = tuple(c.name for c in domain.catalog.get(name).columns)
    return dict(sorted(reached.items()))
