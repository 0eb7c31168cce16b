"""Tenants in the control plane: one isolated sandbox per operator grant (R1, R3, R7, R10, R11).

The control plane records each tenant (operator, grant, the staff member it acts for, backend)
with an explicit state table; the tenants/ package does the isolation. Every change is audited
in the transaction that records it.

    provisioned ──start──► running ──stop──► stopped ──start──► running
        │  └──────────────────┴─────suspend────┴──► suspended ──resume──► stopped
        └──────────────────── terminate (from any state but terminated) ──► terminated

Sandboxes and gateway sockets live as long as the process that started them (`aod tenant start`
in the foreground, or the domain server): `TenantHost.enforce()` closes any tenant whose
recorded status is no longer `running`, so a stop, suspension or grant suspension recorded by
another process cuts access within a poll interval; the gateway handler (`DomainGatewayHandler`) also re-checks tenant and grant on every request (fail closed).

Terminating a tenant destroys its workspace key in the key store (in the audited transaction)
and deletes its workspace ciphertext and folders.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from domain.authz import Perm, Resource
from domain.clock import iso
from domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from domain.principals import SYSTEM, Principal

if TYPE_CHECKING:
    from domain.core import Domain

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
]


class TenantStatus(StrEnum):
    PROVISIONED = "provisioned"
    RUNNING = "running"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


S = TenantStatus
TRANSITIONS: dict[TenantStatus, frozenset[TenantStatus]] = {
    S.PROVISIONED: frozenset({S.RUNNING, S.SUSPENDED, S.TERMINATED}),
    S.RUNNING: frozenset({S.STOPPED, S.SUSPENDED, S.TERMINATED}),
    S.STOPPED: frozenset({S.RUNNING, S.SUSPENDED, S.TERMINATED}),
    S.SUSPENDED: frozenset({S.STOPPED, S.TERMINATED}),  # resume: back to stopped, then start
    S.TERMINATED: frozenset(),
}


def check_transition(old: TenantStatus, new: TenantStatus) -> None:
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"a {old.value} tenant cannot become {new.value}")


def can_transition(old: TenantStatus, new: TenantStatus) -> bool:
    return new in TRANSITIONS[old]


def _action(old: TenantStatus, new: TenantStatus):
    from audit import Action

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


def make_backend(home: Path, name: str):
    """The isolation backend named by the configuration (`tenant_backend`)."""
    if name == "bwrap":
        from tenants.isolation.bwrap import BwrapBackend

        return BwrapBackend(home / "tenants" / "_bwrap")
    if name == "docker":
        from tenants.isolation.docker_backend import DockerBackend

        return DockerBackend(home / "tenants" / "_docker")
    raise InvalidInput("tenant_backend must be 'bwrap' or 'docker'")


class TenantService:
    """Lifecycle of tenants; the runtime (sandboxes, gateway sockets) lives in this process."""

    def __init__(self, domain: "Domain", backend=None):
        self.d = domain
        self._backend = backend
        self._runtime = None
        self._lock = threading.RLock()

    # -- the runtime of this process ------------------------------------------------------
    @property
    def runtime(self):
        with self._lock:
            if self._runtime is None:
                from tenants.gateway import Gateway
                from tenants.runtime import TenantRuntime

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
        self.runtime.provision(tenant_id, self.d.keys.get(TENANT_KEY, tenant_id))
        _copy_samples(self.samples_dir(tenant.grant_id), layout.samples_dir)

    # -- transitions --------------------------------------------------------------------
    def start(self, actor: Principal, tenant_id: str, *, wait_s: float | None = 60.0) -> Tenant:
        """Run the sandbox and open the gateway socket in this process (see the module doc)."""
        self.d.check(actor, Perm.TENANT_MANAGE)
        tenant = self.get(tenant_id)
        if tenant.status != S.RUNNING:
            check_transition(tenant.status, S.RUNNING)
        grant = self.d.grants.sync_expiry(self.d.grants.get(tenant.grant_id))
        if not grant.is_usable(self.d.today()):
            raise InvalidInput(f"grant {grant.id} is {grant.effective_status(self.d.today()).value}: "
                               "the tenant cannot start")
        if tenant.status != S.RUNNING:
            self._record(actor, tenant, S.RUNNING, "started")
        try:
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
        self._record(actor, tenant, S.SUSPENDED, reason)
        self._halt(tenant_id)
        return self.get(tenant_id)

    def resume(self, actor: Principal, tenant_id: str, reason: str) -> Tenant:
        self._need_reason(reason)
        self.d.check(actor, Perm.TENANT_MANAGE)
        tenant = self.get(tenant_id)
        if tenant.status != S.SUSPENDED:
            raise InvalidTransition(f"only a suspended tenant can be resumed; {tenant_id} is {tenant.status.value}")
        self._record(actor, tenant, S.STOPPED, reason)
        return self.get(tenant_id)

    def terminate(self, actor: Principal, tenant_id: str, reason: str) -> Tenant:
        """Close access, remove the sandbox, destroy the key (audited) and delete the files."""
        self._need_reason(reason)
        self.d.check(actor, Perm.TENANT_MANAGE)
        return self._terminate(actor, self.get(tenant_id), reason)

    def _terminate(self, actor: Principal, tenant: Tenant, reason: str) -> Tenant:
        from audit import Action

        check_transition(tenant.status, S.TERMINATED)
        self._halt(tenant.id)
        self.runtime.destroy(tenant.id)
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
                if can_transition(tenant.status, S.SUSPENDED):
                    self._record(SYSTEM, tenant, S.SUSPENDED, why)
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
        """Stop every sandbox this process runs (the process is ending)."""
        if self._runtime is None:
            return
        for tenant_id in self._runtime.gateway.open_tenants():
            self._halt(tenant_id)

    # -- helpers ------------------------------------------------------------------------
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

    def _record(self, actor: Principal, tenant: Tenant, new: TenantStatus, reason: str) -> None:
        with self.d.store.transaction() as tx:
            self._update(tx, actor, tenant, new, reason)

    def _update(self, tx, actor: Principal, tenant: Tenant, new: TenantStatus, reason: str) -> None:
        row = tx.one("SELECT status FROM tenants WHERE id=?", (tenant.id,))
        old = TenantStatus(row["status"])
        check_transition(old, new)  # re-checked under the write lock
        tx.execute("UPDATE tenants SET status=?, status_reason=?, updated_at=? WHERE id=?",
                   (new.value, reason.strip(), iso(tx.now()), tenant.id))
        tx.audit(self.d.event(
            _action(old, new), actor, org=tenant.operator_id,
            targets=[("tenant", tenant.id), ("grant", tenant.grant_id)], reason=reason.strip(),
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


# -- desensitized samples of a grant ----------------------------------------------------------
def _classification(dataset, columns: tuple[str, ...]):
    """The provider-confirmed classes of the granted columns, as desensitize/ reads them."""
    from desensitize import Classification, ColumnProfile

    profiles = []
    for name in columns:
        col = dataset.column(name)
        profiles.append(ColumnProfile.from_dict({
            "name": name, "column_class": col.klass, "entity": col.entity, "confidence": 1.0,
            "decided_by": "provider", "confirmed": True}))
    return Classification(source=dataset.name, columns=tuple(profiles), rows_sampled=dataset.rows,
                          fingerprint=dataset.content_sha256, created_at="")


def _sample_secret(domain: "Domain", grant_id: str) -> bytes:
    """The pseudonym secret of a grant's samples (one per grant: no joins across grants)."""
    if not domain.keys.exists(SAMPLE_KEY, grant_id):
        with domain.store.transaction() as tx:
            if tx.one("SELECT 1 FROM data_keys WHERE purpose=? AND owner=?", (SAMPLE_KEY, grant_id)) is None:
                domain.keys.create(tx, SAMPLE_KEY, grant_id)
    return domain.keys.get(SAMPLE_KEY, grant_id)


