"""`TenantService`: the lifecycle of tenants, audited; the runtime lives in this process."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from domain.authz import Perm, Resource
from domain.clock import iso
from domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from domain.principals import SYSTEM, Principal
from domain.tenancy.model import (
    S, TENANT_ID, TENANT_KEY, Tenant, TenantStatus, _action, can_transition, check_transition,
)
from domain.tenancy import risks
from domain.tenancy.samples import make_grant_samples

if TYPE_CHECKING:
    from domain.core import Domain


def make_backend(home: Path, name: str):
    """The isolation backend named by the configuration (`tenant_backend`)."""
    if name == "bwrap":
        from tenants.isolation.bwrap import BwrapBackend

        return BwrapBackend(home / "tenants" / "_bwrap")
    if name == "docker":
        from tenants.isolation.docker_backend import DockerBackend

        return DockerBackend(home / "tenants" / "_docker")
    raise InvalidInput("tenant_backend must be 'bwrap' or 'docker'")


MAX_REASON = 500


class TenantService:
    """Lifecycle of tenants; the runtime (sandboxes, gateway sockets) lives in this process."""

    def __init__(self, domain: "Domain", backend=None):
        self.d = domain
        self._backend = backend
        self._runtime = None
        self._lock = threading.RLock()
        self._served: set[str] = set()  # tenants started by this process (their jobs run here)

    # -- the runtime of this process ------------------------------------------------------
    @property
    def runtime(self):
        with self._lock:
            if self._runtime is None:
                from tenants.gateway import Gateway
                from tenants.runtime import TenantRuntime

                from domain.tenancy.gateway import DomainGatewayHandler

                tenants_dir = self.d.home / "tenants"
                tenants_dir.chmod(0o711)  # sandboxes (uid 65534) traverse to their own folders
                backend = self._backend or make_backend(self.d.home, self.d.config.tenant_backend)
                gateway = Gateway(DomainGatewayHandler(self.d), spool_dir=tenants_dir / "_spool")
                self._runtime = TenantRuntime(self.d.home, backend, gateway)
            return self._runtime

    # -- reading ------------------------------------------------------------------------
    def get(self, tenant_id: str) -> Tenant:
        row = self.d.store.one("SELECT * FROM tenants WHERE id=?", (tenant_id,))
        if row is None:
            raise NotFound(f"no tenant {tenant_id!r}")
        return Tenant.from_row(row)

    def view(self, actor: Principal, tenant_id: str) -> Tenant:
        tenant = self.get(tenant_id)
        perm = Perm.TENANT_MANAGE if actor.role.value != "operator_staff" else Perm.TENANT_USE
        self.d.check(actor, perm, tenant.resource)
        return tenant

    def list(self, actor: Principal) -> list[Tenant]:
        if actor.role.value == "operator_staff":
            self.d.check(actor, Perm.TENANT_USE, Resource("operator", actor.org or "", org=actor.org))
            rows = self.d.store.all("SELECT * FROM tenants WHERE operator_id=? ORDER BY created_at", (actor.org,))
        else:
            self.d.check(actor, Perm.TENANT_MANAGE)
            rows = self.d.store.all("SELECT * FROM tenants ORDER BY created_at")
        return [Tenant.from_row(r) for r in rows]

    def of_grant(self, grant_id: str) -> list[Tenant]:
        return [Tenant.from_row(r) for r in self.d.store.all(
            "SELECT * FROM tenants WHERE grant_id=? ORDER BY created_at", (grant_id,))]

    def samples_dir(self, grant_id: str) -> Path:
        return self.d.home / "samples" / grant_id

    # -- creating -----------------------------------------------------------------------
    def create(self, actor: Principal, *, grant_id: str, staff_id: str, tenant_id: str | None = None) -> Tenant:
        """Record the tenant, make its key and desensitized samples, provision its sandbox."""
        from audit import Action

        self.d.check(actor, Perm.TENANT_MANAGE)
        grant = self.d.grants.get(grant_id)
        if not grant.is_usable(self.d.today()):
            raise InvalidInput(f"grant {grant_id} is not active: no tenant for it")
        staff = self.d.principals.get(staff_id)
        if staff.role.value != "operator_staff" or staff.org != grant.operator_id:
            raise InvalidInput(f"{staff_id} is not staff of operator {grant.operator_id}")
        tenant_id = tenant_id or f"{grant.operator_id}-{secrets.token_hex(3)}"[-48:].lstrip("-")
        if not TENANT_ID.match(tenant_id):
            raise InvalidInput("tenant id must be 1-48 characters of a-z, 0-9 and '-'")
        if self.d.store.one("SELECT 1 FROM tenants WHERE id=?", (tenant_id,)):
            raise Conflict(f"tenant {tenant_id} exists already")
        reports = make_grant_samples(self.d, grant, self.samples_dir(grant.id))
        with self.d.store.transaction() as tx:
            now = iso(tx.now())
            tx.execute("INSERT INTO tenants (id, operator_id, grant_id, staff_id, backend, status, created_at,"
                       " updated_at) VALUES (?, ?, ?, ?, ?, 'provisioned', ?, ?)",
                       (tenant_id, grant.operator_id, grant.id, staff_id, self.d.config.tenant_backend, now, now))
            self.d.keys.create(tx, TENANT_KEY, tenant_id)
            tx.audit(self.d.event(
                Action.TENANT_CREATE, actor, org=grant.operator_id,
                targets=[("tenant", tenant_id), ("grant", grant.id)],
                inputs=[("dataset", name) for name in reports],
                outputs=[("sample", f"{grant.id}/{name}", sha) for name, sha in reports.items()],
                details={"backend": self.d.config.tenant_backend, "staff": staff_id},
            ))
        try:
            self._provision(tenant_id)
        except Exception:
            self._terminate(SYSTEM, self.get(tenant_id), "provisioning failed")  # key and files go
            raise
        return self.get(tenant_id)

    def _provision(self, tenant_id: str) -> None:
        tenant = self.get(tenant_id)
        layout = self.runtime.layout(tenant_id)
        # JupyterLab's base URL is the domain server's proxy path for this tenant
        self.runtime.provision(tenant_id, self.d.keys.get(TENANT_KEY, tenant_id),
                               jupyter_base_url=f"/jupyter/{tenant_id}/")
        _copy_samples(self.samples_dir(tenant.grant_id), layout.samples_dir)

    def _refresh_samples(self, tenant: Tenant, grant) -> None:
        """Samples of datasets the grant reaches since the tenant was made, into /data/samples."""
        from domain.tenancy.samples import refresh_grant_samples

        refresh_grant_samples(self.d, grant, self.samples_dir(grant.id))
        _copy_samples(self.samples_dir(grant.id), self.runtime.layout(tenant.id).samples_dir)

    # -- transitions --------------------------------------------------------------------
    def start(self, actor: Principal, tenant_id: str, *, wait_s: float | None = 60.0) -> Tenant:
        """Run the sandbox and open the gateway socket in this process (see the module doc)."""
        self.d.check(actor, Perm.TENANT_MANAGE)
        tenant = self.get(tenant_id)
        if tenant.status != S.RUNNING:
            check_transition(tenant.status, S.RUNNING, "start")
        grant = self.d.grants.sync_expiry(self.d.grants.get(tenant.grant_id))
        if not grant.is_usable(self.d.today()):
            raise InvalidInput(f"grant {grant.id} is {grant.effective_status(self.d.today()).value}: "
                               "the tenant cannot start")
        if tenant.status != S.RUNNING:
            self._record(actor, tenant, S.RUNNING, "started", verb="start")
        try:
            self._refresh_samples(tenant, grant)
            self._served.add(tenant_id)
            self.runtime.start(tenant_id, self.d.keys.get(TENANT_KEY, tenant_id), wait_s=wait_s)
        except Exception:
            self.runtime.stop(tenant_id)
            self._record(SYSTEM, self.get(tenant_id), S.STOPPED, "the sandbox failed to start")
            raise
        return self.get(tenant_id)

    def stop(self, actor: Principal, tenant_id: str, reason: str = "stopped") -> Tenant:
        self.d.check(actor, Perm.TENANT_MANAGE)
        tenant = self.get(tenant_id)
        if tenant.status == S.RUNNING:
            self._record(actor, tenant, S.STOPPED, reason)
        self._halt(tenant_id)
        return self.get(tenant_id)

    def suspend(self, actor: Principal, tenant_id: str, reason: str) -> Tenant:
        self._need_reason(reason)
        self.d.check(actor, Perm.TENANT_MANAGE)
        tenant = self.get(tenant_id)
        self._record(actor, tenant, S.SUSPENDED, reason, verb="suspend")
        self._cancel_jobs(actor, tenant_id, f"tenant suspended: {reason.strip()}")
        self._halt(tenant_id)
        return self.get(tenant_id)

    def resume(self, actor: Principal, tenant_id: str, reason: str) -> Tenant:
        self._need_reason(reason)
        self.d.check(actor, Perm.TENANT_MANAGE)
        tenant = self.get(tenant_id)
        if tenant.status != S.SUSPENDED:
            raise InvalidTransition(f"only a suspended tenant can be resumed; {tenant_id} is {tenant.status.value}")
        self._record(actor, tenant, S.STOPPED, reason, verb="resume")
        return self.get(tenant_id)

    # -- risk reports (R17) -------------------------------------------------------------
    def risk_report(self, actor: Principal, tenant_id: str, reason: str) -> Tenant:
        """Halt the tenant's processing at once: recorded as `halted` (so every gateway request
        and every process serving it refuses), then its gateway closed and sandbox stopped here.
        The authority or staff of the tenant's operator may report; a report is never refused
        for a lapsed compliance record (it only takes access away)."""
        from domain.authz import can

        self._need_reason(reason)
        tenant = self.get(tenant_id)
        if not can(actor, Perm.RISK_REPORT, tenant.resource):
            self.d.check(actor, Perm.RISK_REPORT, tenant.resource)  # audits the refusal and raises
        risks.report(self, actor, tenant, reason.strip()[:MAX_REASON])
        self._cancel_jobs(actor, tenant_id, f"tenant halted by a risk report: {reason.strip()}")
        self._halt(tenant_id)
        return self.get(tenant_id)

    def risk_clear(self, actor: Principal, tenant_id: str, reason: str) -> Tenant:
        """The competent authority lifts the halt: the tenant is stopped (or suspended again, if it
        was suspended when the risk was reported) and can be started again."""
        self._need_reason(reason)
        tenant = self.get(tenant_id)
        self.d.check(actor, Perm.RISK_CLEAR, tenant.resource)
        risks.clear(self, actor, tenant, reason.strip()[:MAX_REASON])
        return self.get(tenant_id)

    def risk_reports(self, actor: Principal, tenant_id: str) -> list[dict]:
        """The tenant's risk reports, open and cleared (for the authority and the operator's staff)."""
        self.view(actor, tenant_id)
        return risks.of_tenant(self.d, tenant_id)

    def terminate(self, actor: Principal, tenant_id: str, reason: str) -> Tenant:
        """Close access, remove the sandbox, destroy the key (audited) and delete the files."""
        self._need_reason(reason)
        self.d.check(actor, Perm.TENANT_MANAGE)
        return self._terminate(actor, self.get(tenant_id), reason)

    def _terminate(self, actor: Principal, tenant: Tenant, reason: str) -> Tenant:
        from audit import Action

        check_transition(tenant.status, S.TERMINATED)
        self._cancel_jobs(actor, tenant.id, f"tenant terminated: {reason.strip()}")
        self._halt(tenant.id)
        self.runtime.destroy(tenant.id)
        self._delete_jobs(tenant.id)
        with self.d.store.transaction() as tx:
            self._update(tx, actor, tenant, S.TERMINATED, reason)
            destroyed = self.d.keys.destroy(tx, TENANT_KEY, tenant.id)
            tx.audit(self.d.event(
                Action.KEY_DESTROY, actor, org=tenant.operator_id,
                targets=[("key", f"{TENANT_KEY}:{tenant.id}"), ("tenant", tenant.id)], reason=reason,
                details={"destroyed": destroyed, "workspace_deleted": True},
            ))
        self.d.keys.scrub_wal()
        return self.get(tenant.id)

    # -- grant changes ------------------------------------------------------------------
    def on_grant_change(self, grant_id: str, new_status) -> None:
        """A suspended grant suspends its tenants; a terminated or expired one terminates them."""
        value = getattr(new_status, "value", new_status)
        if value not in ("suspended", "terminated", "expired"):
            return
        for tenant in self.of_grant(grant_id):
            if tenant.status == S.TERMINATED:
                continue
            why = f"grant {grant_id} is {value}"
            if value == "suspended":
                if can_transition(tenant.status, S.SUSPENDED, "suspend"):  # a halted tenant stays halted
                    self._record(SYSTEM, tenant, S.SUSPENDED, why, verb="suspend")
                self._cancel_jobs(SYSTEM, tenant.id, f"tenant suspended: {why}")
                self._halt(tenant.id)
            else:
                self._terminate(SYSTEM, tenant, why)

    def enforce(self) -> list[str]:
        """Close the tenants served here whose recorded status is no longer `running`."""
        if self._runtime is None:
            return []
        closed = []
        for tenant_id in self._runtime.gateway.open_tenants():
            row = self.d.store.one("SELECT status FROM tenants WHERE id=?", (tenant_id,))
            if row is None or row["status"] != S.RUNNING.value:
                self._halt(tenant_id)
                closed.append(tenant_id)
        return closed

    def close_all(self) -> None:
        """Stop every sandbox this process runs (the process is ending); the jobs of the tenants
        it served, which run here too, are cancelled (audited) rather than left `running`."""
        if self._runtime is None:
            return
        for tenant_id in sorted(self._served):
            self._cancel_jobs(SYSTEM, tenant_id, "the process hosting the tenant ended")
        for tenant_id in self._runtime.gateway.open_tenants():
            self._halt(tenant_id)

    # -- helpers ------------------------------------------------------------------------
    def _cancel_jobs(self, actor: Principal, tenant_id: str, reason: str) -> list[str]:
        """Cancel the tenant's queued and running jobs at once (each audited as job.cancel)."""
        from domain.tenancy.jobs import cancel_tenant_jobs

        return cancel_tenant_jobs(self.d, actor, tenant_id, reason[:MAX_REASON])

    def _delete_jobs(self, tenant_id: str) -> None:
        """A terminated tenant's job code and outputs are its data: deleted (the records stay)."""
        from domain.tenancy.jobs import JobRunner

        runner = JobRunner(self.d)
        for row in self.d.store.all("SELECT id FROM tenant_jobs WHERE tenant_id=?", (tenant_id,)):
            shutil.rmtree(runner.root(row["id"]), ignore_errors=True)

    def _halt(self, tenant_id: str) -> None:
        """Close the gateway first, then stop the sandbox and unmount (idempotent)."""
        from tenants.isolation.base import State

        runtime = self.runtime
        runtime.gateway.close(tenant_id)
        if runtime.backend.status(tenant_id).state is not State.UNKNOWN:
            runtime.stop(tenant_id)

    @staticmethod
    def _need_reason(reason: str) -> None:
        if not reason or not reason.strip():
            raise InvalidInput("a reason is required for this tenant status change")

    def _record(self, actor: Principal, tenant: Tenant, new: TenantStatus, reason: str,
                verb: str | None = None) -> None:
        with self.d.store.transaction() as tx:
            self._update(tx, actor, tenant, new, reason, verb=verb)

    def _update(self, tx, actor: Principal, tenant: Tenant, new: TenantStatus, reason: str,
                verb: str | None = None, targets: tuple = ()) -> None:
        row = tx.one("SELECT status FROM tenants WHERE id=?", (tenant.id,))
        old = TenantStatus(row["status"])
        check_transition(old, new, verb)  # re-checked under the write lock
        tx.execute("UPDATE tenants SET status=?, status_reason=?, updated_at=? WHERE id=?",
                   (new.value, reason.strip(), iso(tx.now()), tenant.id))
        tx.audit(self.d.event(
            _action(old, new), actor, org=tenant.operator_id,
            targets=[("tenant", tenant.id), ("grant", tenant.grant_id), *targets], reason=reason.strip(),
            details={"from": old.value, "to": new.value},
        ))


def _copy_samples(source: Path, dest: Path) -> None:
    """The grant's samples into the tenant's read-only /data/samples (readable by uid 65534)."""
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o755)
    for path in sorted(source.glob("*.parquet")):
        target = dest / path.name
        with tempfile.NamedTemporaryFile(dir=dest, delete=False) as handle:
            tmp = Path(handle.name)
        shutil.copyfile(path, tmp)
        tmp.chmod(0o644)
        tmp.replace(target)

