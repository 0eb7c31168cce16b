"""k-anonymity over quasi-identifiers by greedy full-domain generalization, then suppression;
l-diversity of sensitive attributes. Runs on a sample (small), in DuckDB.

Each quasi-identifier has a hierarchy of levels, applied to its already transformed value:
birth year → 5-year → 10-year → 20-year bands → *; region code 330106 → 330100 → 330000 → *;
district → city → province → *; numbers → ever wider bands → *; categories → rare values
(fewer than k rows) become 其他 → *. While too many rows sit in classes smaller than k, the
quasi-identifier with the most distinct values is raised one level (Datafly); the rows
still in small classes are then suppressed (removed), up to a budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import pyarrow as pa

from .entities import Entity
from .normalize import sql_literal
from .sqlkit import connect, query

STAR = "*"
OTHER = "其他"


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _year_band(width: int) -> Callable[[str, int], str]:
    def level(c: str, k: int) -> str:
        y = f"TRY_CAST(left(CAST({c} AS VARCHAR), 4) AS INTEGER)"
        lo = f"({y} // {width} * {width})"
        return f"CASE WHEN {y} IS NULL THEN '{STAR}' ELSE {lo}::VARCHAR || '-' || ({lo} + {width - 1})::VARCHAR END"
    return level


def _number_band(width: int) -> Callable[[str, int], str]:
    def level(c: str, k: int) -> str:
        x = f"TRY_CAST(regexp_extract(CAST({c} AS VARCHAR), '-?[0-9]+(\\.[0-9]+)?') AS DOUBLE)"
        lo = f"(floor({x} / {width}) * {width})::BIGINT"
        return f"CASE WHEN {x} IS NULL THEN '{STAR}' ELSE '[' || {lo}::VARCHAR || ',' || ({lo} + {width})::VARCHAR || ')' END"
    return level


def _prefix(keep: int, width: int) -> Callable[[str, int], str]:
    return lambda c, k: f"rpad(left(CAST({c} AS VARCHAR), {keep}), {width}, '0')"


def _extract(pattern: str) -> Callable[[str, int], str]:
    return lambda c, k: f"coalesce(nullif(regexp_extract(CAST({c} AS VARCHAR), {sql_literal(pattern)}, 1), ''), '{STAR}')"


def _rare_to_other(c: str, k: int) -> str:
    return f"CASE WHEN count(*) OVER (PARTITION BY {c}) < {k} THEN '{OTHER}' ELSE CAST({c} AS VARCHAR) END"


def _star(c: str, k: int) -> str:
    return f"'{STAR}'"


LEVELS: dict[Optional[Entity], list[tuple[str, Callable[[str, int], str]]]] = {
    Entity.BIRTH_DATE: [("5-year bands", _year_band(5)), ("10-year bands", _year_band(10)),
                        ("20-year bands", _year_band(20)), ("suppressed", _star)],
    Entity.AGE: [("10-year bands", _number_band(10)), ("20-year bands", _number_band(20)), ("suppressed", _star)],
    Entity.REGION: [("city (4 digits)", _prefix(4, 6)), ("province (2 digits)", _prefix(2, 6)),
                    ("suppressed", _star)],
    Entity.POSTCODE: [("2 digits", _prefix(2, 2)), ("suppressed", _star)],
    Entity.ADDRESS: [("city", _extract(r"^((?:.{2,7}?(?:省|自治区))?.{1,7}?市)")),
                     ("province", _extract(r"^(.{2,7}?(?:省|自治区))")), ("suppressed", _star)],
    None: [("rare values as 其他", _rare_to_other), ("suppressed", _star)],
}
NUMERIC = [("bands of 10", _number_band(10)), ("bands of 100", _number_band(100)),
           ("bands of 1000", _number_band(1000)), ("suppressed", _star)]


@dataclass(frozen=True)
class Quasi:
    column: str
    entity: Optional[Entity]
    numeric: bool = False

    @property
    def levels(self) -> list[tuple[str, Callable[[str, int], str]]]:
        if self.entity in LEVELS:
            return LEVELS[self.entity]
        return NUMERIC if self.numeric else LEVELS[None]


@dataclass(frozen=True)
class KResult:
    table: pa.Table
    k_reached: int
    suppressed: int
    levels: dict  # column → description of the level used ("as transformed" for level 0)
    l_diversity: dict  # sensitive column → l


def _levels_table(con, table: pa.Table, qis: list[Quasi], k: int) -> pa.Table:
    """The sample with, for every quasi-identifier, one column per level (q, q@1, q@2, …)."""
    sql = "SELECT * FROM __s"
    for q in qis:
        prev = _quote(q.column)
        for i, (_, level) in enumerate(q.levels, start=1):
            name = _quote(f"{q.column}@{i}")
            sql = f"SELECT *, {level(prev, k)} AS {name} FROM ({sql})"
            prev = name
    return query(con, sql, {"__s": table})


def _column_at(q: Quasi, level: int) -> str:
    return _quote(q.column if level == 0 else f"{q.column}@{level}")


def _small_rows(con, levels_table: pa.Table, qis: list[Quasi], levels: dict, k: int) -> int:
    cols = ", ".join(_column_at(q, levels[q.column]) for q in qis)
    out = query(con, f"SELECT coalesce(sum(n) FILTER (WHERE n < {k}), 0) FROM "
                     f"(SELECT count(*) AS n FROM __l GROUP BY {cols})", {"__l": levels_table})
    return int(out.column(0)[0].as_py() or 0)


def _distinct(con, levels_table: pa.Table, q: Quasi, level: int) -> int:
    out = query(con, f"SELECT count(DISTINCT {_column_at(q, level)}) FROM __l", {"__l": levels_table})
    return int(out.column(0)[0].as_py() or 0)


def anonymize(table: pa.Table, qis: list[Quasi], sensitive: list[str], *, k: int,
              max_suppression: float) -> KResult:
    """Datafly (Sweeney 1998): while more rows than the suppression budget sit in classes
    smaller than k, raise one level the quasi-identifier with the most distinct values;
    then suppress the rows still in small classes."""
    con = connect()
    try:
        levels = {q.column: 0 for q in qis}
        budget = int(max_suppression * table.num_rows)
        table = table.append_column("__i", pa.array(range(table.num_rows), pa.int64()))  # keeps row order
        lt = _levels_table(con, table, qis, k) if qis else table
        while qis and _small_rows(con, lt, qis, levels, k) > budget:
            open_qis = [q for q in qis if levels[q.column] < len(q.levels)]
            if not open_qis:
                break
            widest = max(open_qis, key=lambda q: (_distinct(con, lt, q, levels[q.column]), q.column))
            levels[widest.column] += 1
        return _finish(con, lt, table.column_names[:-1], qis, sensitive, k, levels)
    finally:
        con.close()


def _finish(con, lt: pa.Table, columns: list[str], qis: list[Quasi], sensitive: list[str], k: int,
            levels: dict) -> KResult:
    by_name = {q.column: q for q in qis}
    select = ", ".join(f"{_column_at(by_name[c], levels[c])} AS {_quote(c)}" if c in by_name else _quote(c)
                       for c in columns)
    sql = f"SELECT {select}, __i FROM __l"
    if qis:
        part = ", ".join(_quote(q.column) for q in qis)
        sql = f"SELECT *, count(*) OVER (PARTITION BY {part}) AS __n FROM ({sql})"
        sql = f"SELECT * EXCLUDE (__n) FROM ({sql}) WHERE __n >= {k}"
    out = query(con, f"SELECT * EXCLUDE (__i) FROM ({sql}) ORDER BY __i", {"__l": lt})
    described = {q.column: (q.levels[levels[q.column] - 1][0] if levels[q.column] else "as transformed") for q in qis}
    k_reached = _min_class(con, out, qis)
    l_div = {s: _l_diversity(con, out, qis, s) for s in sensitive}
    return KResult(out, k_reached, lt.num_rows - out.num_rows, described, l_div)


def _min_class(con, table: pa.Table, qis: list[Quasi]) -> int:
    if table.num_rows == 0:
        return 0
    if not qis:
        return table.num_rows
    part = ", ".join(_quote(q.column) for q in qis)
    out = query(con, f"SELECT min(n) FROM (SELECT count(*) AS n FROM __t GROUP BY {part})", {"__t": table})
    return int(out.column(0)[0].as_py())


def _l_diversity(con, table: pa.Table, qis: list[Quasi], column: str) -> int:
    """Distinct l-diversity: the fewest distinct values of `column` in any class."""
    if table.num_rows == 0:
        return 0
    group = f"GROUP BY {', '.join(_quote(q.column) for q in qis)}" if qis else ""
    out = query(con, f"SELECT min(n) FROM (SELECT count(DISTINCT {_quote(column)}) AS n FROM __t {group})",
                {"__t": table})
    return int(out.column(0)[0].as_py() or 0)
