"""Reading products: tables (CSV, Parquet, JSON lines) and text reports with Markdown tables.

A file that cannot be parsed raises `ProductUnreadable` with one line for a person."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyarrow as pa

from export_review.errors import ProductUnreadable

TABLE_SUFFIXES = {".csv", ".parquet", ".jsonl", ".ndjson"}
TEXT_SUFFIXES = {".md", ".txt", ".markdown"}
MAX_TEXT_BYTES = 20 * 1024 * 1024


def decode_text(data: bytes, what: str) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise ProductUnreadable(f"{what} contains NUL bytes: it is not a text file")
        return text.lstrip("\ufeff")
    raise ProductUnreadable(f"{what} is neither UTF-8 nor GB18030 text")


def read_table(path: Path) -> pa.Table:
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix == ".csv":
            return _read_csv(path.read_bytes(), path.name)
        if suffix in (".jsonl", ".ndjson"):
            import pyarrow.json as pj

            return pj.read_json(io.BytesIO(path.read_bytes()))
    except ProductUnreadable:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ProductUnreadable(f"{path.name} cannot be parsed as {suffix[1:]} ({type(exc).__name__})") from None
    raise ProductUnreadable(f"{path.name}: tables must be .csv, .parquet or .jsonl, not {suffix or 'no suffix'}")


def _read_csv(data: bytes, name: str) -> pa.Table:
    """CSV with inferred types, except that long digit strings (identifiers, codes, hex) stay
    text: as numbers they would lose digits or leading zeros."""
    import pyarrow.compute as pcmp
    import pyarrow.csv as pc

    text = decode_text(data, name)
    if not text.strip():
        raise ProductUnreadable(f"{name} is empty")
    encoded = text.encode("utf-8")
    table = pc.read_csv(io.BytesIO(encoded))
    textual = {}
    for field in table.schema:
        col = table.column(field.name)
        if (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)) and col.length() > col.null_count:
            biggest = pcmp.max(pcmp.abs(col)).as_py()
            if biggest >= (1e9 if pa.types.is_integer(field.type) else 1e15):
                textual[field.name] = pa.string()
    if not textual:
        return table
    return pc.read_csv(io.BytesIO(encoded), convert_options=pc.ConvertOptions(column_types=textual))


def read_text(path: Path) -> str:
    path = Path(path)
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise ProductUnreadable(f"{path.name} is larger than {MAX_TEXT_BYTES // 2**20} MiB")
    return decode_text(path.read_bytes(), path.name)


_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def markdown_tables(text: str) -> list[pa.Table]:
    """The pipe tables of a Markdown text, typed by pyarrow's CSV inference."""
    tables, block = [], []
    for line in text.splitlines() + [""]:
        if _ROW.match(line):
            block.append(line)
            continue
        if len(block) >= 2 and _RULE.match(block[1]):
            tables.append(_block_table(block))
        block = []
    return tables


def _block_table(block: list[str]) -> pa.Table:
    import csv
    import pyarrow.csv as pc

    rows = [[c.strip() for c in _ROW.match(line).group(1).split("|")] for line in block]
    header, body = rows[0], rows[2:]
    if any(len(r) != len(header) for r in body):
        raise ProductUnreadable("a Markdown table in the report has rows of different widths")
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *body])
    return pc.read_csv(io.BytesIO(buffer.getvalue().encode("utf-8")))


def product_tables(path: Path) -> list[pa.Table]:
    """Every table of a product: the table itself, or the Markdown tables of a report."""
    suffix = Path(path).suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return [read_table(path)]
    if suffix in TEXT_SUFFIXES:
        return markdown_tables(read_text(path))
    raise ProductUnreadable(f"{Path(path).name}: unsupported product format {suffix or '(none)'}")
