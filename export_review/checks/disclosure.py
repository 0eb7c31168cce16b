"""Rule `disclosure`: statistical disclosure control of aggregate tables (ACRO's defaults).

* minimum cell count: every published cell aggregates at least 10 people;
* dominance (n=2, k=90 %): the two largest contributions make at most 90 % of a cell's total;
* p-ratio (10 %): the total minus the two largest contributions is at least 10 % of the largest
  (otherwise the second-largest contributor can estimate the largest too closely);
* zeros are flagged for review (a structural zero can disclose by absence).

With the product's declared aggregation (`metadata["aggregate"]`: dataset, group columns,
count/value columns and the raw column aggregated) every cell is recomputed from the raw data
inside the engine, so contributions are known. Without it, the table's count column is read
(`n`, `count`, `人数`, …) and only frequency rules can be decided: a magnitude column that is
not a rate then fails as undecidable. The fix offered is suppression or rounding
(`export_review.sdc_fix`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from export_review.checks._sql import product_key, q, raw_key
from export_review.checks.base import CheckContext, CheckResult, CheckStatus, Finding
from export_review.checks.product import product_tables_of
from export_review.errors import InvalidInput

RULE = "disclosure"
MIN_COUNT = 10
DOMINANCE_N, DOMINANCE_K = 2, 0.90
P_RATIO = 0.10
COUNT_NAMES = re.compile(r"^(n|cnt|count|counts|num|number|freq|frequency|people|persons|size|"
                         r"人数|数量|户数|样本量|频数|计数|人次)$|(_n|_count|_cnt|人数|数)$", re.I)
RATE_NAMES = re.compile(r"(rate|ratio|share|pct|percent|proportion|prop|率|比例|占比|比重)", re.I)


@dataclass(frozen=True)
class AggregateSpec:
    dataset: str
    group_by: Mapping[str, str]            # product column → raw column
    count_column: str | None = None        # product column with the cell counts
    value_column: str | None = None        # product column with a magnitude statistic
    value_source: str | None = None        # raw column aggregated into value_column
    statistic: str = "sum"                 # sum | mean | median | …
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "AggregateSpec":
        if not isinstance(data, Mapping) or not data.get("dataset") or not data.get("group_by"):
            raise InvalidInput("aggregate spec needs 'dataset' and 'group_by'")
        group = data["group_by"]
        group = {c: c for c in group} if isinstance(group, (list, tuple)) else dict(group)
        if bool(data.get("value_column")) != bool(data.get("value_source")):
            raise InvalidInput("aggregate spec: give both 'value_column' and 'value_source', or neither")
        return cls(str(data["dataset"]), group, data.get("count_column"), data.get("value_column"),
                   data.get("value_source"), str(data.get("statistic", "sum")))


def check(ctx: CheckContext) -> CheckResult:
    spec_data = ctx.product.metadata.get("aggregate")
    tables = product_tables_of(ctx)
    if spec_data is not None:
        spec = AggregateSpec.parse(spec_data)
        return CheckResult.of(RULE, recomputed_findings(ctx, spec, tables[0]) or [_ok()])
    if not tables:
        return CheckResult.of(RULE, [Finding("disclosure.no_table", "the product has no table: nothing "
                                             "to check for small cells", CheckStatus.PASSED)])
    findings = []
    for i, table in enumerate(tables):
        findings += table_findings(table, f"table {i + 1}" if len(tables) > 1 else "the table")
    return CheckResult.of(RULE, findings or [_ok()])


def _ok() -> Finding:
    return Finding("disclosure.ok", f"every cell aggregates at least {MIN_COUNT} people; no dominance "
                   "or p-ratio problem", CheckStatus.PASSED)


# -- without a declared aggregation: frequency rules on the count column --------------------

def count_column(table: pa.Table) -> str | None:
    for name in table.column_names:
        if COUNT_NAMES.search(name.strip()) and pa.types.is_integer(table.schema.field(name).type):
            return name
    return None


def table_findings(table: pa.Table, where: str) -> list[Finding]:
    count = count_column(table)
    if count is None:
        return [Finding("disclosure.no_count", f"{where} has no integer count column (n, count, 人数 …): "
                        "it is not recognisably an aggregate, so a reviewer must confirm that no row "
                        "describes fewer than 10 people", CheckStatus.NEEDS_REVIEW,
                        fix="add the number of people per row as a column named 'n', or declare the "
                        "aggregation in the product's metadata")]
    findings = frequency_findings(table.column(count).to_pylist(), count, where)
    for name in table.column_names:
        field_type = table.schema.field(name).type
        if name == count or not (pa.types.is_floating(field_type) or pa.types.is_integer(field_type)):
            continue
        if not _is_rate(table.column(name), name):
            findings.append(Finding(
                "disclosure.magnitude_undecided",
                f"cannot decide dominance and p-ratio for column {name!r} of {where}: it is a "
                "magnitude (not a rate) and the aggregation behind it was not declared",
                column=name, fix="declare the aggregation (dataset, group columns, value column and "
                "the raw column it aggregates) in the product's metadata"))
    return findings


def _is_rate(column, name: str) -> bool:
    if RATE_NAMES.search(name):
        return True
    lo, hi = pc.min(column).as_py(), pc.max(column).as_py()
    return lo is not None and 0 <= lo and hi <= 1 and pa.types.is_floating(column.type)


def frequency_findings(counts: list, column: str, where: str) -> list[Finding]:
    small = [i + 1 for i, n in enumerate(counts) if n is not None and 0 < n < MIN_COUNT]
    zeros = [i + 1 for i, n in enumerate(counts) if n == 0]
    out = []
    if small:
        out.append(_small_finding(small, column, where))
    if zeros:
        out.append(Finding("disclosure.zero", f"{len(zeros)} cells of {where} are zero (rows "
                           f"{_rows(zeros)}): a reviewer must confirm a zero does not disclose",
                           CheckStatus.NEEDS_REVIEW, column=column, rows=len(zeros),
                           details={"rows": zeros[:50]}))
    return out


def _rows(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")


def _small_finding(rows: list[int], column: str | None, where: str) -> Finding:
    return Finding(
        "disclosure.small_cells",
        f"{len(rows)} cells of {where} aggregate fewer than {MIN_COUNT} people (rows {_rows(rows)})",
        column=column, rows=len(rows), method=f"minimum cell count {MIN_COUNT}",
        fix=f"suppress those cells, merge their groups, or round counts to base {MIN_COUNT} "
            "(export_review.sdc_fix.suppress_small_cells / round_counts)",
        details={"rows": rows[:50]})


# -- with a declared aggregation: recompute every cell from raw data -------------------------

def recomputed_findings(ctx: CheckContext, spec: AggregateSpec, table: pa.Table) -> list[Finding]:
    con = ctx.cache["con"]
    ds = next((d for d in ctx.raw.datasets() if d.name == spec.dataset), None)
    if ds is None:
        return [Finding("disclosure.undecided", f"cannot decide: dataset {spec.dataset!r} of the "
                        "declared aggregation is not among the granted datasets")]
    types = {c[0]: c[1] for c in con.execute(f"DESCRIBE SELECT * FROM {q(ds.relation)}").fetchall()}
    missing = [c for c in [*spec.group_by.values(), spec.value_source] if c and c not in types]
    missing += [c for c in [*spec.group_by, spec.count_column, spec.value_column] if c and c not in table.column_names]
    if missing:
        return [Finding("disclosure.undecided", f"cannot decide: declared columns {missing} do not exist",
                        fix="correct the aggregation declared in the product's metadata")]
    cells = _cell_stats(con, ds, spec, types)
    return _judge_cells(cells, spec)


def _cell_stats(con, ds, spec: AggregateSpec, types) -> list[tuple]:
    unit = f"count(DISTINCT {q(ds.privacy_unit)})" if ds.privacy_unit and ds.privacy_unit in types else "count(*)"
    keys = [(p, r) for p, r in spec.group_by.items()]
    rk = ", ".join(f"{raw_key(q(r), types[r])} AS k{i}" for i, (_, r) in enumerate(keys))
    v = q(spec.value_source) if spec.value_source else "NULL"
    con.execute(f"CREATE OR REPLACE TEMP TABLE sdc_cells AS SELECT {rk}, {unit} AS n, "
                f"sum({v}) AS s, max({v}, 2) AS top FROM {q(ds.relation)} GROUP BY ALL")
    pk = ", ".join(f"{product_key(q(p), types[r])} AS k{i}" for i, (p, r) in enumerate(keys))
    count = q(spec.count_column) if spec.count_column else "NULL"
    value = q(spec.value_column) if spec.value_column else "NULL"
    on = " AND ".join(f"c.k{i} = p.k{i}" for i in range(len(keys)))
    return con.execute(
        f"SELECT p.__rid, c.n, c.s, c.top, p.cnt, p.val FROM (SELECT __rid, {pk}, {count} AS cnt, "
        f"{value} AS val FROM product) p LEFT JOIN sdc_cells c ON {on} ORDER BY p.__rid").fetchall()


def _judge_cells(cells: list[tuple], spec: AggregateSpec) -> list[Finding]:
    small, zeros, unmatched, dominated, pratio = [], [], [], [], []
    for rid, n, s, top, cnt, val in cells:
        if (spec.count_column and cnt is None) and (not spec.value_column or val is None):
            continue  # suppressed cell
        if n is None:
            (zeros if cnt == 0 else unmatched).append(rid)
            continue
        if n < MIN_COUNT or (cnt is not None and 0 < cnt < MIN_COUNT):
            small.append(rid)
        if spec.value_source and s and top:
            t1, t2 = (list(top) + [0, 0])[:2]
            if s > 0 and (t1 + t2) / s > DOMINANCE_K:
                dominated.append(rid)
            elif s - t1 - t2 < P_RATIO * abs(t1):
                pratio.append(rid)
    return _cell_findings(small, zeros, unmatched, dominated, pratio, spec)


def _cell_findings(small, zeros, unmatched, dominated, pratio, spec) -> list[Finding]:
    out = []
    if small:
        out.append(_small_finding(small, spec.count_column, "the table (recomputed from raw data)"))
    if zeros:
        out.append(Finding("disclosure.zero", f"{len(zeros)} cells are empty in the raw data (rows "
                           f"{_rows(zeros)})", CheckStatus.NEEDS_REVIEW, rows=len(zeros)))
    if unmatched:
        out.append(Finding("disclosure.undecided", f"cannot decide for {len(unmatched)} rows (rows "
                           f"{_rows(unmatched)}): their group values are not values of the declared "
                           "raw columns", rows=len(unmatched),
                           fix="declare the raw columns the groups come from, unchanged"))
    for code, rows, what in (("disclosure.dominance", dominated, f"the two largest contributions "
                              f"exceed {DOMINANCE_K:.0%} of the cell total (dominance n={DOMINANCE_N})"),
                             ("disclosure.p_ratio", pratio, "the rest of the cell is below "
                              f"{P_RATIO:.0%} of its largest contribution (p-ratio)")):
        if rows:
            out.append(Finding(code, f"{len(rows)} cells of column {spec.value_column!r}: {what} (rows "
                               f"{_rows(rows)})", column=spec.value_column, rows=len(rows),
                               fix="suppress those cells or merge their groups",
                               details={"rows": rows[:50]}))
    return out
