"""Checks that a query result is harmless, and comparison with an unrestricted reference."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re

import pyarrow as pa

from tests.integration.sql import synthetic

IDENTIFIER_COLUMNS = {
    "population": ("id_number", "name", "mobile"),
    "enterprise": ("credit_code", "enterprise_name", "legal_rep_id"),
    "social_insurance": ("id_number", "credit_code"),
}
SMALL_GROUP_LABELS = {synthetic.TINY_DISTRICT[1], synthetic.TINY_INDUSTRY}
WINDOW = 8


def identifier_values(registers) -> set[str]:
    values: set[str] = set()
    for table, columns in IDENTIFIER_COLUMNS.items():
        data = registers.tables()[table]
        for column in columns:
            values.update(v for v in data.column(column).to_pylist() if v)
    return values


def fragments(values: set[str]) -> set[str]:
    """Every 8-character window of every identifier value (ID numbers, codes, names, phones)."""
    out: set[str] = set()
    for value in values:
        if len(value) < WINDOW:
            continue
        out.update(value[i:i + WINDOW] for i in range(len(value) - WINDOW + 1))
    return out


def _cell_texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (int, decimal.Decimal)) or (isinstance(value, float) and math.isfinite(value)):
        digits = re.sub(r"\D", "", str(int(value)))
        return [digits] if len(digits) >= WINDOW else []
    return [str(value)]


def leaks(table: pa.Table, identifier_set: set[str], fragment_set: set[str]) -> list[str]:
    """Descriptions (no values) of cells that hold or embed an identifier value."""
    found = []
    for name in table.column_names:
        for row, value in enumerate(table.column(name).to_pylist()):
            for text in _cell_texts(value):
                if text in identifier_set or any(text[i:i + WINDOW] in fragment_set
                                                 for i in range(max(0, len(text) - WINDOW + 1))):
                    found.append(f"{name} row {row}")
    return found


def small_group_rows(table: pa.Table) -> list[str]:
    found = []
    for name in table.column_names:
        for row, value in enumerate(table.column(name).to_pylist()):
            if isinstance(value, str) and value in SMALL_GROUP_LABELS:
                found.append(f"{name} row {row}")
    return found


def _norm(value):
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return round(value, 6) if abs(value) < 1e12 else float(f"{value:.9e}")
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def rows(table: pa.Table, ordered: bool) -> list[tuple]:
    out = [tuple(_norm(v) for v in row.values()) for row in table.to_pylist()]
    return out if ordered else sorted(out, key=repr)


def assert_same(actual: pa.Table, expected: pa.Table, ordered: bool, label: str = "") -> None:
    assert actual.num_columns == expected.num_columns, f"{label}: column count differs"
    got, want = rows(actual, ordered), rows(expected, ordered)
    assert len(got) == len(want), f"{label}: {len(got)} rows, reference has {len(want)}"
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            if isinstance(a, float) and isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6), f"{label}: {a} != {b}"
            else:
                assert a == b, f"{label}: value differs"
