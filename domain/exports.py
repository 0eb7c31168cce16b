"""The domain's side of export review (R4, R5, R21, R22).

export_review/ never imports domain/; it asks for two things, implemented here:

* `DomainRawAccess` — the granted raw datasets as views in a trusted, read-only, locked-down
  DuckDB connection. Each view reads the encrypted raw store natively (the Parquet data keys
  are registered in the connection's memory only, as the query engine does), so nothing is
  decrypted to disk and raw rows never leave the engine: the checks register the product in
  the connection and only counts come out.
* `DomainGrants` — the `GrantDirectory`: a domain grant as export_review's `GrantInfo`.
* `DomainQueryPolicy` — the `QueryPolicy` for query templates published as APIs.

`build_export_service(domain)` wires them into an `ExportService` (the cached
`Domain.exports`); `csrf_secret(domain)` gives the reviewer pages their CSRF key, kept in the
domain's key store.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from domain.errors import NotFound

if TYPE_CHECKING:
    from domain.core import Domain

CSRF_KEY = ("export-review-csrf", "web")
_secret_lock = threading.Lock()


class DomainGrants:
    """`GrantDirectory` over the domain's grants (expiry applied as on every request)."""

    def __init__(self, domain: "Domain"):
        self.d = domain

    def grant(self, grant_id: str):
        from export_review.protocols import GrantInfo

        try:
            grant = self.d.grants.sync_expiry(self.d.grants.get(grant_id))
        except NotFound:
            raise KeyError(grant_id) from None
        today = self.d.today()
        return GrantInfo(
            id=grant.id, operator_id=grant.operator_id, scenarios=(grant.scenario,),
            active=grant.is_usable(today), datasets=dict(grant.columns),
            status=grant.effective_status(today).value,
        )


class DomainRawAccess:
    """`RawAccess` for one grant: its datasets (every column, so identifiers outside the
    granted columns are found too) as views over the encrypted raw store."""

    def __init__(self, domain: "Domain", dataset_names: tuple[str, ...], *, threads: int = 2,
                 memory_limit: str = "4GB"):
        self.d = domain
        self.names = tuple(sorted(dataset_names))
        self.threads = threads
        self.memory_limit = memory_limit

    def datasets(self):
        from export_review.protocols import RawColumn, RawDataset

        found = []
        for name in self.names:
            ds = self.d.catalog.get(name)
            columns = tuple(RawColumn(c.name, c.dtype, c.klass, c.entity) for c in ds.columns)
            found.append(RawDataset(name=name, relation=name, columns=columns,
                                    privacy_unit=ds.privacy_unit))
        return tuple(found)

    @contextmanager
    def connect(self) -> Iterator[object]:
        from export_review.engine import locked_connection

        from domain.sql.engines.duckdb_engine import attach_raw, seal

        con = locked_connection(self.threads, self.memory_limit)
        try:  # the query engine's views and lockdown, every column shown
            paths = []
            for t_index, name in enumerate(self.names):
                paths += attach_raw(con, name, self.d.queries.open_raw(name), key_prefix=f"x{t_index}")
            seal(con, paths)
            yield con
        finally:
            con.close()


class DomainQueryPolicy:
    """`QueryPolicy`: the domain's SQL policy for query templates published as APIs. `check`
    never raises (a policy that cannot decide refuses); `run` goes through `QueryService.run`,
    so every API call is checked before and after, and audited like any query."""

    def __init__(self, domain: "Domain"):
        self.d = domain

    def check(self, sql: str, grant_id: str):
        from export_review.protocols import PolicyDecision

        from domain.sql import check

        try:
            decision = check(sql, self.d.queries.scope(self.d.grants.get(grant_id)))
        except NotFound:
            return PolicyDecision(False, (f"no grant {grant_id!r}",))
        except Exception as exc:  # noqa: BLE001 - fail closed, naming only the kind of failure
            return PolicyDecision(False, (f"the policy could not decide ({type(exc).__name__})",))
        return PolicyDecision(decision.allowed, tuple(decision.reasons))

    def run(self, sql: str, grant_id: str, actor) -> list[dict]:
        from export_review.errors import PermissionDenied

        from domain.errors import DomainError

        try:
            return self.d.queries.run(actor, grant_id, sql, source="api").table.to_pylist()
        except DomainError as exc:
            raise PermissionDenied(exc.diagnostics()) from None


def raw_access_for(domain: "Domain", grant_id: str) -> DomainRawAccess:
    """The raw datasets of a grant, for the export checks (a missing grant blocks: KeyError),
    with its operator's imported datasets: their rows are raw data of the grant too (R15)."""
    from domain.tenancy.imports import operator_datasets

    try:
        grant = domain.grants.get(grant_id)
    except NotFound:
        raise KeyError(grant_id) from None
    return DomainRawAccess(domain, tuple(set(grant.columns) | set(operator_datasets(domain, grant.operator_id))))


def check_compliant(domain: "Domain", actor):
    """export_review knows roles, not the domain's compliance rules: a person who may not act
    today (disabled; staff without real-name check, a valid NDA or training) is refused here,
    audited, before any export command or page runs for them."""
    from audit import Action

    from domain.errors import NotCompliant

    gaps = actor.compliance_gaps(domain.today())
    if gaps:
        reason = f"{actor.id} cannot act: " + "; ".join(gaps)
        domain.record_refusal(Action.AUTH_DENIED, actor_id=actor.id, role=actor.role.value, reason=reason,
                              org=actor.org, details={"permission": "export"})
        raise NotCompliant(reason)
    return actor


def build_export_service(domain: "Domain"):
    from export_review import ExportService

    return ExportService(domain.store, domain.home, grants=DomainGrants(domain),
                         raw_for=lambda grant_id: raw_access_for(domain, grant_id),
                         clock=domain.clock, policy=DomainQueryPolicy(domain))


def csrf_secret(domain: "Domain") -> bytes:
    """The reviewer pages' CSRF key: a data key in the domain's key store, made on first use."""
    purpose, owner = CSRF_KEY
    with _secret_lock:
        if not domain.keys.exists(purpose, owner):
            with domain.store.transaction() as tx:
                if tx.one("SELECT 1 FROM data_keys WHERE purpose=? AND owner=?", (purpose, owner)) is None:
                    domain.keys.create(tx, purpose, owner)
    return domain.keys.get(purpose, owner)
