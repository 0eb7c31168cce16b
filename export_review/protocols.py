"""What export_review needs from the domain, as small protocols the domain implements.

export_review never imports domain/. The domain passes in:

* `RawAccess`: a trusted, read-only DuckDB connection in which the granted raw datasets are
  views, with their column classes. Checks register the product into that connection and
  compare inside the engine; raw rows never come out of it.
* `GrantDirectory`: the grant behind a request (operator, scenarios, datasets, active or not).
* `QueryPolicy`: the domain's SQL policy, used for query templates published as APIs.
* `UnitOfWork`: the control-plane store (`transaction()` yielding a Tx with `.conn` and
  `.audit(event)`, plus `one`/`all` for reads); `domain.store.Store` fits as it is.
* A principal: any object with `id`, `role` (str or StrEnum) and `org`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

DIRECT_IDENTIFIER = "direct_identifier"
QUASI_IDENTIFIER = "quasi_identifier"


@dataclass(frozen=True)
class RawColumn:
    name: str
    dtype: str = "VARCHAR"
    column_class: str = "other"          # direct_identifier | quasi_identifier | sensitive | other
    entity: str | None = None            # CN_RESIDENT_ID, CN_MOBILE, CN_PERSON_NAME, …

    @property
    def is_identifier(self) -> bool:
        return self.column_class == DIRECT_IDENTIFIER


@dataclass(frozen=True)
class RawDataset:
    name: str
    relation: str                        # the view's name inside the connection
    columns: tuple[RawColumn, ...]
    privacy_unit: str | None = None      # column that identifies a person/organisation

    def column(self, name: str) -> RawColumn:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@runtime_checkable
class RawAccess(Protocol):
    def datasets(self) -> Sequence[RawDataset]:
        """The granted raw datasets, as views in `connect()`'s connection."""

    def connect(self) -> AbstractContextManager[Any]:
        """A trusted, read-only, locked-down DuckDB connection (external access off).
        Callers may `register()` Arrow tables in it; nothing they run can write the raw data."""


@dataclass(frozen=True)
class GrantInfo:
    id: str
    operator_id: str
    scenarios: tuple[str, ...]
    active: bool
    datasets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    status: str = "active"


class GrantDirectory(Protocol):
    def grant(self, grant_id: str) -> GrantInfo:
        """The grant, or raise KeyError when there is none."""


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    reasons: tuple[str, ...] = ()


class QueryPolicy(Protocol):
    def check(self, sql: str, grant_id: str) -> PolicyDecision:
        """The domain's SQL policy decision for `sql` under `grant_id` (never raises on bad SQL)."""

    def run(self, sql: str, grant_id: str, actor: Any) -> Any:
        """Check and run `sql` under `grant_id` for `actor`; returns the checked result."""


class Principal(Protocol):
    id: str
    role: Any
    org: str | None


def role_of(principal: Any) -> str:
    role = getattr(principal, "role", "")
    return str(getattr(role, "value", role))


class Tx(Protocol):
    conn: Any

    def audit(self, event: Any) -> None: ...


class UnitOfWork(Protocol):
    def transaction(self) -> AbstractContextManager[Tx]: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...
