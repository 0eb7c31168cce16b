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

The k rule needs count(DISTINCT unit) per group. Where the query itself counts the distinct
unit (`count(DISTINCT s.id_number)`), that very aggregate is the gate's count (exact, free).
Otherwise the root core gets two versions (`Rewritten.exact_root` is the other one):

- the certifying version: per unit a 64-bin bitmap of its hash (`bit_or(1 << (hash & 63))`,
  one pass, no hash table of units) whose popcount `lb` is a proven lower bound of the distinct
  count (each unit sets one bit, so lb <= distinct <= n rows). A group is released only when
  the bounds prove the rule (lb >= k); when they cannot decide a group (lb < k <= n) the hidden
  column `__aod_undecided` says so;
- the exact version (count(DISTINCT hash(unit))), which the engine runs instead whenever the
  certifying one left a group undecided.

Either way a released group provably has at least k distinct units: the certifying version on
its own can only suppress more, never release more.
"""

from __future__ import annotations

from sqlglot import exp

from domain.sql import allowlist
from domain.sql.analyze import Mode, SelectPlan
from domain.sql.decision import Disclosure
from domain.sql.lineage import FROM_KEY, WITH_KEY, unparen

CORE = "__aod_core"
BOUNDS = "__aod_bounds"


class RewriteRefused(Exception):
    """The query's shape does not allow the rewrite; the message is a reason for a person."""


UNDECIDED = "__aod_undecided"
BITMAP_BITS = 64


class Rewritten:
    def __init__(self, root: exp.Expression, sql: str, dropped_sql: str = "", exact_sql: str = "",
                 exact_dropped_sql: str = ""):
        self.root = root
        self.sql = sql                  # DuckDB dialect
        self.dropped_sql = dropped_sql  # SELECT the count of final groups that failed [, undecided]
        self.exact_sql = exact_sql      # set when `sql` certifies: the exact version...
        self.exact_dropped_sql = exact_dropped_sql


def apply(plans: list[SelectPlan], root: exp.Expression, disclosure: Disclosure) -> Rewritten:
    result = None
    for plan in plans:  # bottom-up: children before the selects that read them
        if plan.mode in (Mode.RAW, Mode.RAW_AGGREGATE):
            for i, rep in enumerate(plan.unit_reps):
                plan.select.append("expressions", exp.alias_(rep.copy(), f"__aod_u{i}", quoted=True))
        elif plan.mode is Mode.SAFE_CORE and plan.select is root:
            result = _gate_root(plan, disclosure)
        elif plan.mode is Mode.SAFE_CORE:
            plan.select.replace(gate(plan, disclosure))
    return result or Rewritten(root, root.sql(dialect="duckdb", comments=False, copy=False))


def _gate_root(plan: SelectPlan, disclosure: Disclosure) -> Rewritten:
    counts = [node for p in plan.select.expressions for node in p.find_all(exp.Count)]
    reused = [_reused_count(rep, counts) is not None for rep in plan.unit_reps]
    if all(reused):  # the query counts every unit itself: the exact gate costs nothing more
        exact = gate(plan, disclosure)
        return Rewritten(exact, *render(exact))
    fast = gate(plan, disclosure, certify=True)
    sql, dropped = render(fast, certify=True)
    return Rewritten(fast, sql, dropped, *_exact_twins(plan, disclosure, sql, dropped, reused))


def _exact_twins(plan: SelectPlan, d: Disclosure, sql: str, dropped: str,
                 reused: list[bool]) -> tuple[str, str]:
    """The exact version of the certifying SQL: each lower bound `__aod_lbI` becomes the exact
    count(DISTINCT hash(unit)), so the same rule (lb >= k, n = 0 iff no unit) decides exactly.
    Only the bound's own text changes; it must occur once in each query."""
    for i, (rep, own) in enumerate(zip(plan.unit_reps, reused)):
        if own:
            continue
        alias = f' AS "__aod_lb{i}"'
        bound = unit_bound(rep, d.min_group_size).sql(dialect="duckdb", comments=False, copy=False) + alias
        count = exp.Count(this=exp.Distinct(expressions=[unit_hash(rep)])).sql(dialect="duckdb", copy=False) + alias
        if sql.count(bound) != 1 or dropped.count(bound) != 1:
            raise RewriteRefused("the query could not be rewritten for the k rule")
        sql, dropped = sql.replace(bound, count), dropped.replace(bound, count)
    return sql, dropped


_PLACEHOLDER = exp.Select(expressions=[exp.column("__aod_placeholder", quoted=True)])


