"""The frozen outcome of a policy check.

`Decision.allowed` is True only with a `Plan`; a refusal carries reasons a person can act on.
Plans are sealed with a process-local key (HMAC) by `policy.check`, so an engine executes only
plans that the policy itself produced in this process, never a hand-built one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

_SEAL_KEY = os.urandom(32)


@dataclass(frozen=True)
class Disclosure:
    """The strictest disclosure settings of the datasets a query reads."""

    min_group_size: int
    suppress_below: int
    round_to: int


@dataclass(frozen=True)
class Plan:
    sql: str                              # rewritten, DuckDB dialect, fully qualified
    tables: tuple[str, ...]               # SQL tables read (granted datasets)
    datasets: tuple[str, ...]             # their catalog names (for audit)
    output_columns: tuple[str, ...]       # visible result columns, in order
    disclosure: Disclosure
    k_enforced: bool                      # the final rows are gated by the k rule
    reports_dropped: bool                 # the SQL carries the hidden __aod_dropped column
    views: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (table, columns an engine exposes)
    dropped_sql: str = ""                 # counts suppressed final rows (run when none is kept)
    exact_sql: str = ""                   # set when `sql` certifies the k rule: the exact version,
    exact_dropped_sql: str = ""           # run instead when `sql` leaves a group undecided
    fingerprint: str = ""                 # sha256 of the rewritten SQL
    seal: str = field(default="", repr=False)

    def payload(self) -> bytes:
        parts = [self.sql, ",".join(self.tables), ",".join(self.output_columns),
                 repr(self.disclosure), str(self.k_enforced), str(self.reports_dropped),
                 repr(self.views), self.dropped_sql, self.exact_sql, self.exact_dropped_sql]
        return "\x1f".join(parts).encode("utf-8")


def seal_plan(plan: Plan) -> Plan:
    from dataclasses import replace

    fingerprint = hashlib.sha256(plan.sql.encode("utf-8")).hexdigest()
    digest = hmac.new(_SEAL_KEY, plan.payload(), hashlib.sha256).hexdigest()
    return replace(plan, fingerprint=fingerprint, seal=digest)


def is_sealed(plan: Plan) -> bool:
    expected = hmac.new(_SEAL_KEY, plan.payload(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, plan.seal)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...]
    plan: Plan | None = None
    sql_redacted: str = ""  # the query with every literal replaced by '?', for the audit log

    def __post_init__(self) -> None:
        if self.allowed and self.plan is None:
            raise ValueError("an allowed decision needs a plan")
        if not self.allowed and not self.reasons:
            raise ValueError("a refusal needs at least one reason")

    @property
    def reason(self) -> str:
        """All reasons on one line (for errors and audit events)."""
        return "; ".join(self.reasons)

    @classmethod
    def refuse(cls, reasons, sql_redacted: str = "") -> "Decision":
        unique = tuple(dict.fromkeys(reasons))
        return cls(allowed=False, reasons=unique, plan=None, sql_redacted=sql_redacted)
