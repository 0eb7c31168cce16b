"""The transforms, one registry: each turns a column into a DuckDB SQL expression.

Every transform validates its parameters (`check`), says what type it produces, and builds
one SQL expression over the column; `apply` puts all expressions in one SELECT per batch, so
the whole file is transformed column-at-a-time by DuckDB, with no Python per row. Random
numbers (bounded noise, per-row date shifts) come from numpy, seeded from the dataset secret,
as extra columns of the batch.

| transform    | parameters                                      | output                         |
|--------------|-------------------------------------------------|--------------------------------|
| keep         | –                                               | the value unchanged            |
| suppress     | –                                               | NULL                           |
| mask         | keep_first, keep_last, char                     | 138****5678                    |
| pseudonymize | –                                               | ps_ + 32 hex (keyed HMAC)      |
| generalize   | to: year, month, age_band(width, as_of),        | 1990 / 30-39 / 330100 /        |
|              | region(digits), district, city, province,      | 浙江省杭州市西湖区 / [5000,6000) |
|              | band(width), prefix(chars)                      |                                |
| date_shift   | days, by: dataset / row / <key column>          | date ± up to `days`            |
| noise        | bound or relative, decimals                     | number ± bounded noise         |
| scrub        | –                                               | text with identifiers tagged   |
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable, Optional

from .checks import DATE_FORMATS
from .entities import ColumnClass, Entity
from .errors import PlanError
from .normalize import canonical_steps, dirty_sql, email_sql, flagged_normalize_steps, halfwidth_sql, sql_literal
from .patterns import scrub_passes
from .pseudonym import PSEUDONYM_HEX, PSEUDONYM_PREFIX, hmac_sql

VARCHAR, DOUBLE, KEEP_TYPE = "VARCHAR", "DOUBLE", None


class Lets:
    """Stacked SELECTs: each `let` value is computed once per row, in the level after the
    values it uses, so no SQL expression is ever repeated inside another (DuckDB would
    evaluate every copy). Aliases start with a prefix no column name starts with, so a
    column may be referenced at any level."""

    def __init__(self, columns: tuple[str, ...] = ()) -> None:
        self.levels: list[list[tuple[str, str]]] = []
        self.depth: dict[str, int] = {}
        self.memo: dict[tuple, str] = {}
        self.prefix = "__t"
        while any(str(c).lower().startswith(self.prefix) for c in columns):
            self.prefix += "_"

    def let(self, expr: str, *deps: str) -> str:
        level = 1 + max((self.depth.get(d, 0) for d in deps), default=0)
        alias = f"{self.prefix}{len(self.depth)}"
        while len(self.levels) < level:
            self.levels.append([])
        self.levels[level - 1].append((alias, expr))
        self.depth[alias] = level
        return alias

    def once(self, key: tuple, make: Callable[[], str]) -> str:
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    def source(self, table: str) -> str:
        src = table
        for level in self.levels:
            src = f"(SELECT *, {', '.join(f'{e} AS {a}' for a, e in level)} FROM {src})"
        return src


@dataclass
class Context:
    """What a transform's SQL may use: shared per-row values (normalized, canonical, parsed
    date or number of a column), other columns, and per-row noise columns."""

    lets: Lets
    column_sql: Callable[[str], str]  # column name → quoted reference
    shift_days: int = 0  # the dataset-level date shift (derived from the secret)
    noise_column: Callable[[str], str] = field(default=lambda name: "NULL")
    column_type: Callable[[str], object] = field(default=lambda c: None)  # quoted column → Arrow type

    @staticmethod
    def raw(c: str) -> str:
        return f"CAST({c} AS VARCHAR)"

    def normalized(self, c: str) -> str:
        """normalize_identifier(c), NULL for empty. Values with nothing to change (the usual
        case) cost one regular-expression test; only the others go through the steps."""
        def make() -> str:
            raw = self.raw(c)
            dirty = self.lets.let(dirty_sql(raw))
            x = raw
            for step in flagged_normalize_steps(dirty):
                x = self.lets.let(step.replace("{x}", x), dirty, x)
            return self.lets.let(f"nullif({x}, '')", x)
        return self.lets.once(("n", c), make)

    def canonical(self, c: str, entity: Optional[Entity]) -> str:
        """canonical_identifier(c, entity), NULL for empty."""
        def make() -> str:
            if entity == Entity.EMAIL:
                return self.lets.let(email_sql(self.raw(c)))
            x = self.normalized(c)
            for step in canonical_steps(entity):
                x = self.lets.let(step.format(x=x), x)
            return x
        return self.lets.once(("c", c, entity), make)

    def halfwidth(self, c: str) -> str:
        return self.lets.once(("h", c), lambda: self.lets.let(halfwidth_sql(self.raw(c))))

    def date(self, c: str) -> str:
        """The column parsed as a date (NULL if it is none). A value DuckDB parses as it is
        (the usual case) costs one cast; only the others are made half-width, trimmed and
        tried against `DATE_FORMATS` (a value that parses as it is has no full-width
        characters, so both ways give the same date)."""
        def make() -> str:
            raw = self.raw(c)
            formats = "[" + ", ".join(sql_literal(f) for f in DATE_FORMATS) + "]"
            t = f"trim({halfwidth_sql(raw)})"
            slow = f"coalesce(TRY_CAST({t} AS DATE), try_strptime({t}, {formats})::DATE)"
            return self.lets.let(f"coalesce(TRY_CAST({raw} AS DATE), {slow})")
        return self.lets.once(("d", c), make)

    def number(self, c: str) -> str:
        """The column as a DOUBLE (NULL if it is no number). Integer and DOUBLE columns are
        cast directly (the same value as through their text); text is made half-width,
        trimmed and stripped of thousands separators first."""
        if _is_exact_as_double(self.column_type(c)):
            return f"CAST({c} AS DOUBLE)"
        h = self.halfwidth(c)
        return self.lets.once(("x", c), lambda: self.lets.let(
            f"TRY_CAST(replace(trim({h}), ',', '') AS DOUBLE)", h))


def _is_exact_as_double(arrow_type) -> bool:
    """Integer and 64-bit float columns: CAST AS DOUBLE equals parsing their text (a 32-bit
    float's shortest text is not its value)."""
    import pyarrow as pa

    return arrow_type is not None and (pa.types.is_integer(arrow_type) or pa.types.is_float64(arrow_type))


@dataclass(frozen=True)
class Transform:
    name: str
    params: dict  # parameter → (type, default); default None means optional
    build: Callable[[str, dict, Optional[Entity], Context], str]
    output: Optional[str]  # SQL type of the output, None = the input's type
    direct_ok: bool  # may be used on a direct identifier
    needs_noise: bool = False
    # the same transform done in Arrow on a text column (`arrow_ok`), when that is cheaper
    arrow: Optional[Callable[[object, dict], object]] = None

    def check(self, column: str, params: dict, column_class: ColumnClass, entity: Optional[Entity]) -> dict:
        unknown = set(params) - set(self.params)
        if unknown:
            raise PlanError(f"column {column!r}: transform {self.name} has no parameter {sorted(unknown)[0]!r}")
        out = {}
        for key, (kind, default) in self.params.items():
            value = params.get(key, default)
            if value is not None and not isinstance(value, kind):
                raise PlanError(f"column {column!r}: parameter {key} of {self.name} must be {kind.__name__}")
            out[key] = value
        if column_class == ColumnClass.DIRECT_IDENTIFIER and not self.direct_ok:
            raise PlanError(f"column {column!r} is a direct identifier: transform {self.name} would expose it "
                            "(override the classification, with a reason, if it is not one)")
        CHECKS.get(self.name, lambda *a: None)(column, out, column_class, entity)
        if self.name == "generalize":  # keep only what the chosen level uses
            out = {k: v for k, v in out.items() if k == "to" or k in GENERALIZE_PARAMS[out["to"]]}
        return out


# --- builders: (quoted column, params, entity, context) → SQL expression ---------------------

def _keep(c, p, e, ctx):
    return c


def _suppress(c, p, e, ctx):
    return "NULL"


def _mask(c, p, e, ctx):
    n = ctx.canonical(c, e)  # so +86 138-1234-5678 masks like 13812345678
    first, last, ch = p["keep_first"], p["keep_last"], sql_literal(p["char"])
    tail = f" || right({n}, {last})" if last else ""
    return (f"CASE WHEN {n} IS NULL THEN NULL WHEN length({n}) <= {first + last} THEN repeat({ch}, length({n})) "
            f"ELSE left({n}, {first}) || repeat({ch}, length({n}) - {first + last}){tail} END")


def _pseudonymize(c, p, e, ctx):
    k = ctx.canonical(c, e)
    return f"CASE WHEN {k} IS NULL THEN NULL ELSE '{PSEUDONYM_PREFIX}' || left({hmac_sql(k)}, {PSEUDONYM_HEX}) END"


# Lazy dots: several times faster in RE2 than negated classes of Han characters. No capture
# group: RE2 finds a whole match with its DFA, about 3x faster than a submatch. The match is
# taken from the raw text and made half-width afterwards: half-width maps one character to
# one and never touches the Han characters the patterns look for, so this is the same as
# matching the half-width text, at the cost of translating a short prefix only.
_ADMIN = {
    "province": r"^(?:.{2,7}?(?:省|自治区)|(?:北京|天津|上海|重庆)市)",
    "city": r"^(?:.{2,7}?(?:省|自治区))?.{1,7}?市",
    "district": r"^(?:.{2,7}?(?:省|自治区))?(?:.{1,7}?市)?.{1,7}?(?:区|县|市|旗)",
}


def _generalize(c, p, e, ctx):
    to = p["to"]
    if to == "year":
        return f"CAST(year({ctx.date(c)}) AS VARCHAR)"
    if to == "month":
        return f"strftime({ctx.date(c)}, '%Y-%m')"
    if to == "age_band":
        age = ctx.lets.let(f"date_diff('year', {ctx.date(c)}, DATE '{p['as_of']}')", ctx.date(c))
        lo = f"(floor({age} / {p['width']}) * {p['width']})::BIGINT"
        return f"CASE WHEN {age} IS NULL OR {age} < 0 THEN NULL ELSE {lo} || '-' || ({lo} + {p['width'] - 1}) END"
    if to == "region":
        n = ctx.canonical(c, Entity.RESIDENT_ID)
        return f"CASE WHEN regexp_matches({n}, '^[0-9]{{6}}') THEN rpad(left({n}, {p['digits']}), 6, '0') END"
    if to in _ADMIN:
        found = ctx.lets.let(f"nullif(regexp_extract({ctx.raw(c)}, {sql_literal(_ADMIN[to])}), '')")
        return halfwidth_sql(found)
    if to == "band":
        x, w = ctx.number(c), p["width"]
        return f"CASE WHEN {x} IS NULL THEN NULL ELSE '[' || (floor({x} / {w}) * {w})::VARCHAR || ',' || " \
               f"(floor({x} / {w}) * {w} + {w})::VARCHAR || ')' END"
    if to == "prefix":
        return f"left({ctx.normalized(c)}, {p['chars']})"
    raise PlanError(f"generalize to {to!r} is not supported")


def _date_shift(c, p, e, ctx):
    days, by = p["days"], p["by"]
    if by == "dataset":
        offset = str(ctx.shift_days % (2 * days + 1) - days)
    elif by == "row":
        offset = f"CAST(round({ctx.noise_column('shift')} * {days}) AS INTEGER)"
    else:
        key = hmac_sql(ctx.canonical(ctx.column_sql(by), None))
        offset = f"(CAST(('0x' || left({key}, 8)) AS BIGINT) % {2 * days + 1} - {days})"
    return f"strftime({ctx.date(c)} + CAST({offset} AS INTEGER), '%Y-%m-%d')"


def _noise(c, p, e, ctx):
    u, x = ctx.noise_column("noise"), ctx.number(c)  # u is uniform in [-1, 1]
    noisy = f"{x} + {u} * {p['bound']}" if p.get("bound") is not None else f"{x} * (1 + {u} * {p['relative']})"
    return f"round({noisy}, {p['decimals']})" if p.get("decimals") is not None else noisy


def _scrub_arrow(values, p):
    """`_scrub` in Arrow: the same RE2 patterns and rewrites, every pass over every value
    (Arrow's per-value overhead is lower than a prefilter would save)."""
    import pyarrow.compute as pc

    for _prefilter, pattern, replacement in scrub_passes():
        values = pc.replace_substring_regex(values, pattern, replacement)
    return values


def arrow_ok(arrow_type) -> bool:
    """Columns an Arrow transform takes as they are: plain text (others go through SQL)."""
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _scrub(c, p, e, ctx):
    x = ctx.raw(c)
    for prefilter, pattern, replacement in scrub_passes():
        x = ctx.lets.let(f"CASE WHEN regexp_matches({x}, {sql_literal(prefilter)}) THEN "
                         f"regexp_replace({x}, {sql_literal(pattern)}, {sql_literal(replacement)}, 'g') ELSE {x} END",
                         *([x] if x in ctx.lets.depth else []))
    return x


# --- parameter checks -----------------------------------------------------------------------

def _check_mask(column, p, column_class, entity):
    if p["keep_first"] < 0 or p["keep_last"] < 0 or len(p["char"]) != 1:
        raise PlanError(f"column {column!r}: mask needs keep_first, keep_last >= 0 and a one-character char")
    if column_class == ColumnClass.DIRECT_IDENTIFIER and p["keep_first"] + p["keep_last"] > 7:
        raise PlanError(f"column {column!r}: a mask of a direct identifier may keep at most 7 characters")
    if entity == Entity.PERSON_NAME and column_class == ColumnClass.DIRECT_IDENTIFIER and \
            (p["keep_first"] > 1 or p["keep_last"] > 0):
        raise PlanError(f"column {column!r}: a name mask may keep the surname only (keep_first <= 1)")


GENERALIZE_PARAMS = {"year": (), "month": (), "age_band": ("width", "as_of"), "region": ("digits",),
                     "district": (), "city": (), "province": (), "band": ("width",), "prefix": ("chars",)}
GENERALIZE_TO = tuple(GENERALIZE_PARAMS)


def _check_generalize(column, p, column_class, entity):
    if p["to"] not in GENERALIZE_TO:
        raise PlanError(f"column {column!r}: generalize to must be one of {', '.join(GENERALIZE_TO)}")
    if p["to"] == "region" and p["digits"] not in (2, 4, 6):
        raise PlanError(f"column {column!r}: generalize to region needs digits 2, 4 or 6")
    if p["to"] in ("age_band", "band") and not (p["width"] or 0) > 0:
        raise PlanError(f"column {column!r}: generalize to {p['to']} needs a positive width")
    if p["to"] == "prefix" and not (p["chars"] or 0) > 0:
        raise PlanError(f"column {column!r}: generalize to prefix needs chars > 0")
    if p["to"] == "prefix" and column_class == ColumnClass.DIRECT_IDENTIFIER and p["chars"] > 6:
        raise PlanError(f"column {column!r}: a prefix of a direct identifier may keep at most 6 characters")
    if p["to"] == "age_band":
        try:
            _dt.date.fromisoformat(p["as_of"])
        except (TypeError, ValueError):
            raise PlanError(f"column {column!r}: age_band needs as_of, a date (YYYY-MM-DD)") from None


def _check_date_shift(column, p, column_class, entity):
    if not 0 < p["days"] <= 3650:
        raise PlanError(f"column {column!r}: date_shift days must be between 1 and 3650")


def _check_noise(column, p, column_class, entity):
    if (p.get("bound") is None) == (p.get("relative") is None):
        raise PlanError(f"column {column!r}: noise needs exactly one of bound or relative")
    if (p.get("bound") or 0) < 0 or not 0 <= (p.get("relative") or 0) <= 1:
        raise PlanError(f"column {column!r}: noise bound must be >= 0 and relative between 0 and 1")


CHECKS = {"mask": _check_mask, "generalize": _check_generalize, "date_shift": _check_date_shift,
          "noise": _check_noise}
_NUM = (int, float)
REGISTRY: dict[str, Transform] = {t.name: t for t in (
    Transform("keep", {}, _keep, KEEP_TYPE, direct_ok=False),
    Transform("suppress", {}, _suppress, VARCHAR, direct_ok=True),
    Transform("mask", {"keep_first": (int, 0), "keep_last": (int, 0), "char": (str, "*")}, _mask, VARCHAR, True),
    Transform("pseudonymize", {}, _pseudonymize, VARCHAR, direct_ok=True),
    Transform("generalize", {"to": (str, None), "width": (int, 10), "digits": (int, 6), "chars": (int, 3),
                             "as_of": (str, None)}, _generalize, VARCHAR, direct_ok=True),
    Transform("date_shift", {"days": (int, 30), "by": (str, "dataset")}, _date_shift, VARCHAR, direct_ok=False,
              needs_noise=True),
    Transform("noise", {"bound": (_NUM, None), "relative": (_NUM, None), "decimals": (int, None)}, _noise, DOUBLE,
              direct_ok=False, needs_noise=True),
    Transform("scrub", {}, _scrub, VARCHAR, direct_ok=True, arrow=_scrub_arrow),
)}


def get(name: str) -> Transform:
    try:
        return REGISTRY[name]
    except KeyError:
        raise PlanError(f"unknown transform {str(name)[:40]!r} (one of {', '.join(REGISTRY)})") from None
