"""Rule `identifiers`: raw identifier values of the granted datasets anywhere in the product,
and every identifier desensitize/ detects (whole cells, embedded in text, our own pseudonyms).

Inside the engine, every product cell (as text, dates skipped; a cell written as a number also
as the digit strings it can carry an identifier in, so 13812345678.0, 0.13812345678 and
1.3812345678e-07 all carry that phone number) is hashed into a set; each raw column classed
`direct_identifier` is scanned once against it. Only counts per column come out.
"""

from __future__ import annotations

import logging
import time

import pyarrow as pa

from export_review.checks._sql import family, is_fractional, lit, q
from export_review.checks.base import CheckContext, CheckResult, CheckStatus, Finding
from export_review.checks.engine import product_columns, raw_keys, text_key
from export_review.checks.product import product_table, product_text

log = logging.getLogger("aod.export_review.checks")
RULE = "identifiers"
_NUMBER = r"^[+-]?([0-9]*)(?:\.([0-9]*))?(?:[eE][+-]?[0-9]+)?$"
PSEUDONYM = "AOD_PSEUDONYM"


def check(ctx: CheckContext) -> CheckResult:
    findings = raw_identifier_findings(ctx) + detected_findings(ctx)
    if not findings:
        findings = [Finding("identifiers.none", "no raw identifier value and no identifier-shaped "
                            "value found in the product", CheckStatus.PASSED)]
    return CheckResult.of(RULE, findings)


def _product_values(ctx: CheckContext) -> None:
    """`pv(pcol, h)`: distinct hashed text forms of every product cell, and of the digits of
    every cell written as a number (see `_number_forms`)."""
    con = ctx.cache["con"]
    parts = []
    for col, dtype in product_columns(ctx):
        if family(dtype) in ("date", "timestamp"):
            continue  # no identifier is a date
        text = f"CAST({q(col)} AS VARCHAR)"
        parts.append(f"SELECT {lit(col)} AS pcol, hash({text}) AS h FROM product WHERE {q(col)} IS NOT NULL")
        parts.append(_number_forms(col, text))
    if not parts:
        con.execute("CREATE OR REPLACE TEMP TABLE pv (pcol VARCHAR, h UBIGINT)")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE pv AS SELECT DISTINCT pcol, h FROM ({' UNION ALL '.join(parts)})")


def _number_forms(col: str, text: str) -> str:
    """Hashes of the digit strings a number written in a cell can carry an identifier in: its
    integer part, its fraction digits, all its digits, and all its digits without leading zeros.
    13812345678.0, 0.13812345678, 1.3812345678e-07, 0.0013812345678 and '138.12345678' all
    carry the phone number 13812345678 (a float, a DECIMAL or text alike)."""
    number = lit(_NUMBER)
    parts = (f"SELECT regexp_extract(t, {number}, 1) AS i, regexp_extract(t, {number}, 2) AS f FROM "
             f"(SELECT {text} AS t FROM product WHERE {q(col)} IS NOT NULL) "
             f"WHERE regexp_matches(t, {number}) AND regexp_matches(t, '[0-9]')")
    return (f"SELECT {lit(col)} AS pcol, hash(v) AS h FROM "
            f"(SELECT unnest([i, f, i || f, ltrim(i || f, '0')]) AS v FROM ({parts})) WHERE v <> ''")


def raw_identifier_findings(ctx: CheckContext) -> list[Finding]:
    ctx.cached("pv", lambda: _product_values(ctx))
    con, findings = ctx.cache["con"], []
    for ds in ctx.raw.datasets():
        table, keys = raw_keys(ctx, ds)
        for col in ds.columns:
            if not col.is_identifier or col.name not in keys:
                continue
            ctx.check_time()
            rows = con.execute(
                f"SELECT pv.pcol, count(DISTINCT pv.h) FROM pv SEMI JOIN {table} r ON r.{text_key(keys, col.name)} = pv.h "
                f"GROUP BY pv.pcol ORDER BY 1").fetchall()
            findings += [_raw_finding(ds.name, col, pcol, n) for pcol, n in rows]
    return findings