def render(outer: exp.Select, certify: bool = False) -> tuple[str, str]:
    """(the query, the query counting its failed [and undecided] groups) as DuckDB SQL, the core
    rendered once for both."""
    sub = outer.args[FROM_KEY].this
    core = sub.this
    core_sql = core.sql(dialect="duckdb", comments=False, copy=False)
    token = _PLACEHOLDER.sql(dialect="duckdb")
    sub.set("this", _PLACEHOLDER.copy())
    try:
        outer_sql = outer.sql(dialect="duckdb", comments=False, copy=False)
    finally:
        sub.set("this", core)
    if outer_sql.count(token) != 1:
        raise RewriteRefused("the query could not be rewritten for the k rule")
    with_ = outer.args.get(WITH_KEY)
    prefix = with_.sql(dialect="duckdb", comments=False, copy=False) + " " if with_ is not None else ""
    counts = 'COALESCE(SUM(CASE WHEN "__aod_core"."__aod_ok" THEN 0 ELSE 1 END), 0) AS "dropped"'
    if certify:
        counts += f', COALESCE(MAX("__aod_core"."{UNDECIDED}"), 0) AS "undecided"'
    dropped = f'{prefix}SELECT {counts} FROM ({core_sql}) AS "{CORE}"'
    return outer_sql.replace(token, core_sql), dropped


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


def _reused_count(rep: exp.Expression, aggregates: list[exp.Expression]) -> exp.Expression | None:
    """The query's own count(DISTINCT <unit>), if it has one: the exact distinct count of the unit."""
    for agg in aggregates:
        if isinstance(agg, exp.Count) and isinstance(agg.this, exp.Distinct) \
                and len(agg.this.expressions) == 1 and agg.this.expressions[0] == rep:
            return agg
    return None


