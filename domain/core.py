"""The one core object: `Domain`, opened on a home folder.

The CLI, the HTTP server, the demo and the tests all go through it. It owns the control-plane
store, the key store, the audit log and the configuration, and exposes one service per concern.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from domain.authz import Perm, Resource, can, refusal_reason
from domain.clock import Clock, system_clock
from domain.config import DomainConfig
from domain.errors import Conflict, InvalidInput, NotCompliant, NotInitialised, PermissionDenied
from domain.keys import KeyStore, create_master_key
from domain.principals import SYSTEM, Principal
from domain.store import Store

CONFIG_FILE = "domain.toml"
CONTROL_DB = "control.db"


class Domain:
    def __init__(self, home: Path, config: DomainConfig, clock: Clock = system_clock):
        from audit import AuditLog, outbox

        from domain.hardening import protect_process_memory

        protect_process_memory()  # raw data may be decrypted in this process from now on

        self.home = Path(home)
        self.config = config
        self.clock = clock
        self.audit_log = AuditLog.for_home(self.home)
        self.store = Store(self.home / CONTROL_DB, clock, self.audit_log)
        self.keys = KeyStore(self.home / "keys", self.store, on_destroy=self._key_destroyed)
        self.grant_hooks: list = []  # callbacks (grant_id, new_status) after a grant changes
        self.grant_hooks.append(self._grant_changed_for_tenants)
        self.grant_hooks.append(self._grant_changed_for_raw_cache)
        self.demo_extensions: list = []  # callables (run, domain, grant) adding demo steps
        self.server_extensions: list = []  # callables (fastapi_app) adding routers of other packages
        outbox.ensure_schema(self.store._conn())
        self.store.migrate(self.migrations())
        self.store.flush_audit()  # events left queued by a process that died after commit

    # -- opening ----------------------------------------------------------------------
    @staticmethod
    def migrations() -> list[tuple[str, list[str]]]:
        from domain import schema, tenancy

        found = [("domain", schema.MIGRATIONS), ("domain_tenancy", tenancy.MIGRATIONS)]
        try:
            from export_review import store as export_store
        except ImportError:
            export_store = None
        if export_store is not None:
            found.append(("export_review", export_store.MIGRATIONS))
        return found

    @classmethod
    def open(cls, home: Path | str, clock: Clock = system_clock) -> "Domain":
        home = Path(home)
        if not (home / CONFIG_FILE).is_file() or not (home / CONTROL_DB).is_file():
            raise NotInitialised(home)
        return cls(home, DomainConfig.load(home / CONFIG_FILE), clock)

    @classmethod
    def init(
        cls,
        home: Path | str,
        *,
        admin_id: str = "admin",
        admin_password: str,
        admin_name: str = "Domain administrator",
        config: DomainConfig | None = None,
        clock: Clock = system_clock,
    ) -> "Domain":
        from audit import Action

        from domain.auth import hash_password
        from domain.principals import Role, check_id

        home = Path(home)
        if (home / CONTROL_DB).exists():
            raise Conflict(f"{home} already holds a domain")
        check_id(admin_id, "admin id")
        from domain.staff import RESERVED_IDS

        if admin_id in RESERVED_IDS:
            raise InvalidInput(f"{admin_id!r} is reserved for the domain's own actions; choose another admin id")
        password_hash = hash_password(admin_password)  # validate before creating anything
        home.mkdir(parents=True, exist_ok=True)
        for sub in ("keys", "raw", "samples", "tenants", "jobs", "products", "exports"):
            (home / sub).mkdir(mode=0o700, exist_ok=True)
        (config or DomainConfig()).dump(home / CONFIG_FILE)
        create_master_key(home / "keys")
        domain = cls(home, config or DomainConfig(), clock)
        with domain.store.transaction() as tx:
            now = tx.now().isoformat()
            tx.execute(
                "INSERT INTO principals (id, display_name, role, status, password_hash,"
                " created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?, ?)",
                (admin_id, admin_name, Role.AUTHORITY.value, password_hash, now, now),
            )
            tx.audit(domain.event(Action.DOMAIN_INIT, SYSTEM, targets=[("principal", admin_id)]))
        return domain

    # -- services ---------------------------------------------------------------------
    @cached_property
    def auth(self):
        from domain.auth import LocalAuthenticator

        return LocalAuthenticator(self)

    @cached_property
    def principals(self):
        from domain.staff import PrincipalService

        return PrincipalService(self)

    @cached_property
    def operators(self):
        from domain.operators import OperatorService

        return OperatorService(self)

    @cached_property
    def catalog(self):
        from domain.catalog import CatalogService

        return CatalogService(self)

    @cached_property
    def grants(self):
        from domain.grants import GrantService

        return GrantService(self)

    @cached_property
    def queries(self):
        from domain.queries import QueryService

        return QueryService(self)

    @cached_property
    def exports(self):
        from domain.exports import build_export_service

        return build_export_service(self)

    @cached_property
    def tenancy(self):
        from domain.tenancy import TenantService

        return TenantService(self)

    def _grant_changed_for_tenants(self, grant_id: str, new_status) -> None:
        """A suspended grant suspends its tenants; a terminated or expired one terminates them."""
        if getattr(new_status, "value", new_status) in ("suspended", "terminated", "expired"):
            self.tenancy.on_grant_change(grant_id, new_status)

    def _grant_changed_for_raw_cache(self, grant_id: str, new_status) -> None:
        """Decrypted columns kept in memory for queries go when a grant reading them stops
        being usable (other grants reload them from the encrypted files)."""
        if getattr(new_status, "value", new_status) in ("suspended", "terminated", "expired"):
            from domain import rawstore

            for name in self.grants.get(grant_id).columns:
                rawstore.evict(self.catalog.raw_dir(name))

    def _key_destroyed(self, purpose: str, owner: str) -> None:
        """A destroyed dataset key takes the dataset's decrypted columns with it at once."""
        if purpose == "dataset":
            from domain import rawstore

            rawstore.evict(self.catalog.raw_dir(owner))

    # -- helpers shared by the services -----------------------------------------------
    def today(self) -> date:
        return self.clock().date()

    def event(
        self,
        action: Any,
        actor: Principal,
        *,
        org: str | None = None,
        targets: list[tuple] = (),
        inputs: list[tuple] = (),
        outputs: list[tuple] = (),
        outcome: Any = None,
        reason: str | None = None,
        request_id: str | None = None,
        details: dict | None = None,
    ):
        """Build an audit event; refs are (kind, id) or (kind, id, sha256) tuples."""
        from audit import Actor, AuditEvent, Outcome, Ref

        return AuditEvent(
            action=action,
            actor=Actor(id=actor.id, role=actor.role.value),
            outcome=outcome or Outcome.OK,
            org=org if org is not None else actor.org,
            targets=tuple(Ref(*ref) for ref in targets),
            inputs=tuple(Ref(*ref) for ref in inputs),
            outputs=tuple(Ref(*ref) for ref in outputs),
            reason=reason,
            request_id=request_id,
            details=details or {},
            time=self.clock(),
        )

    def record_refusal(self, action: Any, *, actor_id: str, role: str, reason: str,
                       org: str | None = None, targets: list[tuple] = (), details=None) -> None:
        """Audit a refused operation in a transaction of its own (nothing else changes)."""
        from audit import Actor, AuditEvent, Outcome, Ref

        event = AuditEvent(
            action=action, actor=Actor(id=actor_id, role=role), outcome=Outcome.REFUSED,
            org=org, targets=tuple(Ref(*ref) for ref in targets), reason=reason,
            details=details or {}, time=self.clock(),
        )
        with self.store.transaction() as tx:
            tx.audit(event)

    def check(self, actor: Principal, perm: Perm, resource: Resource | None = None) -> None:
        """Enforce a permission and the actor's compliance; audit and raise on refusal."""
        from audit import Action

        reason = None
        if not can(actor, perm, resource):
            reason = refusal_reason(actor, perm, resource)
        else:
            gaps = actor.compliance_gaps(self.today())
            if gaps:
                reason = f"{actor.id} cannot act: " + "; ".join(gaps)
        if reason is None:
            return
        error = NotCompliant if can(actor, perm, resource) else PermissionDenied
        targets = [(resource.kind, resource.id)] if resource else []
        self.record_refusal(
            Action.AUTH_DENIED, actor_id=actor.id, role=actor.role.value, reason=reason,
            org=actor.org, targets=targets, details={"permission": perm.value},
        )
        raise error(reason)