def make_grant_samples(domain: "Domain", grant, dest: Path) -> dict[str, str]:
    """One desensitized, k-anonymous sample per granted dataset (granted columns only) in
    `dest/<dataset>.parquet`; returns {dataset: sha256}. The plaintext draw exists only in a
    private temporary folder in memory (/dev/shm when there is one) and is deleted at once."""
    from desensitize import make_sample

    from domain import raw
    from domain.rawstore import read_table

    import pyarrow.parquet as pq

    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = _sample_secret(domain, grant.id)
    cfg = domain.config
    made = {}
    scratch_root = "/dev/shm" if Path("/dev/shm").is_dir() else None
    for name, columns in sorted(grant.columns.items()):
        target = dest / f"{name}.parquet"
        if target.is_file():
            made[name] = raw.file_sha256(target)
            continue
        dataset = domain.catalog.get(name)
        with tempfile.TemporaryDirectory(prefix="aod-sample-", dir=scratch_root) as scratch:
            plain = Path(scratch) / f"{name}.parquet"
            key = domain.keys.get("dataset", name)
            pq.write_table(read_table(domain.catalog.raw_dir(name), key, columns=list(columns)), plain)
            make_sample(plain, target, _classification(dataset, columns), secret=secret,
                        rows=cfg.sample_rows, fraction=cfg.sample_fraction, k=cfg.sample_k)
        made[name] = raw.file_sha256(target)
    return made


