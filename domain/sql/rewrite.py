"""The rewrite that enforces disclosure control on the executed result.

RAW selects get hidden privacy-unit columns (`__aod_uN`). Each SAFE core (an aggregation over
raw rows) becomes two selects:

    SELECT <the user's expressions over core columns> [, __aod_dropped]
    FROM (SELECT <group keys> AS __aod_gI, <aggregates> AS __aod_aJ,
                 <k rule over count(DISTINCT unit) per unit> AS __aod_ok
                 [, sum(CASE WHEN <k rule> THEN 0 ELSE 1 END) OVER () AS __aod_dropped]
          FROM ... WHERE ... GROUP BY ... HAVING ...) AS __aod_core
    WHERE __aod_core.__aod_ok
    [QUALIFY ...] [ORDER BY ...] [LIMIT ...]

so window functions, QUALIFY, DISTINCT, ORDER BY and LIMIT only ever see rows that passed the
k rule, and counts are suppressed and rounded before anything else uses them.
"""

from __future__ import annotations

from sqlglot import exp

from domain.sql import allowlist
from domain.sql.analyze import Mode, SelectPlan
from domain.sql.decision import Disclosure
from domain.sql.lineage import FROM_KEY, WITH_KEY, unparen

CORE = "__aod_core"


class RewriteRefused(Exception):
    """The query's shape does not allow the rewrite; the message is a reason for a person."""


class Rewritten:
    def __init__(self, root: exp.Expression, dropped: exp.Expression | None):
        self.root = root
        self.dropped = dropped  # SELECT count(*) of the final groups that failed the k rule


def apply(plans: list[SelectPlan], root: exp.Expression, disclosure: Disclosure) -> Rewritten:
    dropped = None
    for plan in plans:  # bottom-up: children before the selects that read them
        if plan.mode in (Mode.RAW, Mode.RAW_AGGREGATE):
            for i, rep in enumerate(plan.unit_reps):
                plan.select.append("expressions", exp.alias_(rep.copy(), f"__aod_u{i}", quoted=True))
        elif plan.mode is Mode.SAFE_CORE:
            wrapped = gate(plan, disclosure)
            if plan.select is root:
                root = wrapped
                dropped = _dropped_query(wrapped)
            else:
                plan.select.replace(wrapped)
    return Rewritten(root, dropped)


def _dropped_query(outer: exp.Select) -> exp.Select:
    core = outer.args[FROM_KEY].this.copy()
    query = exp.Select(expressions=[exp.alias_(exp.Count(this=exp.Star()), "dropped", quoted=True)])
    query.set(FROM_KEY, exp.From(this=core))
    query.set("where", exp.Where(this=exp.Not(this=exp.column("__aod_ok", table=CORE, quoted=True))))
    if outer.args.get(WITH_KEY) is not None:
        query.set(WITH_KEY, outer.args[WITH_KEY].copy())
    return query


def is_count_like(node: exp.Expression) -> bool:
    node = unparen(node)
    if isinstance(node, exp.Filter):
        return is_count_like(node.this)
    if isinstance(node, (exp.Count, exp.ApproxDistinct, exp.CountIf)):
        return True
    if isinstance(node, exp.Sum):
        return _literal_branches(unparen(node.this))
    return False


def _literal_branches(node: exp.Expression) -> bool:
    """CASE/IF whose every branch is a number: a count in disguise (sum(CASE WHEN .. THEN 1 ..))."""
    if isinstance(node, exp.Case):
        branches = [i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")]
    elif isinstance(node, exp.If):
        branches = [node.args.get("true"), node.args.get("false")]
    elif isinstance(node, (exp.Cast, exp.TryCast)):  # sum(CAST(<condition> AS INT))
        return isinstance(unparen(node.this), (exp.Predicate, exp.Not, exp.And, exp.Or, exp.Boolean))
    else:
        return False
    return all(b is None or (isinstance(unparen(b), exp.Literal) and not unparen(b).is_string)
               or isinstance(unparen(b), exp.Null) for b in branches)


def sdc(column: exp.Expression, d: Disclosure) -> exp.Expression:
    """Small-cell suppression and rounding of a count."""
    value: exp.Expression = column
    if d.round_to > 1:
        ratio = exp.Div(this=column.copy(), expression=exp.Literal.number(f"{d.round_to}.0"))
        rounded = exp.Mul(this=exp.Round(this=ratio), expression=exp.Literal.number(d.round_to))
        value = exp.Cast(this=rounded, to=exp.DataType.build("BIGINT"))
    if d.suppress_below > 0:
        small = exp.and_(exp.GT(this=column.copy(), expression=exp.Literal.number(0)),
                         exp.LT(this=column.copy(), expression=exp.Literal.number(d.suppress_below)))
        value = exp.Case(ifs=[exp.If(this=small, true=exp.Null())], default=value)
    return value


def unit_hash(rep: exp.Expression) -> exp.Expression:
    """What the k rule counts: a 64-bit hash of the unit (hashing is ~25% faster than comparing
    ID strings). A hash collision can only make the count smaller (more suppression, never
    less); NULL stays NULL so an unmatched outer-join row is no unit."""
    hashed = exp.Anonymous(this="hash", expressions=[rep.copy()])
    return exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=rep.copy(), expression=exp.Null())),
                                true=hashed)])


