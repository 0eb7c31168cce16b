"""DuckDB -> Spark SQL translation of a policy plan, with fixes for sqlglot's mis-transpiles.

Each fix below was found by running the same query on both engines over the same data
(tests/integration/sql/test_engine_parity.py):

- `regexp_replace` back-references: DuckDB writes `\\1`, Java regex wants `$1` (sqlglot keeps
  `\\1`, which Spark treats as a literal "1"); a literal `$` must become `\\$`.
- `regexp_extract` without a group: DuckDB returns the whole match (group 0), Spark defaults to
  group 1; the group is made explicit.
- QUALIFY with ORDER BY/LIMIT: sqlglot moves ORDER BY and LIMIT *inside* the subquery it builds
  for QUALIFY, so the limit applies before the filter; here the window is computed in an inner
  select and the filter, ORDER BY and LIMIT are applied outside, in that order.
- `dayofweek`: DuckDB counts Sunday = 0, Spark Sunday = 1.
- `date_diff`/`datediff` with a unit: DuckDB counts unit boundaries crossed, Spark counts whole
  units elapsed; only 'day' (where both agree) translates, other units are refused at
  translation time.
- `hash` (the k rule's 64-bit unit hash, never available to users) becomes `xxhash64`.
- The k rule's bitmap bit `CAST(1 AS UBIGINT) << (h & 63)`: Spark has no unsigned type; a
  BIGINT 1 shifted by an INT gives the same 64 bits (bit 63 is the sign, which `bit_or` and
  `bit_count` treat as any other bit).
- Table names are replaced by per-query view names, so concurrent queries on one shared Spark
  session never see each other's views.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from domain.sql.engines.base import PlanRejected
from domain.sql.lineage import FROM_KEY, WITH_KEY


def to_spark(sql: str, views: dict[str, str]) -> str:
    tree = sqlglot.parse_one(sql, read="duckdb")
    _rename_tables(tree, views)
    tree = tree.transform(_fix_node)
    for select in list(tree.find_all(exp.Select)):
        if select.args.get("qualify") is not None:
            fixed = _eliminate_qualify(select)
            if select is tree:
                tree = fixed
            else:
                select.replace(fixed)
    return tree.sql(dialect="spark", comments=False)


def _rename_tables(tree: exp.Expression, views: dict[str, str]) -> None:
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in ctes:
            continue
        if table.name not in views:
            raise PlanRejected(f"the plan reads a table without a view: {table.name}")
        alias = table.alias or table.name
        table.set("this", exp.to_identifier(views[table.name], quoted=True))
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))


def _fix_node(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.BitwiseLeftShift) and _is_unsigned_one(node.this):
        return exp.BitwiseLeftShift(this=exp.Cast(this=exp.Literal.number(1), to=exp.DataType.build("BIGINT")),
                                    expression=exp.Cast(this=node.expression.transform(_fix_node),
                                                        to=exp.DataType.build("INT")))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":  # the k rule's unit hash
        return exp.Anonymous(this="xxhash64", expressions=[e.copy() for e in node.expressions])
    if isinstance(node, exp.RegexpReplace):
        return _fix_regexp_replace(node)
    if isinstance(node, exp.RegexpExtract) and node.args.get("group") is None:
        node = node.copy()
        node.set("group", exp.Literal.number(0))
        return node
    if isinstance(node, exp.DayOfWeek):
        return exp.Sub(this=node.copy(), expression=exp.Literal.number(1))
    if isinstance(node, exp.DateDiff):
        unit = (node.text("unit") or "day").lower()
        if unit not in ("day", "days", "d"):
            raise PlanRejected("date_diff with a unit other than 'day' counts differently on Spark; use "
                               "date_diff('day', ...) or year()/month() arithmetic")
    return node


def _is_unsigned_one(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.UBIGINT) \
        and isinstance(node.this, exp.Literal) and node.this.this == "1"


def _fix_regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
    replacement = node.args.get("replacement")
    if not isinstance(replacement, exp.Literal) or not replacement.is_string:
        return node
    text = replacement.this
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append("$" + text[i + 1])
            i += 2
            continue
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1] if text[i + 1] != "$" else "\\$")
            i += 2
            continue
        out.append("\\$" if ch == "$" else ch)
        i += 1
    node = node.copy()
    node.set("replacement", exp.Literal.string("".join(out)))
    return node


def _eliminate_qualify(select: exp.Select) -> exp.Select:
    """SELECT a, b ... QUALIFY w ORDER BY o LIMIT n
    -> SELECT a, b FROM (SELECT a, b, w AS _aod_q, o AS _aod_oI ...) AS _aod_q
       WHERE _aod_q ORDER BY _aod_oI LIMIT n"""
    inner = select.copy()
    with_ = inner.args.pop(WITH_KEY, None)
    order, limit, offset, distinct = (inner.args.pop(k, None) for k in ("order", "limit", "offset", "distinct"))
    condition = inner.args.pop("qualify").this
    names = [p.alias_or_name for p in inner.expressions]
    inner.append("expressions", exp.alias_(condition, "_aod_q", quoted=True))
    ordered = []
    for i, item in enumerate(order.expressions if order else []):
        key = item.this
        if isinstance(key, exp.Column) and not key.table and key.name in names:
            ref = exp.column(key.name, table="_aod_t", quoted=True)
        else:
            inner.append("expressions", exp.alias_(key.copy(), f"_aod_o{i}", quoted=True))
            ref = exp.column(f"_aod_o{i}", table="_aod_t", quoted=True)
        item = item.copy()
        item.set("this", ref)
        ordered.append(item)
    outer = exp.Select(expressions=[exp.column(n, table="_aod_t", quoted=True) for n in names])
    outer.set(FROM_KEY, exp.From(this=exp.Subquery(
        this=inner, alias=exp.TableAlias(this=exp.to_identifier("_aod_t", quoted=True)))))
    outer.set("where", exp.Where(this=exp.column("_aod_q", table="_aod_t", quoted=True)))
    for key, value in (("order", exp.Order(expressions=ordered) if ordered else None),
                       ("limit", limit), ("offset", offset), ("distinct", distinct), (WITH_KEY, with_)):
        if value is not None:
            outer.set(key, value)
    return outer