# -- the gateway handler: what a tenant may ask of the domain ---------------------------------
TABLE_SUFFIXES = {".csv": "table", ".parquet": "table"}
MODEL_SUFFIXES = {".skops", ".pkl", ".pickle", ".joblib", ".onnx", ".pt"}
_LONG_DIGITS = re.compile(r"\d{11,}|\d{17}[\dXx]")
_SAMPLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


def _refusing(fn):
    """Map domain and export errors to the gateway's answers (reasons only, never values)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from export_review.errors import ExportReviewError
        from tenants.gateway import BadRequest, Missing, Refused

        from domain.errors import DomainError, PermissionDenied

        try:
            return fn(*args, **kwargs)
        except (Refused, Missing, BadRequest):
            raise
        except NotFound as exc:
            raise Missing(exc.diagnostics()) from None
        except PermissionDenied as exc:
            raise Refused(exc.diagnostics()) from None
        except (DomainError, ExportReviewError) as exc:
            status = getattr(exc, "http_status", 400)
            kind = Refused if status in (403, 409) else Missing if status == 404 else BadRequest
            raise kind(exc.diagnostics()) from None
        except Exception as exc:  # noqa: BLE001 - another package's user-facing error
            if callable(getattr(exc, "diagnostics", None)):
                raise BadRequest(exc.diagnostics()) from None
            raise
    return wrapper


class DomainGatewayHandler:
    """`tenants.gateway.GatewayHandler` over the domain. Each request is checked afresh: the
    tenant must be `running`, its grant usable today, and the staff member it acts for
    compliant; queries, jobs and exports then go through the same services as the CLI."""

    def __init__(self, domain: "Domain"):
        self.d = domain
        self.jobs = JobRunner(domain)

    def _scope(self, ctx):
        from tenants.gateway import Refused

        row = self.d.store.one("SELECT * FROM tenants WHERE id=?", (ctx.tenant_id,))
        if row is None:
            raise Refused(f"tenant {ctx.tenant_id} is not known to the domain")
        tenant = Tenant.from_row(row)
        if tenant.status != S.RUNNING:
            raise Refused(f"tenant {tenant.id} is {tenant.status.value}")
        grant = self.d.grants.sync_expiry(self.d.grants.get(tenant.grant_id))
        today = self.d.today()
        if not grant.is_usable(today):
            raise Refused(f"grant {grant.id} is {grant.effective_status(today).value}")
        return tenant, grant, self.d.principals.get(tenant.staff_id)

    # samples
    def _sample_files(self, grant) -> dict[str, Path]:
        folder = self.d.home / "samples" / grant.id
        return {p.stem: p for p in sorted(folder.glob("*.parquet")) if p.stem in grant.columns}

    @_refusing
    def list_samples(self, ctx):
        import pyarrow.parquet as pq
        from tenants.gateway import SampleInfo

        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.SAMPLE_READ, grant.resource)
        found = []
        for name, path in self._sample_files(grant).items():
            meta = pq.read_metadata(path)
            found.append(SampleInfo(name, meta.num_rows, tuple(meta.schema.names),
                                    f"desensitized sample of {name} for grant {grant.id}"))
        return found

    @_refusing
    def load_sample(self, ctx, name: str):
        import pyarrow.parquet as pq
        from tenants.gateway import Missing

        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.SAMPLE_READ, grant.resource)
        path = self._sample_files(grant).get(name) if _SAMPLE_NAME.match(name or "") else None
        if path is None:
            raise Missing(f"no sample {name!r} for this tenant")
        return pq.read_table(path)

    # queries
    @_refusing
    def query(self, ctx, sql: str):
        tenant, grant, staff = self._scope(ctx)
        return self.d.queries.run(staff, grant.id, sql, request_id=ctx.request_id, source="gateway").table

    # jobs
    @_refusing
    def submit_job(self, ctx, job):
        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.JOB_SUBMIT, grant.resource)
        return self.jobs.submit(tenant, grant, staff, job, ctx.request_id)

    @_refusing
    def list_jobs(self, ctx):
        tenant, _, _ = self._scope(ctx)
        return [self.jobs.info(r) for r in self.d.store.all(
            "SELECT * FROM tenant_jobs WHERE tenant_id=? ORDER BY submitted_at", (tenant.id,))]

    @_refusing
    def job_status(self, ctx, job_id: str):
        tenant, _, _ = self._scope(ctx)
        return self.jobs.info(self.jobs.row(tenant.id, job_id))

    @_refusing
    def job_logs(self, ctx, job_id: str) -> str:
        from tenants.gateway import Refused

        tenant, _, _ = self._scope(ctx)
        row = self.jobs.row(tenant.id, job_id)
        if row["logs"] is None:
            raise Refused("the logs are withheld: they hold values shaped like identifiers, or the job has not finished")
        return row["logs"]

    @_refusing
    def fetch_output(self, ctx, job_id: str, name: str):
        from tenants.gateway import Refused

        tenant, _, _ = self._scope(ctx)
        output, path = self.jobs.output(self.jobs.row(tenant.id, job_id), name)
        if output["state"] != "released":
            raise Refused(f"output {name} is withheld: {output['reason']}")
        return _read_table(path)

    # exports and imports
    @_refusing
    def request_export(self, ctx, request):
        from tenants.gateway import ExportInfo

        tenant, grant, staff = self._scope(ctx)
        output, path = self.jobs.output(self.jobs.row(tenant.id, request.job_id), request.output)
        kind = "model" if output["kind"] == "model" else "data_package"
        submitted = self.d.exports.submit(staff, grant_id=grant.id, scenario=request.scenario, kind=kind,
                                          file=path, title=request.note[:200] or path.name)
        return ExportInfo(submitted.id, submitted.status.value, submitted.status_reason or "")

    @_refusing
    def request_import(self, ctx, upload):
        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.IMPORT_REQUEST, grant.resource)
        return ImportService(self.d).request(tenant, staff, upload, ctx.request_id)


def _read_table(path: Path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)


# -- production jobs: code to the data ---------------------------------------------------------
def _write_code(folder: Path, files) -> str:
    """The job's files under `folder` (readable by the sandbox); returns their joint SHA-256."""
    import hashlib
    from pathlib import PurePosixPath

    from tenants.gateway import BadRequest

    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        rel = PurePosixPath(name)
        if rel.is_absolute() or not rel.parts or ".." in rel.parts or len(rel.parts) > 8:
            raise BadRequest("job file names must be relative paths inside the job")
        target = folder.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        target.write_bytes(data)
        target.chmod(0o644)
        digest.update(str(rel).encode() + b"\0" + hashlib.sha256(data).digest())
    for d in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        d.chmod(0o755)
    return digest.hexdigest()


