"""The parsed product, cached per run: its table (data packages), tables and text (reports)."""

from __future__ import annotations

import pyarrow as pa

from export_review.checks.base import CheckContext, ProductKind
from export_review.errors import ProductUnreadable
from export_review.product_io import TEXT_SUFFIXES, product_tables, read_text


def product_tables_of(ctx: CheckContext) -> list[pa.Table]:
    return ctx.cached("tables", lambda: product_tables(ctx.product.path))


def product_text(ctx: CheckContext) -> str | None:
    if ctx.product.path.suffix.lower() not in TEXT_SUFFIXES:
        return None
    return ctx.cached("text", lambda: read_text(ctx.product.path))


def product_table(ctx: CheckContext) -> pa.Table:
    """One table standing for the product: the table, or a report's tables stacked as text."""
    def make() -> pa.Table:
        tables = product_tables_of(ctx)
        if ctx.product.kind == ProductKind.DATA_PACKAGE:
            if len(tables) != 1 or tables[0].num_columns == 0:
                raise ProductUnreadable("a data package must be one table with at least one column")
            return tables[0]
        if not tables:  # a report without tables: its lines are the values compared
            lines = [line for line in (product_text(ctx) or "").splitlines() if line.strip()]
            return pa.table({"line": pa.array(lines, pa.string())})
        return _stack(tables)
    return ctx.cached("table", make)


def _stack(tables: list[pa.Table]) -> pa.Table:
    width = max(t.num_columns for t in tables)
    cols: list[list] = [[] for _ in range(width)]
    for t in tables:
        data = [c.to_pylist() for c in t.columns] + [[None] * t.num_rows] * (width - t.num_columns)
        for i, values in enumerate(data):
            cols[i].extend(None if v is None else str(v) for v in values)
    return pa.table({f"c{i + 1}": pa.array(v, pa.string()) for i, v in enumerate(cols)})
