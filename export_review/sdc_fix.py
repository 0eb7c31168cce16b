"""Fixes offered by the disclosure rule: suppress small cells, or round counts.

Both return a new table; the operator resubmits it as a new version of the product."""

from __future__ import annotations

from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from export_review.checks.disclosure import MIN_COUNT, count_column
from export_review.errors import InvalidInput


def suppress_rows(table: pa.Table, rows: Iterable[int], columns: Iterable[str] | None = None) -> pa.Table:
    """Blank (null) the given cells: 1-based `rows` in `columns` (default: every numeric column)."""
    drop = {r - 1 for r in rows}
    names = list(columns) if columns is not None else [
        f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
    mask = pa.array([i in drop for i in range(table.num_rows)])
    for name in names:
        idx = table.column_names.index(name)
        col = table.column(name)
        table = table.set_column(idx, name, pc.if_else(mask, pa.scalar(None, col.type), col))
    return table


def suppress_small_cells(table: pa.Table, count: str | None = None, threshold: int = MIN_COUNT) -> pa.Table:
    """Null every numeric cell of rows whose count is below `threshold` (zeros kept)."""
    count = count or count_column(table)
    if count is None:
        raise InvalidInput("no count column to suppress on: name it with count=")
    values = table.column(count).to_pylist()
    return suppress_rows(table, [i + 1 for i, n in enumerate(values) if n is not None and 0 < n < threshold])


def round_counts(table: pa.Table, count: str | None = None, base: int = MIN_COUNT) -> pa.Table:
    """Round the count column to a multiple of `base` (counts below base/2 become 0)."""
    count = count or count_column(table)
    if count is None or base < 2:
        raise InvalidInput("round_counts needs a count column and a base of at least 2")
    col = table.column(count)
    rounded = pa.array([None if v is None else int(round(v / base)) * base for v in col.to_pylist()], col.type)
    return table.set_column(table.column_names.index(count), count, rounded)
