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


class RewriteRefused(Exception):
    """The query's shape does not allow the rewrite; the message is a reason for a person."""


UNDECIDED = "__aod_undecided"
BITMAP_BITS = 64


class Rewritten:
    def __init__(self, root: exp.Expression, dropped: exp.Expression | None,
                 exact_root: exp.Expression | None = None, exact_dropped: exp.Expression | None = None):
        self.root = root
        self.dropped = dropped  # SELECT the count of final groups that failed the k rule [, undecided]
        self.exact_root = exact_root        # set when `root` certifies: the exact version
        self.exact_dropped = exact_dropped


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
    return result or Rewritten(root, None)


def _gate_root(plan: SelectPlan, disclosure: Disclosure) -> Rewritten:
    exact = gate(plan, disclosure, select=plan.select.copy())
    if not _certifies(plan, exact):
        return Rewritten(exact, _dropped_query(exact))
    fast = gate(plan, disclosure, certify=True)
    return Rewritten(fast, _dropped_query(fast, certify=True), exact, _dropped_query(exact))


def _certifies(plan: SelectPlan, exact: exp.Select) -> bool:
    """A certifying version pays off unless every unit's count is one the query makes anyway."""
    aggregates = exact.args[FROM_KEY].this.this.expressions
    return any(_reused_count(rep, [a.this for a in aggregates]) is None for rep in plan.unit_reps)


def _dropped_query(outer: exp.Select, certify: bool = False) -> exp.Select:
    core = outer.args[FROM_KEY].this.copy()
    ok = exp.column("__aod_ok", table=CORE, quoted=True)
    failed = exp.Sum(this=exp.Case(ifs=[exp.If(this=ok, true=exp.Literal.number(0))],
                                   default=exp.Literal.number(1)))
    expressions = [exp.alias_(exp.Coalesce(this=failed, expressions=[exp.Literal.number(0)]), "dropped",
                              quoted=True)]
    if certify:
        undecided = exp.Max(this=exp.column(UNDECIDED, table=CORE, quoted=True))
        expressions.append(exp.alias_(exp.Coalesce(this=undecided, expressions=[exp.Literal.number(0)]),
                                      "undecided", quoted=True))
    query = exp.Select(expressions=expressions)
    query.set(FROM_KEY, exp.From(this=core))
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
    counts = [r.copy() if r is not None else exp.Count(this=exp.Distinct(expressions=[unit_hash(rep)]))
              for r, rep in zip(reused, plan.unit_reps)]
    undecided = None
    if certify:
        bounds = [(r.copy(), r.copy()) if r is not None else
                  (unit_bound(rep, d.min_group_size), exp.Count(this=unit_hash(rep)))
                  for r, rep in zip(reused, plan.unit_reps)]
        ok, undecided = certify_rule(bounds, d.min_group_size)
    else:
        ok = k_rule(counts, d.min_group_size)
    expressions.append(exp.alias_(ok.copy(), "__aod_ok", quoted=True))
    if plan.is_root:
        expressions.append(exp.alias_(_groups_failing(ok), "__aod_dropped", quoted=True))
    if undecided is not None:
        expressions.append(exp.alias_(_groups_where(undecided), UNDECIDED, quoted=True))
    core = exp.Select(expressions=expressions)
    for key in (FROM_KEY, "joins", "where", "group", "having"):
        if select.args.get(key) is not None:
            core.set(key, select.args[key])
    return core
