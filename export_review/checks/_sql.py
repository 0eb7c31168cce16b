"""SQL helpers shared by the rules: quoting, value normalisation and the product's registration
in the engine connection. Values are compared as 64-bit hashes of their normal form, so joins
stay cheap and nothing but counts leaves the engine."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
           "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def is_numeric(dtype: str) -> bool:
    return str(dtype).upper().startswith(NUMERIC)


def is_fractional(dtype: str) -> bool:
    """A number type that holds fractions (its cells print with a point)."""
    return str(dtype).upper().startswith(("FLOAT", "DOUBLE", "REAL", "DECIMAL", "NUMERIC"))


def family(dtype: str) -> str:
    """The comparison family of a SQL type: number, date, timestamp or text."""
    t = str(dtype).upper()
    if is_numeric(t):
        return "number"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    return "text"


_CAST = {"number": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP"}


def raw_key(expr: str, dtype: str) -> str:
    """64-bit key of a raw value, cheap enough for millions of rows: numbers as doubles, dates
    and times as such, text as stored (re-typed identifiers are the shape scanner's part). NULL hashes to
    a constant here; product keys keep NULL as NULL, so a NULL never matches."""
    fam = family(dtype)
    if fam == "text":
        return f"hash(CAST({expr} AS VARCHAR))"
    return f"hash(CAST({expr} AS {_CAST[fam]}))"


def product_key(expr: str, raw_dtype: str) -> str:
    """The key of a product value in the family of the raw column it is compared with, so that
    42, 42.0 and '42' compare equal to a raw 42 and '2020-01-02' to a raw date."""
    fam = family(raw_dtype)
    if fam == "text":
        return _h(f"CAST({expr} AS VARCHAR)")
    return _h(f"TRY_CAST(CAST({expr} AS VARCHAR) AS {_CAST[fam]})")


def _h(value: str) -> str:
    """hash() that keeps NULL as NULL (DuckDB hashes NULL to a constant)."""
    return f"(CASE WHEN ({value}) IS NULL THEN NULL ELSE hash({value}) END)"


def columns_of(con, relation: str) -> list[tuple[str, str]]:
    """(name, type) of a relation's columns."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {q(relation)}").fetchall()
    return [(r[0], r[1]) for r in rows]


def safe_product_table(table: pa.Table) -> pa.Table:
    """The product with unique, non-empty column names (c1, c2 … where needed); types kept."""
    names, seen = [], set()
    for i, name in enumerate(table.column_names):
        name = str(name).strip() or f"c{i + 1}"
        while name in seen:
            name = f"{name}_{i + 1}"
        seen.add(name)
        names.append(name)
    table = table.rename_columns(names)
    fixed = []
    for col in table.columns:  # nested types are compared as their JSON text
        if pa.types.is_nested(col.type) or pa.types.is_dictionary(col.type):
            col = pc.cast(col, pa.string()) if pa.types.is_dictionary(col.type) else \
                pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())
        fixed.append(col)
    return pa.table(fixed, names=names)


def register_product(con, table: pa.Table, name: str = "product") -> list[tuple[str, str]]:
    con.register(f"{name}_arrow", safe_product_table(table))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS "
                f"SELECT row_number() OVER () AS __rid, * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    return [c for c in columns_of(con, name) if c[0] != "__rid"]
