"""Keyed watermarks that identify the request (and so the operator) of a released file.

Tables (CSV, Parquet, JSON lines):
* Numeric scheme (tables with decimal columns). Each decimal cell gets one extra digit after
  the column's precision d: HMAC(key, the cell's visible value at precision d) mod 10. The change is below the published
  precision (< 10^-d). Every cell is keyed by its own visible value, so the mark survives
  column reordering, renaming or dropping, row reordering and row subsetting; a leaked copy
  is attributed by counting matching digits (binomial test; a wrong key matches 1 in 10).
  Rounding the leaked values back to d digits removes it (documented limit).
* Text scheme (tables without decimal columns, and text reports). One text cell per row
  (the one whose HMAC is smallest, so the choice does not depend on column order) gets an
  invisible suffix of zero-width characters carrying 8 bits of HMAC(key, the row's sorted
  visible cells). Survives column and row reordering and row subsetting.
Models (skops zip): a keyed tag in the zip comment.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from export_review.errors import ProductUnreadable

ZW = ("\u200b", "\u200c", "\u200d", "\u2060")      # two bits per character
ZW_SET = set(ZW)
MAX_DECIMALS = 6
TAG_PREFIX = b"aod-wm:"


@dataclass(frozen=True)
class Evidence:
    scheme: str
    matches: int
    marks: int
    chance: float = 0.5          # probability that one mark matches under a wrong key

    @property
    def p_value(self) -> float:
        """Chance that an unrelated key matches this well (one-sided binomial)."""
        if self.scheme == "tag":
            return 0.0 if self.matches else 1.0
        if self.marks == 0:
            return 1.0
        from scipy.stats import binom

        return float(binom.sf(self.matches - 1, self.marks, self.chance))


def _mac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


# -- numeric scheme ------------------------------------------------------------------------

def decimals(values: list) -> int:
    best = 0
    for v in values:
        if v is None or not math.isfinite(v):
            continue
        text = repr(float(v))
        if "e" in text:
            return MAX_DECIMALS
        best = max(best, len(text.split(".")[1].rstrip("0")))
    return min(best, MAX_DECIMALS)


def _visible(v: float, d: int) -> str:
    return f"{math.copysign(math.floor(abs(v) * 10 ** d + 1e-9) / 10 ** d, v):.{d}f}"


def _mark_value(v: float, d: int, key: bytes) -> float:
    base = round(v, d)
    digit = _mac(key, f"{base:.{d}f}")[0] % 10
    return round(math.copysign(abs(base) + digit / 10 ** (d + 1), v if base == 0 else base), d + 1)


def _float_columns(table: pa.Table) -> list[str]:
    return [f.name for f in table.schema if pa.types.is_floating(f.type)]


def mark_table(table: pa.Table, key: bytes) -> tuple[pa.Table, str]:
    marked = False
    for name in _float_columns(table):
        values = table.column(name).to_pylist()
        d = min(decimals(values), MAX_DECIMALS - 1)
        if d == 0:
            continue
        new = [None if v is None or not math.isfinite(v) else _mark_value(v, d, key) for v in values]
        table = table.set_column(table.column_names.index(name), name, pa.array(new, pa.float64()))
        marked = True
    if marked:
        return table, "numeric"
    return _mark_rows(table, key), "text"


def _read_numeric(table: pa.Table, key: bytes) -> Evidence:
    matches = marks = 0
    for name in _float_columns(table):
        values = [v for v in table.column(name).to_pylist() if v is not None and math.isfinite(v)]
        d = decimals(values)
        if d < 2:
            continue
        for v in values:
            digit = int(round(abs(v) * 10 ** d)) % 10
            marks += 1
            matches += int(digit == _mac(key, _visible(v, d - 1))[0] % 10)
    return Evidence("numeric", matches, marks, chance=0.1)


# -- text scheme ---------------------------------------------------------------------------

def _bits(mac: bytes) -> str:
    return "".join(ZW[(mac[0] >> s) & 3] for s in (0, 2, 4, 6))


def _strip(text: str) -> str:
    return "".join(c for c in text if c not in ZW_SET)


def _row_key(cells: list[str]) -> str:
    return "\x1f".join(sorted(cells))


def _mark_rows(table: pa.Table, key: bytes) -> pa.Table:
    texts = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    if not texts:
        return table
    rows = table.to_pylist()
    columns = {n: table.column(n).to_pylist() for n in texts}
    for i, row in enumerate(rows):
        cells = [str(v) for v in row.values() if v is not None]
        candidates = [n for n in texts if columns[n][i]]
        if not candidates:
            continue
        target = min(candidates, key=lambda n: _mac(key, columns[n][i]))
        columns[target][i] = columns[target][i] + _bits(_mac(key, _row_key(cells)))
    for n in texts:
        table = table.set_column(table.column_names.index(n), n, pa.array(columns[n], table.schema.field(n).type))
    return table


def _read_rows(rows: list[list[str]], key: bytes) -> Evidence:
    matches = marks = 0
    for cells in rows:
        suffix = next((c[len(_strip(c)):] for c in cells if c and c[-1:] in ZW_SET), None)
        if not suffix or len(suffix) < 4:
            continue
        expected = _bits(_mac(key, _row_key([_strip(c) for c in cells])))
        marks += 8
        matches += sum(2 - bin((ZW.index(a) ^ ZW.index(b))).count("1")
                       for a, b in zip(suffix[-4:], expected) if a in ZW_SET)
    return Evidence("text", matches, marks)


def _table_rows(table: pa.Table) -> list[list[str]]:
    return [[str(v) for v in row.values() if v is not None] for row in table.to_pylist()]


# -- files ---------------------------------------------------------------------------------

def mark_file(src: Path, dst: Path, key: bytes) -> str:
    """Write a watermarked copy of `src` to `dst`; returns the scheme used."""
    suffix = src.suffix.lower()
    if suffix in (".csv", ".parquet", ".jsonl", ".ndjson"):
        from export_review.product_io import read_table

        table, scheme = mark_table(read_table(src), key)
        _write_table(table, dst, suffix)
        return scheme
    if suffix in (".md", ".txt", ".markdown"):
        from export_review.product_io import read_text

        lines = read_text(src).splitlines()
        dst.write_text("\n".join(line + _bits(_mac(key, line)) if line.strip() else line
                                 for line in lines) + "\n", encoding="utf-8")
        return "text"
    if zipfile.is_zipfile(src):
        dst.write_bytes(src.read_bytes())
        with zipfile.ZipFile(dst, "a") as z:
            z.comment = TAG_PREFIX + _mac(key, "model").hex()[:32].encode()
        return "tag"
    raise ProductUnreadable(f"{src.name}: no watermark scheme for this format")


def _write_table(table: pa.Table, dst: Path, suffix: str) -> None:
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, dst)
    elif suffix == ".csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, dst)
    else:
        import json

        dst.write_text("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                               for r in table.to_pylist()), encoding="utf-8")


def read_evidence(path: Path, key: bytes) -> Evidence:
    """How well a (possibly altered) file carries the watermark of `key`."""
    suffix = path.suffix.lower()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            comment = z.comment
        return Evidence("tag", int(comment == TAG_PREFIX + _mac(key, "model").hex()[:32].encode()), 1)
    if suffix in (".md", ".txt", ".markdown"):
        from export_review.product_io import read_text

        return _read_rows([[line] for line in read_text(path).splitlines() if line.strip()], key)
    from export_review.product_io import read_table

    table = read_table(path)
    numeric = _read_numeric(table, key)
    return numeric if numeric.marks else _read_rows(_table_rows(table), key)
