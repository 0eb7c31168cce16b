"""Rule `raw_rows`: product rows that equal or nearly equal rows of a granted raw dataset.

Matching is independent of column names, column order, row order and value types:

1. Column mapping. For every product column, a sample of its distinct values (as hashes of
   their normal form) is joined inside the engine with every raw column; a product column maps
   to the raw column that contains at least 80 % of its values (renamed columns are found).
2. Record linkage. With two or more mapped columns, product rows are joined to raw rows on a
   blocking key made of the most distinctive mapped columns (and on a second, disjoint key),
   and the mapped columns that agree are counted. A row agreeing on all mapped columns, or on
   all but one when there are three or more (a perturbed or dropped value), is a raw row.
   A sample with a column dropped simply maps one column fewer.
3. Verdict. Failed when at least 5 % of the product's rows (or 20 rows) are raw rows;
   needs review when any are; otherwise passed. Only counts come out of the engine.
"""

from __future__ import annotations

from export_review.checks._sql import lit, product_key, q
from export_review.checks.base import CheckContext, CheckResult, CheckStatus, Finding
from export_review.checks.engine import product_sample, raw_keys, raw_profile
from export_review.protocols import RawDataset

RULE = "raw_rows"
CONTAINMENT = 0.8
IDENTIFYING = 0.5          # a blocking key must single out about half of the raw rows
FAIL_SHARE = 0.05
FAIL_ROWS = 20


def check(ctx: CheckContext) -> CheckResult:
    con = ctx.cache["con"]
    total = con.execute("SELECT count(*) FROM product").fetchall()[0][0]
    findings = []
    for ds in ctx.raw.datasets():
        ctx.check_time()
        mapping = map_columns(ctx, ds)
        if len(mapping) < 2:
            continue
        matched = linked_rows(ctx, ds, mapping, total)
        if matched:
            findings.append(_finding(ds, mapping, matched, total))
    if not findings:
        findings.append(Finding("raw_rows.none", "no product row matches a row of the granted raw "
                                "datasets", CheckStatus.PASSED, rows=total))
    return CheckResult.of(RULE, findings)


def map_columns(ctx: CheckContext, ds: RawDataset) -> list[tuple[str, str]]:
    """[(product column, raw column)], best raw column per product column, each used once."""
    con = ctx.cache["con"]
    sample = product_sample(ctx)
    profile = raw_profile(ctx, ds)
    table, keys = raw_keys(ctx, ds)
    parts = [f"SELECT {lit(c)} AS rcol, s.pcol, count(DISTINCT s.v) AS hit FROM sample_long s "
             f"JOIN {table} r ON r.{keys[c]} = {product_key('s.v', t)} "
             f"GROUP BY s.pcol" for c, (t, _) in profile.items()]
    rows = con.execute(" UNION ALL ".join(parts)).fetchall() if parts else []
    sizes = dict(con.execute("SELECT pcol, count(*) FROM sample_long GROUP BY pcol").fetchall())
    scored = sorted(((hit / sizes[p], profile[r][1], p, r) for r, p, hit in rows
                     if sizes.get(p) and hit / sizes[p] >= CONTAINMENT), reverse=True)
    mapping, used_p, used_r = [], set(), set()
    for _, _, p, r in scored:
        if p not in used_p and r not in used_r:
            mapping.append((p, r))
            used_p.add(p)
            used_r.add(r)
    return mapping


def linked_rows(ctx: CheckContext, ds: RawDataset, mapping, total: int) -> int:
    """How many product rows agree with one raw row on all (or all but one) mapped columns."""
    con = ctx.cache["con"]
    profile = raw_profile(ctx, ds)
    ordered = sorted(mapping, key=lambda pr: -profile[pr[1]][1])
    keys = _blocking_keys(ctx, ds, ordered)
    if not keys:
        return 0
    m = len(ordered)
    need = m if m <= 2 else m - 1
    table, rkeys = raw_keys(ctx, ds)
    phash = ", ".join(f"{product_key(q(p), profile[r][0])} AS h{i}" for i, (p, r) in enumerate(ordered))
    rhash = ", ".join(f"{rkeys[r]} AS h{i}" for i, (_, r) in enumerate(ordered))
    con.execute(f"CREATE OR REPLACE TEMP TABLE pl AS SELECT __rid, {phash} FROM product")
    con.execute(f"CREATE OR REPLACE TEMP VIEW rl AS SELECT {rhash} FROM {table}")
    agree = " + ".join(f"CAST(p.h{i} = r.h{i} AS INTEGER)" for i in range(m))
    joins = []
    for key in keys:
        on = " AND ".join(f"p.h{i} = r.h{i}" for i in key)
        joins.append(f"SELECT p.__rid, {agree} AS a FROM pl p JOIN rl r ON {on}")
        sql = (f"SELECT count(*) FROM (SELECT __rid, max(a) AS a FROM ({' UNION ALL '.join(joins)}) "
               f"GROUP BY __rid) WHERE a >= {need}")
        ctx.check_time()
        matched = con.execute(sql).fetchall()[0][0]
        if matched >= max(FAIL_ROWS, FAIL_SHARE * total):  # enough to fail: the second key adds nothing
            return matched
    return matched


def _blocking_keys(ctx: CheckContext, ds: RawDataset, ordered) -> list[tuple[int, ...]]:
    """Up to two disjoint sets of column positions, each identifying enough raw rows."""
    con = ctx.cache["con"]
    profile = raw_profile(ctx, ds)
    rows = ctx.cached(f"rows:{ds.name}", lambda: con.execute(
        f"SELECT count(*) FROM {q(ds.relation)}").fetchall()[0][0])
    keys, free = [], list(range(len(ordered)))
    while free and len(keys) < 2:
        key: list[int] = []
        for i in free[:3]:
            key.append(i)
            table, rkeys = raw_keys(ctx, ds)
            cols = ", ".join(rkeys[ordered[j][1]] for j in key)
            distinct = profile[ordered[i][1]][1] * rows if len(key) == 1 else con.execute(
                f"SELECT approx_count_distinct(hash({cols})) FROM {table}").fetchall()[0][0]
            if rows and distinct / rows >= IDENTIFYING:
                break
        else:
            break
        keys.append(tuple(key))
        free = [i for i in free if i not in key]
    return keys


def _finding(ds: RawDataset, mapping, matched: int, total: int) -> Finding:
    share = matched / total if total else 0.0
    status = CheckStatus.FAILED if matched >= FAIL_ROWS or share >= FAIL_SHARE else CheckStatus.NEEDS_REVIEW
    renamed = [f"{p}→{r}" for p, r in mapping if p != r]
    return Finding(
        "raw_rows.matched",
        f"{matched} of {total} product rows ({share:.1%}) are rows of raw dataset {ds.name} "
        f"(matched on {len(mapping)} columns regardless of names, order and types). Raw data "
        "never leaves the domain: export aggregates (at least 10 people per cell) instead.",
        status, rows=matched, source=ds.name, method="record linkage on normalised values",
        fix="aggregate the rows, or remove the raw columns",
        details={"mapped_columns": [f"{p}={ds.name}.{r}" for p, r in mapping],
                 "renamed": renamed, "share": round(share, 4)},
    )
