"""Vectorized detection over Arrow arrays, in DuckDB: whole cells and identifiers in text.

- `cell_entities(values)`: the entity each whole cell is (priority order), or null.
- `text_candidates(values)`: identifiers embedded in text, one row per finding: the row
  number, the entity, and the normalized candidate (kept inside the process: callers
  aggregate; no value ever goes into a message).

A text candidate counts only if, validated as a whole value, it is the entity its pattern
was looking for: so a validated ID number found by the bank-card pattern is dropped (the
ID-number pattern reports it), which is the overlap priority rule.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .checks import birth_date_sql
from .entities import Entity
from .normalize import halfwidth_sql, normalize_array, sql_literal
from .patterns import sql_extract_regex, text_patterns
from .sqlkit import query, run_on_array, shared
from .vector import as_strings, cell_entities


@lru_cache(maxsize=1)
def _text_sql() -> str:
    parts = []
    for p in text_patterns():
        if p.presidio_only:
            continue
        pattern = sql_literal(sql_extract_regex(p))
        parts.append(f"SELECT r, '{p.entity.value}' AS want, '{p.name}' AS pattern, "
                     f"unnest(regexp_extract_all(h, {pattern}, 1)) AS cand FROM src")
    union = "\nUNION ALL\n".join(parts)
    src = (f"SELECT r, {halfwidth_sql('v')} AS h FROM (SELECT row_number() OVER () - 1 AS r, v FROM __text) "
           f"WHERE v IS NOT NULL")
    return f"WITH src AS ({src}) SELECT * FROM ({union}) ORDER BY r"


def text_candidates(values, *, timeout: Optional[float] = None) -> pa.Table:
    """Identifiers embedded in text, validated: table (row, entity, pattern, candidate) where
    `candidate` is the normalized identifier (kept in memory only, never in a message)."""
    arr = as_strings(values)
    found = query(shared(), _text_sql(), {"__text": pa.table({"v": arr})}, timeout=timeout)
    if not found.num_rows:
        return pa.table({"row": pa.array([], pa.int64()), "entity": pa.array([], pa.string()),
                         "pattern": pa.array([], pa.string()), "candidate": pa.array([], pa.string())})
    cand, want = found["cand"].combine_chunks(), found["want"].combine_chunks()
    is_birth = pc.equal(want, Entity.BIRTH_DATE.value)
    ok = pc.fill_null(pc.equal(cell_entities(cand), want), False)
    if pc.any(is_birth).as_py():
        births = pc.fill_null(run_on_array(cand, birth_date_sql("v")), False)
        ok = pc.if_else(is_birth, births, ok)
    kept = found.filter(ok)
    return pa.table({"row": kept["r"].cast(pa.int64()), "entity": kept["want"], "pattern": kept["pattern"],
                     "candidate": normalize_array(kept["cand"].combine_chunks())})