class JobRunner:
    """Runs a tenant's job once in a production sandbox next to the grant's raw data (granted
    columns only, decrypted into a private in-memory folder for the run). Table outputs reach
    the tenant only after the export checks (raw rows, identifiers, reversible, disclosure)
    pass; models and other files are withheld; logs are withheld when they hold long digit runs."""

    def __init__(self, domain: "Domain"):
        self.d = domain

    def root(self, job_id: str) -> Path:
        return self.d.home / "tenants" / "_jobs" / job_id

    def row(self, tenant_id: str, job_id: str):
        row = self.d.store.one("SELECT * FROM tenant_jobs WHERE id=? AND tenant_id=?", (job_id, tenant_id))
        if row is None:
            raise NotFound(f"no job {job_id!r} for this tenant")
        return row

    def info(self, row):
        import json

        from tenants.gateway import JobInfo, OutputInfo

        outputs = tuple(OutputInfo(o["name"], o["kind"], o["state"], o["reason"], o["sha256"], {})
                        for o in json.loads(row["outputs"]))
        return JobInfo(row["id"], row["name"], row["state"], row["detail"], outputs,
                       row["submitted_at"], row["finished_at"] or "")

    def output(self, row, name: str):
        import json

        for output in json.loads(row["outputs"]):
            if output["name"] == name:
                return output, self.root(row["id"]) / "outputs" / name
        raise NotFound(f"job {row['id']} has no output {name!r}")

    def submit(self, tenant, grant, staff, job, request_id):
        from audit import Action
        from tenants.gateway import BadRequest

        if job.entrypoint not in job.files:
            raise BadRequest(f"the entry point {job.entrypoint} is not among the job's files")
        job_id = "j-" + secrets.token_hex(6)
        root = self.root(job_id)
        root.mkdir(parents=True, mode=0o711)
        root.parent.chmod(0o711)
        code_sha = _write_code(root / "code", job.files)
        with self.d.store.transaction() as tx:
            tx.execute("INSERT INTO tenant_jobs (id, tenant_id, name, entrypoint, state, submitted_at)"
                       " VALUES (?, ?, ?, ?, 'queued', ?)",
                       (job_id, tenant.id, (job.name or job.entrypoint)[:100], job.entrypoint, iso(tx.now())))
            tx.audit(self.d.event(
                Action.JOB_SUBMIT, staff, org=tenant.operator_id, request_id=request_id,
                targets=[("job", job_id), ("tenant", tenant.id), ("grant", grant.id)],
                inputs=[("code", job_id, code_sha)], details={"entrypoint": job.entrypoint}))
        threading.Thread(target=self.run, args=(tenant, grant, staff, job_id, job.entrypoint, dict(job.params)),
                         name=f"aod-job-{job_id}", daemon=True).start()
        return self.info(self.row(tenant.id, job_id))

    def run(self, tenant, grant, staff, job_id: str, entrypoint: str, params: dict) -> None:
        from audit import Action, Outcome

        self._set(job_id, state="running")
        logs, outputs, state, detail = None, [], "failed", ""
        try:
            result = self._execute(tenant, grant, job_id, entrypoint, params)
            state, detail = result.outcome, f"exit code {result.exit_code}, {result.duration_s:.1f} s"
            if result.rejected:
                detail += f"; {len(result.rejected)} output(s) rejected by the sandbox"
            outputs = [self._judge(grant, tenant, job_id, o) for o in result.outputs]
            logs = None if _LONG_DIGITS.search(result.logs) else result.logs
        except Exception as exc:  # noqa: BLE001 - recorded as the job's failure, kind only
            diagnostics = getattr(exc, "diagnostics", None)
            detail = diagnostics() if callable(diagnostics) else f"internal error ({type(exc).__name__})"
        self._set(job_id, state=state, detail=detail, outputs=outputs, logs=logs, finished=True)
        with self.d.store.transaction() as tx:
            tx.audit(self.d.event(
                Action.JOB_FINISH, SYSTEM, org=tenant.operator_id,
                outcome=Outcome.OK if state == "succeeded" else Outcome.FAILED,
                targets=[("job", job_id), ("tenant", tenant.id)],
                inputs=[("dataset", name) for name in sorted(grant.columns)],
                outputs=[("file", f"{job_id}/{o['name']}", o["sha256"]) for o in outputs],
                details={"state": state, "released": [o["name"] for o in outputs if o["state"] == "released"],
                         "logs_withheld": logs is None}))

    def _execute(self, tenant, grant, job_id, entrypoint, params):
        import pyarrow.parquet as pq
        from tenants.spec import JobLimits, JobSpec

        from domain.rawstore import read_table

        outputs = self.root(job_id) / "outputs"
        outputs.mkdir(mode=0o755)
        scratch_root = "/dev/shm" if Path("/dev/shm").is_dir() else None
        with tempfile.TemporaryDirectory(prefix="aod-job-", dir=scratch_root) as data:
            Path(data).chmod(0o755)
            for name, columns in sorted(grant.columns.items()):
                target = Path(data) / f"{name}.parquet"
                pq.write_table(read_table(self.d.catalog.raw_dir(name), self.d.keys.get("dataset", name),
                                          columns=list(columns)), target)
                target.chmod(0o644)
            spec = JobSpec(job_id=job_id, tenant_id=tenant.id, code_dir=self.root(job_id) / "code",
                           entrypoint=entrypoint, data_dir=Path(data), outputs_dir=outputs, params=params,
                           limits=JobLimits(timeout_s=float(self.d.config.query_timeout_seconds) * 10))
            return self.d.tenancy.runtime.backend.run_job(spec)

    def _judge(self, grant, tenant, job_id: str, output) -> dict:
        from export_review.checks import CheckContext, CheckStatus, Product, ProductKind, run_checks

        from domain.exports import DomainGrants, raw_access_for

        path = self.root(job_id) / "outputs" / output.name
        record = {"name": output.name, "sha256": output.sha256, "kind": "file", "state": "withheld",
                  "reason": "only tables are released to the tenant"}
        if path.suffix in MODEL_SUFFIXES:
            record.update(kind="model", reason="trained models never reach the tenant; request an export")
        if path.suffix not in TABLE_SUFFIXES:
            return record
        record["kind"] = "table"
        ctx = CheckContext(Product(ProductKind.DATA_PACKAGE, path), raw=raw_access_for(self.d, grant.id),
                           grants=DomainGrants(self.d), grant_id=grant.id, scenario=grant.scenario,
                           org=tenant.operator_id)
        report = run_checks(ctx, only=("raw_rows", "identifiers", "reversible", "disclosure"))
        if report.status == CheckStatus.PASSED:
            record.update(state="released", reason="")
        else:
            worst = report.failed or tuple(r for r in report.results if r.status != CheckStatus.PASSED)
            finding = worst[0].findings[0].message if worst[0].findings else worst[0].rule
            record["reason"] = f"{worst[0].rule}: {finding}"
        return record

    def _set(self, job_id: str, *, state: str, detail: str = "", outputs=None, logs=None,
             finished: bool = False) -> None:
        import json

        with self.d.store.transaction() as tx:
            tx.execute("UPDATE tenant_jobs SET state=?, detail=?, outputs=?, logs=?, finished_at=? WHERE id=?",
                       (state, detail, json.dumps(outputs or []), logs,
                        iso(tx.now()) if finished else None, job_id))


