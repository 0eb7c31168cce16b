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
    """{raw column: (type, approximate distinct ratio)} of one dataset, granted columns only
    (counted on the key table, so the raw data is read once per run)."""
    def make() -> dict[str, tuple[str, float]]:
        con = ctx.cache["con"]
        types = _raw_types(ctx, ds)
        if not types:
            return {}
        table, keys = raw_keys(ctx, ds)
        exprs = ", ".join(f"approx_count_distinct({keys[c]})" for c in types)
        row = con.execute(f"SELECT count(*), {exprs} FROM {table}").fetchall()[0]
        rows = max(row[0], 1)
        return {c: (types[c], min(1.0, d / rows)) for c, d in zip(types, row[1:])}
    return ctx.cached(f"profile:{ds.name}", make)


def _raw_types(ctx: CheckContext, ds: RawDataset) -> dict[str, str]:
    types = dict(columns_of(ctx.cache["con"], ds.relation))
    return {c.name: types[c.name] for c in ds.columns if c.name in types}


def raw_keys(ctx: CheckContext, ds: RawDataset) -> tuple[str, dict[str, str]]:
    """Create, once per run, a table of the comparison keys of every granted column of `ds`
    (one scan of the raw data); returns (table, {column: key column}). Identifier columns that
    are not text also get their text key, as `t_<i>`."""
    from export_review.checks._sql import family, raw_key

    def make() -> tuple[str, dict[str, str]]:
        con = ctx.cache["con"]
        table = f"rk_{abs(hash(ds.name)) % 10**8}"
        keys, exprs = {}, []
        for i, (col, dtype) in enumerate(_raw_types(ctx, ds).items()):
            keys[col] = f"k_{i}"
            exprs.append(f"{raw_key(q(col), dtype)} AS k_{i}")
            if family(dtype) != "text" and ds.column(col).is_identifier:
                keys[f"text:{col}"] = f"t_{i}"
                exprs.append(f"hash(CAST({q(col)} AS VARCHAR)) AS t_{i}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {', '.join(exprs)} FROM {q(ds.relation)}")
        return table, keys
    return ctx.cached(f"rawkeys:{ds.name}", make)


def text_key(keys: dict[str, str], column: str) -> str:
    """The key column holding the hash of a raw column's text."""
    return keys.get(f"text:{column}", keys[column])
