"""Checked queries on raw data (R13, R14): operator staff send SQL against their grant; the
policy (domain/sql) decides, the engine runs the rewritten plan on the encrypted raw store,
and only aggregate results that pass the disclosure rules come back. Every query, allowed
or refused, is audited with its SQL redacted (literals as '?') and the result's hash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from domain.authz import Perm
from domain.errors import DomainError, QueryRefused

if TYPE_CHECKING:
    from domain.core import Domain
    from domain.principals import Principal

MAX_SQL_CHARS = 20_000


@dataclass(frozen=True)
class QueryOutcome:
    query_id: str
    grant_id: str
    table: object  # pyarrow.Table: the checked result
    rows: int
    suppressed: int
    k: int
    engine: str
    datasets: tuple[str, ...]
    sha256: str
    sql_redacted: str
    seconds: float


class QueryService:
    def __init__(self, domain: "Domain"):
        self.d = domain

    @cached_property
    def provider(self):
        from domain.sql.engines import EngineProvider

        return EngineProvider.from_domain_config(self.d.config)

    def limits(self):
        from domain.sql.engines import Limits

        cfg = self.d.config
        return Limits(timeout_seconds=cfg.query_timeout_seconds, memory_limit=cfg.query_memory_limit,
                      max_result_rows=cfg.max_result_rows)

    # -- scope --------------------------------------------------------------------------
    def scope(self, grant):
        """What the grant lets the policy see: its columns with their classes, each dataset's
        privacy unit and disclosure settings (the dataset's own k, never below the domain's),
        and every column of the datasets made from its operator's approved imports (R15)."""
        from domain.sql import ColumnGrant, DatasetScope, Scope, sql_type_of
        from domain.tenancy.imports import grant_datasets

        datasets = []
        for name, columns in grant_datasets(self.d, grant).items():  # the set jobs and samples see
            ds = self.d.catalog.get(name)
            by_name = {c.name: c for c in ds.columns}
            datasets.append(DatasetScope(
                table=name,
                columns=tuple(ColumnGrant(c, by_name[c].klass, sql_type_of(by_name[c].dtype))
                              for c in columns if c in by_name),
                privacy_unit=ds.privacy_unit or "",
                min_group_size=max(ds.min_group_size, self.d.config.min_group_size),
                suppress_below=max(ds.suppress_below, self.d.config.suppress_below),
                round_to=ds.round_to, dataset=name, all_columns=tuple(by_name),
            ))
        return Scope(tuple(datasets))

    def check(self, actor: "Principal", grant_id: str, sql: str):
        """The policy's decision for `sql` under the grant (nothing runs)."""
        from domain.sql import check

        grant = self.d.grants.check_usable(actor, grant_id, Perm.QUERY_RUN)
        return grant, check(sql, self.scope(grant))

    # -- running -----------------------------------------------------------------------
    def run(self, actor: "Principal", grant_id: str, sql: str, *, request_id: str | None = None,
            source: str = "cli") -> QueryOutcome:
        from audit import Action, Outcome
        from domain.sql import check, redact_sql

        query_id = f"q-{uuid.uuid4().hex[:16]}"
        grant = self.d.grants.check_usable(actor, grant_id, Perm.QUERY_RUN)  # unknown ids stop here
        problem = ("the query is empty" if not isinstance(sql, str) or not sql.strip() else
                   f"a query is at most {MAX_SQL_CHARS} characters" if len(sql) > MAX_SQL_CHARS else None)
        if problem:
            shown = redact_sql(sql[:2000]) + (" …" if len(sql) > 2000 else "") if isinstance(sql, str) else ""
            self._refused(actor, grant.id, query_id, shown, problem, (), request_id, source, org=grant.operator_id)
            raise QueryRefused(problem)
        decision = check(sql, self.scope(grant))
        datasets = tuple(sorted(grant.columns))
        if not decision.allowed:
            self._refused(actor, grant.id, query_id, decision.sql_redacted, decision.reason,
                          datasets, request_id, source, org=grant.operator_id)
            raise QueryRefused(decision.reason)
        plan = decision.plan
        used = tuple(sorted(plan.datasets)) if plan.datasets else datasets
        try:
            sources = {table: self.open_raw(table) for table, _ in plan.views}
            result = self.provider.create_engine().execute(decision, sources, self.limits())
        except Exception as exc:  # every query is on the record, also one that broke
            reason = exc.diagnostics() if isinstance(exc, DomainError) \
                else f"internal error ({type(exc).__name__})"
            self._refused(actor, grant.id, query_id, decision.sql_redacted, reason,
                          used, request_id, source, org=grant.operator_id, outcome=Outcome.FAILED)
            raise
        k = plan.disclosure.min_group_size
        with self.d.store.transaction() as tx:
            tx.audit(self.d.event(
                Action.QUERY_RUN, actor, org=grant.operator_id,
                targets=[("grant", grant.id), ("query", query_id)],
                inputs=[("dataset", name) for name in used],
                outputs=[("result", query_id, result.sha256)],
                request_id=request_id,
                details={"sql_redacted": decision.sql_redacted, "engine": result.engine,
                         "rows": result.rows, "rows_suppressed": result.rows_suppressed,
                         "plan": result.plan_fingerprint, "via": source,
                         "seconds": round(result.timings.total_s, 3)},
            ))
        return QueryOutcome(
            query_id=query_id, grant_id=grant.id, table=result.table, rows=result.rows,
            suppressed=result.rows_suppressed, k=k, engine=result.engine, datasets=used,
            sha256=result.sha256, sql_redacted=decision.sql_redacted,
            seconds=result.timings.total_s,
        )

    def open_raw(self, name: str):
        """The opened (decrypted-in-memory) raw dataset `name`, for an engine only."""
        from domain import raw
        from domain.catalog import DATASET_KEY

        return raw.open_dataset(self.d.catalog.raw_dir(name), self.d.keys.get(DATASET_KEY, name))

    def _refused(self, actor, grant_id, query_id, sql_redacted, reason, datasets, request_id,
                 source, org=None, outcome=None) -> None:
        from audit import Action, Outcome

        with self.d.store.transaction() as tx:
            tx.audit(self.d.event(
                Action.QUERY_RUN, actor, org=org if org is not None else actor.org,
                targets=[("grant", grant_id), ("query", query_id)],
                inputs=[("dataset", name) for name in datasets],
                outcome=outcome or Outcome.REFUSED, reason=reason, request_id=request_id,
                details={"sql_redacted": sql_redacted, "via": source},
            ))


__all__ = ["QueryOutcome", "QueryService"]