# -- social-data imports (R15) ---------------------------------------------------------------
class ImportService:
    """An operator's external data: spooled by the gateway, kept pending under home/imports/,
    approved (kept, recorded) or refused (destroyed) by the competent authority."""

    def __init__(self, domain: "Domain"):
        self.d = domain

    def request(self, tenant, staff, upload, request_id):
        from audit import Action
        from tenants.gateway import ImportInfo

        import_id = "i-" + secrets.token_hex(6)
        filename = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(upload.filename).name)[:100] or "upload"
        folder = self.d.home / "imports" / import_id
        folder.mkdir(parents=True, mode=0o700)
        shutil.move(str(upload.path), folder / filename)
        with self.d.store.transaction() as tx:
            tx.execute("INSERT INTO tenant_imports (id, tenant_id, operator_id, name, filename, size, sha256,"
                       " description, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                       (import_id, tenant.id, tenant.operator_id, upload.name, filename, upload.size,
                        upload.sha256, upload.description[:500], iso(tx.now())))
            tx.audit(self.d.event(
                Action.IMPORT_REQUEST, staff, org=tenant.operator_id, request_id=request_id,
                targets=[("import", import_id), ("tenant", tenant.id)],
                inputs=[("file", filename, upload.sha256)], details={"name": upload.name, "size": upload.size}))
        return ImportInfo(import_id, "pending", "awaiting the competent authority's decision")

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
            tx.execute("UPDATE tenant_imports SET state=?, decided_by=?, reason=?, decided_at=? WHERE id=?",
                       (state, actor.id, reason.strip(), iso(tx.now()), import_id))
            tx.audit(self.d.event(
                Action.IMPORT_APPROVE if approve else Action.IMPORT_REFUSE, actor, org=row["operator_id"],
                targets=[("import", import_id)], inputs=[("file", row["filename"], row["sha256"])],
                reason=reason.strip()))
        if not approve:
            shutil.rmtree(self.d.home / "imports" / import_id, ignore_errors=True)
        return state
