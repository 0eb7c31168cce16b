"""In-memory implementations of the domain protocols, for tests and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field

from export_review.protocols import GrantInfo, PolicyDecision


class StaticGrants:
    """A `GrantDirectory` over a dict of grants."""

    def __init__(self, *grants: GrantInfo):
        self._grants = {g.id: g for g in grants}

    def grant(self, grant_id: str) -> GrantInfo:
        return self._grants[grant_id]

    def put(self, grant: GrantInfo) -> None:
        self._grants[grant.id] = grant


@dataclass(frozen=True)
class Person:
    """A principal as export_review sees it."""

    id: str
    role: str
    org: str | None = None
    display_name: str = ""


@dataclass
class AllowSelects:
    """A `QueryPolicy` for tests: allows single SELECTs over the named tables and runs them
    on a given DuckDB connection factory. The domain's real policy replaces it."""

    tables: frozenset[str]
    connect: object = None
    calls: list = field(default_factory=list)

    def check(self, sql: str, grant_id: str) -> PolicyDecision:
        import sqlglot
        from sqlglot import exp

        try:
            tree = sqlglot.parse_one(sql, read="duckdb")
        except sqlglot.errors.ParseError:
            return PolicyDecision(False, ("the SQL does not parse",))
        if not isinstance(tree, exp.Select):
            return PolicyDecision(False, ("only SELECT statements are allowed",))
        used = {t.name for t in tree.find_all(exp.Table)}
        if not used <= self.tables:
            return PolicyDecision(False, (f"tables outside the grant: {sorted(used - self.tables)}",))
        return PolicyDecision(True)

    def run(self, sql: str, grant_id: str, actor) -> list[dict]:
        decision = self.check(sql, grant_id)
        if not decision.allowed:
            raise PermissionError("; ".join(decision.reasons))
        self.calls.append((sql, grant_id, getattr(actor, "id", None)))
        with self.connect() as con:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
