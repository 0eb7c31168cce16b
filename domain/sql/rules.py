"""Composable rules, after sigstore's policy module: `AllOf` and `AnyOf` over rules that return
the reasons they fail (an empty tuple means the rule holds). An empty `AllOf`/`AnyOf` is an
error, not a rule that vacuously passes.

The syntactic rules here run on the parsed statement before any name is resolved.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from domain.sql import allowlist
from domain.sql.lineage import SELECT_ARGS
from domain.sql.redact import mask_name
from domain.sql.scope import RESERVED_PREFIX, Scope

Reasons = tuple[str, ...]


class Rule(ABC):
    @abstractmethod
    def check(self, subject: Any) -> Reasons:
        """The reasons `subject` breaks this rule; () when it holds."""


class AllOf(Rule):
    def __init__(self, rules: Sequence[Rule]):
        if not rules:
            raise ValueError("AllOf needs at least one rule")
        self.rules = tuple(rules)

    def check(self, subject: Any) -> Reasons:
        reasons: list[str] = []
        for rule in self.rules:
            reasons.extend(rule.check(subject))
        return tuple(dict.fromkeys(reasons))


class AnyOf(Rule):
    """Holds when one of the rules holds; otherwise gives `otherwise(subject)` as the reason."""

    def __init__(self, rules: Sequence[Rule], otherwise: Callable[[Any], str]):
        if not rules:
            raise ValueError("AnyOf needs at least one rule")
        self.rules = tuple(rules)
        self.otherwise = otherwise

    def check(self, subject: Any) -> Reasons:
        if any(not rule.check(subject) for rule in self.rules):
            return ()
        return (self.otherwise(subject),)


class Predicate(Rule):
    """A rule from a boolean function and the reason it gives when false."""

    def __init__(self, test: Callable[[Any], bool], reason: str = "predicate failed"):
        self.test = test
        self.reason = reason

    def check(self, subject: Any) -> Reasons:
        return () if self.test(subject) else (self.reason,)


# -- syntactic rules over the parsed statement ------------------------------------------------

class OnlyAllowedSyntax(Rule):
    """Every node is of an allow-listed class (functions, operators, clauses)."""

    def check(self, tree: exp.Expression) -> Reasons:
        reasons = []
        for node in tree.walk():
            reason = self._node_reason(node)
            if reason:
                reasons.append(reason)
        return tuple(dict.fromkeys(reasons))

    @staticmethod
    def _node_reason(node: exp.Expression) -> str | None:
        if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            return "set operations (UNION, INTERSECT, EXCEPT) are not allowed; run the parts as separate queries"
        if isinstance(node, tuple(allowlist.VALUE_REVEALING)) or (
                isinstance(node, exp.Anonymous) and allowlist.function_name(node) in allowlist.VALUE_REVEALING_NAMES):
            name = allowlist.function_name(node)
            return (f"aggregate {name}() returns individual values, not a summary; use count(), sum(), "
                    "avg() or another summary")
        if type(node) in allowlist.ALLOWED:
            return _clause_reason(node)
        if type(node).__name__ == "TableColumn":
            return f"{mask_name(node.name)} names a whole row (a table used as a column); name the columns"
        if isinstance(node, exp.Values):
            return "VALUES lists are not allowed in queries on raw data"
        if isinstance(node, (exp.Placeholder, exp.Parameter, exp.SessionParameter)):
            return "query parameters and session variables are not supported; write the values in the query"
        if isinstance(node, (exp.Lateral, exp.Unnest, exp.Pivot)):
            return "LATERAL, UNNEST and PIVOT are not allowed"
        if isinstance(node, exp.Func):
            return f"function {mask_name(allowlist.function_name(node))}() is not on the allow-list of functions"
        return f"{mask_name(type(node).__name__)} is not allowed in a query on raw data"


def _clause_reason(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Subquery) and not isinstance(node.parent, (exp.From, exp.Join)):
        return ("subqueries inside expressions (IN, EXISTS, scalar) are not allowed; use a JOIN or a "
                "WITH clause")
    if isinstance(node, exp.Join):
        return _join_reason(node)
    if isinstance(node, exp.Group) and (node.args.get("all") or node.args.get("grouping_sets")
                                        or node.args.get("cube") or node.args.get("rollup")):
        return "GROUP BY ALL, GROUPING SETS, CUBE and ROLLUP are not supported; list the grouping columns"
    if isinstance(node, exp.Distinct) and node.args.get("on"):
        return "DISTINCT ON is not allowed"
    if isinstance(node, exp.Star) and any(node.args.get(k) for k in ("except", "replace", "rename")):
        return "* EXCLUDE / REPLACE / RENAME is not supported; list the columns"
    if isinstance(node, exp.DataType) and not _type_allowed(node):
        return f"casts to {mask_name(node.sql(dialect='duckdb'))} are not allowed"
    if isinstance(node, (exp.Limit, exp.Offset)) and not _literal_integer(node.expression):
        return "LIMIT and OFFSET take a whole number"
    if isinstance(node, tuple(allowlist.WINDOW_ONLY)) and not allowlist.in_window(node):
        return f"{allowlist.function_name(node)}() needs an OVER (...) clause"
    if isinstance(node, exp.With) and node.args.get("recursive"):
        return "WITH RECURSIVE is not allowed"
    if isinstance(node, exp.Select):
        extra = sorted(k for k, v in node.args.items() if v not in (None, [], False) and k not in SELECT_ARGS)
        if extra:
            return f"SELECT with {mask_name(extra[0].rstrip('_').upper())} is not supported"
    return None


def _join_reason(join: exp.Join) -> str | None:
    kind = (join.args.get("kind") or "").upper()
    side = (join.args.get("side") or "").upper()
    if join.args.get("method") or kind not in allowlist.JOIN_KINDS or side not in allowlist.JOIN_SIDES:
        return "only INNER, LEFT, RIGHT, FULL and CROSS joins are allowed (no NATURAL, SEMI, ANTI, ASOF or POSITIONAL)"
    return None


def _type_allowed(node: exp.DataType) -> bool:
    if node.this not in allowlist.ALLOWED_TYPES:
        return False
    return all(isinstance(p, (exp.DataTypeParam, exp.Literal)) for p in node.expressions)


def _literal_integer(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and str(node.this).isdigit()


class OnlyGrantedTables(Rule):
    """Tables are plain names of granted datasets or of the query's own CTEs."""

    def __init__(self, scope: Scope):
        self.scope = scope

    def check(self, tree: exp.Expression) -> Reasons:
        reasons = []
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for cte_name in ctes:
            if self.scope.get(cte_name) is not None:
                reasons.append(f"WITH {cte_name} hides the granted table of the same name; choose another name")
        for table in tree.find_all(exp.Table):
            reasons.extend(self._table_reasons(table, ctes))
        return tuple(dict.fromkeys(reasons))

    def _table_reasons(self, table: exp.Table, ctes: set[str]) -> list[str]:
        if not isinstance(table.this, exp.Identifier):
            return ["FROM takes a granted table name, not a function, file or expression"]
        if table.args.get("db") or table.args.get("catalog"):
            return [f"name the table without a schema or database: {mask_name(table.sql(dialect='duckdb'))}"]
        name = table.name.lower()
        if name in ctes or self.scope.get(name) is not None:
            return []
        return [f"table {mask_name(table.name)} is not granted to you (granted: "
                f"{', '.join(d.table for d in self.scope.datasets)})"]


class NoReservedNames(Rule):
    def check(self, tree: exp.Expression) -> Reasons:
        for node in tree.find_all(exp.Identifier):
            if str(node.name).lower().startswith(RESERVED_PREFIX):
                return (f"names starting with {RESERVED_PREFIX} are reserved for the policy engine",)
        return ()


def syntax_rules(scope: Scope) -> AllOf:
    return AllOf([OnlyAllowedSyntax(), OnlyGrantedTables(scope), NoReservedNames()])