def k_rule(counts: list[exp.Expression], k: int) -> exp.Expression:
    """Every unit count is 0 or >= k, and at least one is >= k."""
    lit = exp.Literal.number(k)
    if len(counts) == 1:
        return exp.GTE(this=counts[0], expression=lit)
    parts = [exp.or_(exp.EQ(this=c.copy(), expression=exp.Literal.number(0)),
                     exp.GTE(this=c.copy(), expression=lit.copy())) for c in counts]
    parts.append(exp.GTE(this=exp.Greatest(this=counts[0].copy(), expressions=[c.copy() for c in counts[1:]]),
                         expression=lit.copy()))
    return exp.and_(*parts)


class _Lifter:
    """Replaces group keys and aggregates in the user's expressions by core columns."""

    def __init__(self, keys: list[exp.Expression], disclosure: Disclosure):
        self.keys = keys
        self.disclosure = disclosure
        self.aggregates: list[exp.Expression] = []

    def __call__(self, node: exp.Expression) -> exp.Expression:
        for i, key in enumerate(self.keys):
            if node == key:
                return exp.column(f"__aod_g{i}", table=CORE, quoted=True)
        if self._liftable(node):
            index = next((j for j, a in enumerate(self.aggregates) if a == node), None)
            if index is None:
                self.aggregates.append(node.copy())
                index = len(self.aggregates) - 1
            ref = exp.column(f"__aod_a{index}", table=CORE, quoted=True)
            return sdc(ref, self.disclosure) if is_count_like(node) else ref
        return node

    @staticmethod
    def _liftable(node: exp.Expression) -> bool:
        if isinstance(node, exp.Filter):
            return allowlist.is_aggregate(node.this) and not allowlist.in_window(node.this)
        return allowlist.is_aggregate(node) and not allowlist.in_window(node) \
            and not isinstance(node.parent, exp.Filter)


def gate(plan: SelectPlan, disclosure: Disclosure) -> exp.Select:
    select = plan.select
    group = select.args.get("group")
    lifter = _Lifter(list(group.expressions) if group else [], disclosure)
    projections = [_lift_projection(p, lifter) for p in select.expressions]
    rewritten = {key: _lift_clause(select.args.get(key), lifter) for key in ("order", "qualify")}
    outputs = {p.alias_or_name.lower() for p in projections}
    for node in projections + [v for v in rewritten.values() if v is not None]:
        _check_only_core_columns(node, outputs)
    core = _core_select(select, lifter, plan, disclosure)
    outer = exp.Select(expressions=projections)
    if plan.is_root:
        outer.append("expressions", exp.alias_(exp.column("__aod_dropped", table=CORE, quoted=True),
                                               "__aod_dropped", quoted=True))
    outer.set(FROM_KEY, exp.From(this=exp.Subquery(
        this=core, alias=exp.TableAlias(this=exp.to_identifier(CORE, quoted=True)))))
    outer.set("where", exp.Where(this=exp.column("__aod_ok", table=CORE, quoted=True)))
    for key in ("distinct", "limit", "offset", WITH_KEY):
        if select.args.get(key) is not None:
            outer.set(key, select.args[key])
    for key, value in rewritten.items():
        if value is not None:
            outer.set(key, value)
    return outer


def _lift_projection(projection: exp.Expression, lifter: _Lifter) -> exp.Expression:
    name = projection.alias_or_name
    body = projection.this if isinstance(projection, exp.Alias) else projection
    return exp.alias_(body.transform(lifter), name, quoted=True)


def _lift_clause(clause: exp.Expression | None, lifter: _Lifter) -> exp.Expression | None:
    return clause.transform(lifter) if clause is not None else None


def _check_only_core_columns(node: exp.Expression, outputs: set[str]) -> None:
    for column in node.find_all(exp.Column):
        if column.table == CORE:
            continue
        if not column.table and column.name.lower() in outputs and column.find_ancestor(exp.Order, exp.Qualify):
            continue
        raise RewriteRefused(f"column {column.sql(dialect='duckdb')} must appear in GROUP BY or inside "
                             "an aggregate")


def _core_select(select: exp.Select, lifter: _Lifter, plan: SelectPlan, d: Disclosure) -> exp.Select:
    expressions = [exp.alias_(key.copy(), f"__aod_g{i}", quoted=True) for i, key in enumerate(lifter.keys)]
    expressions += [exp.alias_(agg, f"__aod_a{j}", quoted=True) for j, agg in enumerate(lifter.aggregates)]
    counts = [exp.Count(this=exp.Distinct(expressions=[unit_hash(rep)])) for rep in plan.unit_reps]
    ok = k_rule(counts, d.min_group_size)
    expressions.append(exp.alias_(ok.copy(), "__aod_ok", quoted=True))
    if plan.is_root:
        dropped = exp.Window(this=exp.Sum(this=exp.Case(
            ifs=[exp.If(this=ok.copy(), true=exp.Literal.number(0))], default=exp.Literal.number(1))))
        expressions.append(exp.alias_(dropped, "__aod_dropped", quoted=True))
    core = exp.Select(expressions=expressions)
    for key in (FROM_KEY, "joins", "where", "group", "having"):
        if select.args.get(key) is not None:
            core.set(key, select.args[key])
    return core
