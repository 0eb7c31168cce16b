"""Semantic analysis of a qualified query, SELECT by SELECT, bottom-up.

For each SELECT it decides the mode (see `Mode`), checks how direct identifiers are used (an
`AnyOf` of the permitted uses), checks aggregates, and records what the rewrite must add:
hidden privacy-unit columns for RAW selects, the k gate for SAFE cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlglot import exp
from sqlglot.optimizer.scope import Scope as SqlScope
from sqlglot.optimizer.scope import build_scope, walk_in_scope

from domain.sql import allowlist
from domain.sql.lineage import (
    Col, Kind, Rel, UnionFind, conjuncts, is_no_flow, parent_of, table_rel, unparen,
)
from domain.sql.rules import AnyOf, Predicate
from domain.sql.scope import ColumnClass, Scope, strictest

IDENTIFIER_RULE_HINT = ("may only be a join key (a.x = b.x), counted with count(DISTINCT ...) or "
                        "tested with IS NULL")


class Mode(Enum):
    RAW = "raw"                      # row-level projection/filter of raw rows (not the result)
    RAW_AGGREGATE = "raw_aggregate"  # grouped by every privacy unit it reads: one row per unit
    SAFE_CORE = "safe_core"          # aggregation over raw rows: gated by the k rule
    SAFE_POST = "safe_post"          # computes only on already-safe (aggregated) rows


@dataclass
class SelectPlan:
    select: exp.Select
    mode: Mode
    is_root: bool
    unit_reps: list[exp.Expression]  # RAW: hidden unit columns; SAFE_CORE: what to count


@dataclass
class Occurrence:
    node: exp.Expression
    ctx: "Context"


class Context:
    def __init__(self, sql_scope: SqlScope, sources: dict[str, Rel], names: dict[str, str]):
        self.sql_scope = sql_scope
        self.select: exp.Select = sql_scope.expression
        self.is_root = sql_scope.is_root
        self.sources = sources
        self.names = names  # alias -> display name (the dataset table for granted tables)
        self.uf = UnionFind()
        self.mode = Mode.SAFE_POST

    def col(self, node: exp.Expression) -> Col | None:
        if not isinstance(node, exp.Column) or not node.table:
            return None
        rel = self.sources.get(node.table)
        return rel.columns.get(node.name.lower()) if rel else None

    def is_ident(self, node: exp.Expression) -> bool:
        node = unparen(node)
        if isinstance(node, exp.Coalesce):  # what qualify makes of a USING column
            args = [node.this, *node.expressions]
            return all(self.is_ident(a) for a in args)
        col = self.col(node)
        return col is not None and col.klass == ColumnClass.DIRECT_IDENTIFIER

    def unit_keys(self, node: exp.Expression) -> set[tuple[str, int]]:
        node = unparen(node)
        if isinstance(node, exp.Coalesce):
            keys = [self.unit_keys(a) for a in [node.this, *node.expressions]]
            return set().union(*keys) if all(keys) else set()
        col = self.col(node)
        if col is None or col.slot is None:
            return set()
        return {(node.table, col.slot)}

    def display(self, node: exp.Expression) -> str:
        node = unparen(node)
        if isinstance(node, exp.Coalesce):
            return self.display(node.this)
        if isinstance(node, exp.Column):
            return f"{self.names.get(node.table, node.table)}.{node.name}"
        return node.sql(dialect="duckdb")


class Analyzer:
    def __init__(self, scope: Scope):
        self.scope = scope
        self.rels: dict[int, Rel] = {}
        self.plans: list[SelectPlan] = []
        self.reasons: list[str] = []
        self.tables: set[str] = set()

    def run(self, tree: exp.Expression) -> None:
        root = build_scope(tree)
        if root is None:
            self.reasons.append("the query could not be analysed")
            return
        for sql_scope in root.traverse():
            if not self._scope_shape_ok(sql_scope):
                continue
            self._analyse(sql_scope)

    def _scope_shape_ok(self, sql_scope: SqlScope) -> bool:
        if sql_scope.is_subquery or sql_scope.is_udtf:
            self.reasons.append("subqueries inside expressions are not allowed; use a JOIN or a WITH clause")
            return False
        if sql_scope.is_set_operation or not isinstance(sql_scope.expression, exp.Select):
            self.reasons.append("only plain SELECT blocks are allowed (no set operations)")
            return False
        if sql_scope.expression.args.get("windows"):
            self.reasons.append("named WINDOW clauses are not supported; write the window in OVER (...)")
            return False
        return True

    # -- one SELECT --------------------------------------------------------------------------
    def _analyse(self, sql_scope: SqlScope) -> None:
        ctx = self._context(sql_scope)
        if ctx is None:
            return
        self._check_columns_resolve(ctx)
        self._merge_units(ctx)
        reps = self._decide_mode(ctx)
        self.reasons.extend(identifier_rule().check_all(ctx))
        self._check_mode_rules(ctx)
        rel = self._output_rel(ctx, reps)
        self.rels[id(ctx.select)] = rel
        self.plans.append(SelectPlan(ctx.select, ctx.mode, ctx.is_root, reps))

    def _context(self, sql_scope: SqlScope) -> Context | None:
        sources: dict[str, Rel] = {}
        names: dict[str, str] = {}
        for alias, (_node, source) in sql_scope.selected_sources.items():
            if isinstance(source, exp.Table):
                dataset = self.scope.get(source.name)
                if dataset is None:
                    self.reasons.append(f"table {source.name} is not granted to you")
                    return None
                sources[alias] = table_rel(dataset)
                names[alias] = dataset.table
                self.tables.add(dataset.table)
            elif isinstance(source, SqlScope) and id(source.expression) in self.rels:
                sources[alias] = self.rels[id(source.expression)]
                names[alias] = alias
            else:
                return None  # a refused child scope: its reason is already recorded
        return Context(sql_scope, sources, names)

    def _check_columns_resolve(self, ctx: Context) -> None:
        aliases = {p.alias_or_name.lower() for p in ctx.select.expressions}
        for node in walk_in_scope(ctx.select):
            if not isinstance(node, exp.Column):
                continue
            if node.table and ctx.col(node) is not None:
                continue
            if not node.table and node.name.lower() in aliases and node.find_ancestor(exp.Order, exp.Qualify):
                continue
            from domain.sql.redact import mask_name

            self.reasons.append(f"column {mask_name(node.sql(dialect='duckdb'))} is not granted to you "
                                "or does not exist")

    def _merge_units(self, ctx: Context) -> None:
        for join in ctx.select.args.get("joins") or []:
            inner = not join.args.get("side") and (join.args.get("kind") or "").upper() in ("", "INNER")
            if inner:
                self._merge_equalities(ctx, join.args.get("on"))
        where = ctx.select.args.get("where")
        self._merge_equalities(ctx, where.this if where else None)

    @staticmethod
    def _merge_equalities(ctx: Context, condition: exp.Expression | None) -> None:
        for part in conjuncts(condition):
            if isinstance(part, exp.EQ):
                left, right = ctx.unit_keys(part.this), ctx.unit_keys(part.expression)
                for a in left:
                    for b in right:
                        ctx.uf.union(a, b)

    def _decide_mode(self, ctx: Context) -> list[exp.Expression]:
        raw = [a for a, rel in ctx.sources.items() if rel.kind is Kind.RAW]
        keys = [(a, i) for a in raw for i in range(len(ctx.sources[a].slots))]
        roots = list(dict.fromkeys(ctx.uf.find(k) for k in keys))
        rep_of = {}
        for key in keys:
            rep_of.setdefault(ctx.uf.find(key), key)
        if not raw:
            ctx.mode = Mode.SAFE_POST
            return []
        if not is_aggregating(ctx.select):
            ctx.mode = Mode.RAW
            return [_key_column(ctx, rep_of[r]) for r in roots]
        group_reps = self._group_unit_reps(ctx)
        if all(r in group_reps for r in roots):
            ctx.mode = Mode.RAW_AGGREGATE
            return [group_reps[r].copy() for r in roots]
        ctx.mode = Mode.SAFE_CORE
        return [_key_column(ctx, rep_of[r]) for r in roots]

    @staticmethod
    def _group_unit_reps(ctx: Context) -> dict:
        group = ctx.select.args.get("group")
        reps = {}
        for key_expr in (group.expressions if group else []):
            for key in ctx.unit_keys(key_expr):
                reps.setdefault(ctx.uf.find(key), unparen(key_expr))
        return reps

    def _check_mode_rules(self, ctx: Context) -> None:
        select, mode = ctx.select, ctx.mode
        if ctx.is_root and mode is Mode.RAW:
            self.reasons.append("the query would return rows of raw data; aggregate them (GROUP BY with "
                                "count(), sum(), avg() ...) so every row describes a group")
        if ctx.is_root and mode is Mode.RAW_AGGREGATE:
            self.reasons.append("the query would return one row per person or enterprise (it groups by the "
                                "privacy unit); group by coarser columns")
        if mode in (Mode.RAW, Mode.RAW_AGGREGATE) and not ctx.is_root:
            for key, what in (("limit", "LIMIT"), ("offset", "OFFSET"), ("order", "ORDER BY")):
                if select.args.get(key):
                    self.reasons.append(f"{what} is not allowed on raw rows inside a subquery; use it "
                                        "on the aggregated result")
            if mode is Mode.RAW and select.args.get("distinct"):
                self.reasons.append("SELECT DISTINCT on raw rows is not supported inside a subquery; use "
                                    "count(DISTINCT ...) or GROUP BY")
        if mode is Mode.SAFE_CORE:
            self.reasons.extend(_order_statistic_reasons(ctx))

    def _output_rel(self, ctx: Context, reps: list[exp.Expression]) -> Rel:
        raw_mode = ctx.mode in (Mode.RAW, Mode.RAW_AGGREGATE)
        roots = []
        if raw_mode:
            roots = [ctx.uf.find(next(iter(ctx.unit_keys(r)))) for r in reps]
        columns: dict[str, Col] = {}
        for projection in ctx.select.expressions:
            expr = projection.this if isinstance(projection, exp.Alias) else projection
            slot = None
            keys = ctx.unit_keys(expr) if raw_mode else set()
            if keys:
                root = ctx.uf.find(next(iter(keys)))
                slot = roots.index(root) if root in roots else None
            columns[projection.alias_or_name.lower()] = Col(flow_class(ctx, expr), slot)
        tables = set().union(*(rel.tables for rel in ctx.sources.values())) if ctx.sources else set()
        kind = Kind.RAW if raw_mode else Kind.SAFE
        slots = [f"__aod_u{i}" for i in range(len(reps))] if raw_mode else []
        return Rel(kind, columns, slots, tables)


def _key_column(ctx: Context, key: tuple[str, int]) -> exp.Expression:
    alias, slot = key
    return exp.column(ctx.sources[alias].slots[slot], table=alias, quoted=True)


def is_aggregating(select: exp.Select) -> bool:
    if select.args.get("group") or select.args.get("having"):
        return True
    return any(allowlist.is_aggregate(node) and not allowlist.in_window(node)
               for node in walk_in_scope(select))


def flow_class(ctx: Context, expr: exp.Expression) -> ColumnClass:
    classes = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if is_no_flow(node):
            continue
        if isinstance(node, exp.EQ) and ctx.is_ident(node.this) and ctx.is_ident(node.expression):
            continue
        if isinstance(node, exp.Column):
            col = ctx.col(node)
            if col is not None:
                classes.append(col.klass)
            continue
        for key, value in node.args.items():
            if isinstance(node, exp.Window) and key == "partition_by":
                continue
            for child in (value if isinstance(value, list) else [value]):
                if isinstance(child, exp.Expression):
                    stack.append(child)
    return strictest(classes)


def _order_statistic_reasons(ctx: Context) -> list[str]:
    reasons = []
    for node in walk_in_scope(ctx.select):
        if isinstance(node, tuple(allowlist.ORDER_STATISTICS)) and not allowlist.in_window(node):
            if flow_class(ctx, node.this) == ColumnClass.SENSITIVE:
                reasons.append(f"{allowlist.function_name(node)}() of a sensitive column would reveal one "
                               "person's exact value; use avg(), sum() or count() instead")
    return reasons


# -- how a direct identifier may be used: AnyOf the permitted uses --------------------------

def _is_projection(node: exp.Expression, select: exp.Select) -> bool:
    parent = parent_of(node)
    if isinstance(parent, exp.Alias):
        parent, node = parent.parent, parent
    return parent is select and node.arg_key == "expressions"


def _join_equality(o: Occurrence) -> bool:
    parent = parent_of(o.node)
    return isinstance(parent, (exp.EQ, exp.NullSafeEQ)) and o.ctx.is_ident(parent.this) \
        and o.ctx.is_ident(parent.expression)


def _counted(o: Occurrence) -> bool:
    parent = parent_of(o.node)
    if isinstance(parent, exp.Distinct):
        parent = parent_of(parent)
    return isinstance(parent, (exp.Count, exp.ApproxDistinct))


def _null_test(o: Occurrence) -> bool:
    parent = parent_of(o.node)
    return isinstance(parent, exp.Is) and isinstance(parent.expression, exp.Null)


def _pass_through(o: Occurrence) -> bool:
    return o.ctx.mode in (Mode.RAW, Mode.RAW_AGGREGATE) and not o.ctx.is_root \
        and _is_projection(o.node, o.ctx.select)


def _unit_group_key(o: Occurrence) -> bool:
    return o.ctx.mode is Mode.RAW_AGGREGATE and isinstance(parent_of(o.node), exp.Group)


def _partition_key(o: Occurrence) -> bool:
    parent = parent_of(o.node)
    node = o.node
    while isinstance(node.parent, exp.Paren):
        node = node.parent
    return isinstance(parent, exp.Window) and node.arg_key == "partition_by"


def _misuse(o: Occurrence) -> str:
    name = o.ctx.display(o.node)
    return f"{name} is a direct identifier: it {IDENTIFIER_RULE_HINT}; here it {_what(o)}"


def _what(o: Occurrence) -> str:
    parent = parent_of(o.node)
    if _is_projection(o.node, o.ctx.select):
        return "is returned in the result"
    if isinstance(parent, exp.Group):
        return "is grouped on, so each output row would describe one person or enterprise"
    if isinstance(parent, exp.Ordered):
        return "is used to sort"
    if isinstance(parent, (exp.Predicate, exp.Like, exp.ILike, exp.In, exp.Between, exp.Is)):
        return "is compared with a value"
    if isinstance(parent, exp.AggFunc):
        return f"is fed to the aggregate {allowlist.function_name(parent)}()"
    if isinstance(parent, (exp.Cast, exp.TryCast)):
        return "is cast to another type"
    if isinstance(parent, exp.Func):
        return f"is used in the function {allowlist.function_name(parent)}()"
    if isinstance(parent, (exp.Binary, exp.Neg)):
        return "is used in arithmetic or concatenation"
    return "is used in an expression"


class _IdentifierRule:
    def __init__(self):
        self.rule = AnyOf(
            [Predicate(_join_equality), Predicate(_counted), Predicate(_null_test),
             Predicate(_pass_through), Predicate(_unit_group_key), Predicate(_partition_key)],
            otherwise=_misuse,
        )

    def check_all(self, ctx: Context) -> list[str]:
        reasons = []
        for node in walk_in_scope(ctx.select):
            if not ctx.is_ident(node) or isinstance(node, exp.Paren):
                continue
            parent = parent_of(node)
            if isinstance(parent, exp.Coalesce) and ctx.is_ident(parent):
                continue  # the USING column as a whole is checked instead
            reasons.extend(self.rule.check(Occurrence(node, ctx)))
        return reasons


_RULE = _IdentifierRule()


def identifier_rule() -> _IdentifierRule:
    return _RULE
