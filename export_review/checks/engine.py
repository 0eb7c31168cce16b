"""Per-run engine state shared by the rules: the product's columns, a sample of its distinct
values (hashed) and a profile of each raw dataset's columns, each computed once per run."""

from __future__ import annotations

from export_review.checks._sql import columns_of, lit, q
from export_review.checks.base import CheckContext
from export_review.protocols import RawDataset


def product_columns(ctx: CheckContext) -> list[tuple[str, str]]:
    return ctx.cached("pcols", lambda: [c for c in columns_of(ctx.cache["con"], "product")
                                        if c[0] != "__rid"])


def product_sample(ctx: CheckContext) -> str:
    """Create `sample_long(pcol, v)`: up to `limits.sample_values` distinct values per product
    column, as text (a random sample when there are more)."""
    def make() -> str:
        con, n = ctx.cache["con"], int(ctx.limits.sample_values)
        parts = [f"SELECT * FROM (SELECT DISTINCT {lit(c)} AS pcol, CAST({q(c)} AS VARCHAR) AS v FROM product "
                 f"WHERE {q(c)} IS NOT NULL) USING SAMPLE reservoir({n} ROWS) REPEATABLE (7)"
                 for c, t in product_columns(ctx)]
        con.execute("CREATE OR REPLACE TEMP TABLE sample_long (pcol VARCHAR, v VARCHAR)")
        for part in parts:
            con.execute(f"INSERT INTO sample_long {part}")
        return "sample_long"
    return ctx.cached("sample_long", make)


def raw_profile(ctx: CheckContext, ds: RawDataset) -> dict[str, tuple[str, float]]:
    """{raw column: (type, approximate distinct ratio)} of one dataset, granted columns only."""
    def make() -> dict[str, tuple[str, float]]:
        con = ctx.cache["con"]
        types = dict(columns_of(con, ds.relation))
        cols = [c.name for c in ds.columns if c.name in types]
        if not cols:
            return {}
        exprs = ", ".join(f"approx_count_distinct({q(c)})" for c in cols)
        row = con.execute(f"SELECT count(*), {exprs} FROM {q(ds.relation)}").fetchall()[0]
        rows = max(row[0], 1)
        return {c: (types[c], min(1.0, d / rows)) for c, d in zip(cols, row[1:])}
    return ctx.cached(f"profile:{ds.name}", make)
