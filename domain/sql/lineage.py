"""What each SELECT of a query reads and produces: column classes and privacy units.

Every SELECT (the query, each CTE, each derived table) becomes a `Rel`:

- RAW: rows at the level of individual privacy units (a granted table, a projection or filter
  of raw rows, or an aggregation grouped by the privacy unit of every dataset it reads). RAW
  relations carry their privacy-unit values in hidden columns so that any later aggregation
  can count distinct units.
- SAFE: aggregated rows that passed the k rule (or post-processing of such rows only).

A column's class is the strictest class of the columns whose values flow into it (a count, a
NULL test or the equality of two identifiers lets no value flow). A column carries a unit
"slot" when it is a bare pass-through of a privacy-unit column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from sqlglot import exp

from domain.sql import allowlist
from domain.sql.scope import ColumnClass, DatasetScope, strictest


class Kind(Enum):
    RAW = "raw"
    SAFE = "safe"


@dataclass(frozen=True)
class Col:
    klass: ColumnClass
    slot: int | None = None


@dataclass
class Rel:
    kind: Kind
    columns: dict[str, Col]
    slots: list[str] = field(default_factory=list)     # column names that carry unit values
    tables: set[str] = field(default_factory=set)      # granted tables read underneath


def table_rel(dataset: DatasetScope) -> Rel:
    columns = {c.name.lower(): Col(c.klass, 0 if c.name.lower() == dataset.unit else None)
               for c in dataset.columns}
    return Rel(Kind.RAW, columns, [dataset.unit], {dataset.table})


class UnionFind:
    def __init__(self):
        self.parent: dict = {}

    def find(self, key):
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def parent_of(node: exp.Expression) -> exp.Expression | None:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return parent


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    if condition is None:
        return []
    condition = unparen(condition)
    if isinstance(condition, exp.And):
        return conjuncts(condition.this) + conjuncts(condition.expression)
    return [condition]


def is_no_flow(node: exp.Expression) -> bool:
    """Subtrees whose column values do not flow into the result value."""
    if isinstance(node, (exp.Count, exp.ApproxDistinct, exp.CountIf)):
        return True
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return True
    return False


FROM_KEY = "from_" if "from_" in exp.Select.arg_types else "from"
WITH_KEY = "with_" if "with_" in exp.Select.arg_types else "with"
SELECT_ARGS = frozenset({WITH_KEY, "expressions", "distinct", FROM_KEY, "joins", "where", "group",
                         "having", "qualify", "order", "limit", "offset"})