def _raw_finding(dataset: str, col, pcol: str, n: int) -> Finding:
    entity = col.entity or "identifier"
    return Finding(
        "identifiers.raw_value",
        f"column {pcol!r} holds {n} distinct values of the raw identifier {dataset}.{col.name} "
        f"({entity}). Identifiers never leave the domain: drop the column or aggregate over it.",
        column=pcol, rows=n, entity=entity, source=f"{dataset}.{col.name}",
        method="exact match of values as text, inside the engine",
        fix=f"remove column {pcol!r}",
    )


SCAN_VALUES = 50_000  # distinct values per column given to the shape scanner


def detected_findings(ctx: CheckContext) -> list[Finding]:
    """desensitize.scan_table over each column's distinct values (all of them up to
    SCAN_VALUES, a random sample beyond: exact raw identifiers are matched exhaustively above)."""
    try:
        from desensitize import scan_table, scan_values
    except (ImportError, AttributeError):
        return [Finding("identifiers.scanner_missing", "cannot decide: the identifier scanner "
                        "(desensitize.scan_table) is not available in this installation",
                        fix="install the complete aod package")]
    timeout = max(1.0, ctx.deadline - time.monotonic()) if ctx.deadline != float("inf") else None
    found = []
    for column, values, total in _distinct_columns(ctx):
        ctx.check_time()
        sampled = total > len(values)
        found += [(f, sampled, total) for f in scan_table(pa.table({column: values}), timeout=timeout)]
    text = product_text(ctx)
    if text:  # a report's prose, line by line
        found += [(f, False, 0) for f in scan_values([l for l in text.splitlines() if l.strip()], timeout=timeout)]
    return [_scan_finding(f, sampled, total) for f, sampled, total in found]


def _distinct_columns(ctx: CheckContext):
    con = ctx.cache["con"]
    for col, dtype in product_columns(ctx):
        if family(dtype) in ("date", "timestamp"):
            continue
        total = con.execute(f"SELECT count(DISTINCT {q(col)}) FROM product").fetchall()[0][0]
        # numbers with a fraction reach the scanner as numbers: it reads them by their integer
        # part, so an average's fraction digits are not taken for a phone number in text
        value = q(col) if is_fractional(dtype) else f"CAST({q(col)} AS VARCHAR)"
        distinct = f"SELECT DISTINCT {value} AS v FROM product WHERE {q(col)} IS NOT NULL"
        if total > SCAN_VALUES:
            distinct = f"SELECT v FROM ({distinct}) USING SAMPLE reservoir({SCAN_VALUES} ROWS) REPEATABLE (11)"
        rows = con.sql(distinct).to_arrow_table()
        yield col, rows.column("v").combine_chunks(), total


def _scan_finding(found, sampled: bool = False, total: int = 0) -> Finding:
    column = getattr(found, "column", None)
    entity = str(getattr(getattr(found, "entity", None), "value", getattr(found, "entity", "identifier")))
    rows = getattr(found, "rows", None) or getattr(found, "count", None)
    where = "embedded in text" if getattr(found, "mode", "cell") == "text" else "as whole values"
    column = column if column is not None else "(report text)"
    if entity == PSEUDONYM:
        message = (f"column {column!r} holds pseudonyms made with the domain's secret (HMAC). They "
                   "are fine inside the domain but never exportable: the domain can link them back "
                   "to people.")
    else:
        scope = f" (in a sample of {SCAN_VALUES} of its {total} distinct values)" if sampled else ""
        message = (f"column {column!r} holds {rows if rows is not None else 'some'} distinct {entity} values "
                   f"{where}{scope}. Remove or aggregate the column; identifiers never leave the domain.")
    return Finding("identifiers.detected", message, column=column, rows=rows, entity=entity,
                   method=f"desensitize.scan_table: {getattr(found, 'method', 'pattern and checksum')}",
                   fix=f"remove or aggregate {column!r}")