def unit_bound(rep: exp.Expression, k: int) -> exp.Expression:
    """A proven lower bound of count(DISTINCT unit), without a hash table of units: the number of
    bins hit by the units' hashes (each unit hits one bin). Enough 64-bin words that groups much
    larger than k are certified with near certainty."""
    hashed = unit_hash(rep)
    words = max(1, -(-2 * k // BITMAP_BITS))
    total: exp.Expression | None = None
    for w in range(words):
        bit = exp.BitwiseLeftShift(this=exp.Cast(this=exp.Literal.number(1), to=exp.DataType.build("UBIGINT", dialect="duckdb")),
                                   expression=exp.paren(exp.BitwiseAnd(this=hashed.copy(),
                                                                       expression=exp.Literal.number(63))))
        if words > 1:
            high = exp.BitwiseAnd(this=exp.paren(exp.BitwiseRightShift(this=hashed.copy(),
                                                                       expression=exp.Literal.number(6))),
                                  expression=exp.Literal.number(1023))
            word = exp.Mod(this=exp.paren(high), expression=exp.Literal.number(words))
            bit = exp.Case(ifs=[exp.If(this=exp.EQ(this=word, expression=exp.Literal.number(w)), true=bit)])
        popcount = exp.Cast(this=exp.Anonymous(this="bit_count", expressions=[exp.BitwiseOrAgg(this=bit)]),
                            to=exp.DataType.build("INT"))
        part = exp.Coalesce(this=popcount, expressions=[exp.Literal.number(0)])
        total = part if total is None else exp.Add(this=total, expression=part)
    return total


def certify_rule(bounds: list[tuple[exp.Expression, exp.Expression]], k: int) -> tuple[exp.Expression, exp.Expression]:
    """(released, undecided) from each unit's (lower bound, upper bound) of its distinct count.
    Released only when the bounds prove the k rule; undecided when some unit's bounds straddle k."""
    def lit() -> exp.Literal:
        return exp.Literal.number(k)
    if len(bounds) == 1:
        released = exp.GTE(this=bounds[0][0].copy(), expression=lit())
    else:
        parts = [exp.or_(exp.EQ(this=hi.copy(), expression=exp.Literal.number(0)),
                         exp.GTE(this=lo.copy(), expression=lit())) for lo, hi in bounds]
        parts.append(exp.or_(*[exp.GTE(this=lo.copy(), expression=lit()) for lo, _ in bounds]))
        released = exp.and_(*parts)
    undecided = exp.or_(*[exp.and_(exp.LT(this=lo.copy(), expression=lit()), exp.GTE(this=hi.copy(), expression=lit()))
                          for lo, hi in bounds])
    return released, undecided


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


def gate(plan: SelectPlan, disclosure: Disclosure, select: exp.Select | None = None,
         certify: bool = False) -> exp.Select:
    select = plan.select if select is None else select
    group = select.args.get("group")
    lifter = _Lifter(list(group.expressions) if group else [], disclosure)
    projections = [_lift_projection(p, lifter) for p in select.expressions]
    rewritten = {key: _lift_clause(select.args.get(key), lifter) for key in ("order", "qualify")}
    outputs = {p.alias_or_name.lower() for p in projections}
    for node in projections + [v for v in rewritten.values() if v is not None]:
        _check_only_core_columns(node, outputs)
    core = _core_select(select, lifter, plan, disclosure, certify)
    outer = exp.Select(expressions=projections)
    hidden = (["__aod_dropped"] if plan.is_root else []) + ([UNDECIDED] if certify else [])
    for name in hidden:
        outer.append("expressions", exp.alias_(exp.column(name, table=CORE, quoted=True), name, quoted=True))
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


def _groups_failing(condition: exp.Expression) -> exp.Window:
    """How many groups of the core do not satisfy `condition` (NULL counts as not)."""
    return exp.Window(this=exp.Sum(this=exp.Case(
        ifs=[exp.If(this=condition.copy(), true=exp.Literal.number(0))], default=exp.Literal.number(1))))


def _groups_where(condition: exp.Expression) -> exp.Window:
    """How many groups of the core satisfy `condition`."""
    return exp.Window(this=exp.Sum(this=exp.Case(
        ifs=[exp.If(this=condition.copy(), true=exp.Literal.number(1))], default=exp.Literal.number(0))))


def _core_select(select: exp.Select, lifter: _Lifter, plan: SelectPlan, d: Disclosure,
                 certify: bool = False) -> exp.Select:
    expressions = [exp.alias_(key.copy(), f"__aod_g{i}", quoted=True) for i, key in enumerate(lifter.keys)]
    expressions += [exp.alias_(agg, f"__aod_a{j}", quoted=True) for j, agg in enumerate(lifter.aggregates)]
    reused = [_reused_count(rep, lifter.aggregates) for rep in plan.unit_reps]
    if certify:
        return _certifying_core(select, expressions, reused, plan, d)
    counts = [r.copy() if r is not None else exp.Count(this=exp.Distinct(expressions=[unit_hash(rep)]))
              for r, rep in zip(reused, plan.unit_reps)]
    ok = k_rule(counts, d.min_group_size)
    expressions.append(exp.alias_(ok.copy(), "__aod_ok", quoted=True))
    if plan.is_root:
        expressions.append(exp.alias_(_groups_failing(ok), "__aod_dropped", quoted=True))
    return _grouped(exp.Select(expressions=expressions), select)


def _certifying_core(select: exp.Select, expressions: list[exp.Expression], reused: list,
                     plan: SelectPlan, d: Disclosure) -> exp.Select:
    """SELECT *, <released> AS __aod_ok, <dropped>, <undecided> FROM (SELECT <keys>, <aggregates>,
    <lower bound> AS __aod_lbI, <rows with a unit> AS __aod_nI ... GROUP BY ...) AS __aod_bounds"""
    bounds = []
    for i, (r, rep) in enumerate(zip(reused, plan.unit_reps)):
        lo = r.copy() if r is not None else unit_bound(rep, d.min_group_size)
        hi = r.copy() if r is not None else exp.Count(this=unit_hash(rep))
        expressions += [exp.alias_(lo, f"__aod_lb{i}", quoted=True), exp.alias_(hi, f"__aod_n{i}", quoted=True)]
        bounds.append((exp.column(f"__aod_lb{i}", table=BOUNDS, quoted=True),
                       exp.column(f"__aod_n{i}", table=BOUNDS, quoted=True)))
    inner = _grouped(exp.Select(expressions=expressions), select)
    ok, undecided = certify_rule(bounds, d.min_group_size)
    core = exp.Select(expressions=[exp.Star(), exp.alias_(ok, "__aod_ok", quoted=True),
                                   exp.alias_(_groups_failing(ok), "__aod_dropped", quoted=True),
                                   exp.alias_(_groups_where(undecided), UNDECIDED, quoted=True)])
    core.set(FROM_KEY, exp.From(this=exp.Subquery(
        this=inner, alias=exp.TableAlias(this=exp.to_identifier(BOUNDS, quoted=True)))))
    return core


def _grouped(core: exp.Select, select: exp.Select) -> exp.Select:
    """`core` reading what `select` reads, grouped as it is."""
    for key in (FROM_KEY, "joins", "where", "group", "having"):
        if select.args.get(key) is not None:
            core.set(key, select.args[key])
    return core
