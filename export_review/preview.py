"""A safe preview of a product for reviewers: its shape and per-column summaries, plus its
first rows (cells truncated) only when no automatic check failed. Never raw data: the product
is the operator's output, and a product that failed a check (raw rows, identifiers, …) shows
no values at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from export_review.errors import ExportReviewError
from export_review.product_io import TEXT_SUFFIXES, product_tables, read_text

MAX_ROWS = 20
MAX_CELL = 40
MAX_LINES = 40


@dataclass(frozen=True)
class Preview:
    kind: str
    summary: str
    columns: tuple[dict, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    lines: tuple[str, ...] = ()
    values_hidden: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def _cell(v: Any) -> str:
    text = "" if v is None else str(v)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _column(table: pa.Table, name: str) -> dict:
    col = table.column(name)
    info = {"name": name, "type": str(col.type), "nulls": col.null_count}
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        stats = pc.min_max(col)
        info.update(min=_cell(stats["min"].as_py()), max=_cell(stats["max"].as_py()))
    else:
        info["distinct"] = pc.count_distinct(col).as_py()
    return info


def preview(path: Path, kind: str, show_values: bool) -> Preview:
    path = Path(path)
    if kind == "model":
        from export_review.models import safe_format

        info = safe_format.inspect(path)
        return Preview(kind, f"{info.format} model file naming {len(info.types)} types",
                       columns=tuple({"name": t, "type": "type"} for t in info.types[:30]))
    try:
        tables = product_tables(path)
    except ExportReviewError as exc:
        return Preview(kind, "the product cannot be read", notes=(exc.diagnostics(),))
    lines: tuple[str, ...] = ()
    if path.suffix.lower() in TEXT_SUFFIXES and show_values:
        lines = tuple(_cell(line) if len(line) > 200 else line for line in read_text(path).splitlines()[:MAX_LINES])
    if not tables:
        return Preview(kind, "text without tables", lines=lines, values_hidden=not show_values)
    table = tables[0]
    rows = tuple(tuple(_cell(v) for v in r.values()) for r in table.slice(0, MAX_ROWS).to_pylist()) \
        if show_values else ()
    notes = () if show_values else ("values are hidden because an automatic check failed",)
    return Preview(kind, f"{table.num_rows} rows × {table.num_columns} columns"
                   + (f" (+{len(tables) - 1} more tables)" if len(tables) > 1 else ""),
                   columns=tuple(_column(table, n) for n in table.column_names) if show_values else
                   tuple({"name": n, "type": str(table.schema.field(n).type)} for n in table.column_names),
                   rows=rows, lines=lines, values_hidden=not show_values, notes=notes)
