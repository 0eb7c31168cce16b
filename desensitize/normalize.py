"""Normalization of identifiers, in three equivalent forms: Python, DuckDB SQL and Arrow.

`normalize_identifier(s)`: full-width → half-width, ASCII letters upper-cased (so a trailing
`x` becomes `X`), spaces, dashes and dots used as separators (`·`) removed. The mapping is one
character table used by Python's `str.translate` and DuckDB's `translate()`, so the three
forms agree character for character (tested with Hypothesis).

`canonical_identifier(s, entity)` adds what one entity needs so that one person or company
always gets the same pseudonym: +86/0086 prefixes dropped from mobile numbers, 15-digit
resident ID numbers upgraded to 18 digits, e-mail addresses lower-cased.
"""

from __future__ import annotations

from typing import Optional

from .entities import Entity

# full-width characters that occur in identifiers: digits, letters and + @ . ( ) _ % /
_WIDE = [chr(c) for c in list(range(0xFF10, 0xFF1A)) + list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B))
         + [0xFF0B, 0xFF20, 0xFF0E, 0xFF08, 0xFF09, 0xFF3F, 0xFF05, 0xFF0F]]
_NARROW = [chr(ord(c) - 0xFEE0) for c in _WIDE]
_LOWER = [chr(c) for c in range(ord("a"), ord("z") + 1)]
SEPARATORS = (
    " \t\r\n\u00a0\u2002\u2003\u2009\u200b\u3000\ufeff"  # spaces
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"  # dashes
    "\u00b7\u2022\u30fb"  # middle dots (浙A·12345)
)


def _upper(ch: str) -> str:
    return ch.upper() if "a" <= ch <= "z" else ch


# normalize: full-width identifier characters and lower-case letters mapped, separators deleted
NORM_FROM = "".join(_WIDE) + "".join(_LOWER) + SEPARATORS
NORM_TO = "".join(_upper(c) for c in _NARROW) + "".join(c.upper() for c in _LOWER)
# half-width (free text, e-mail): full-width identifier characters mapped, ideographic
# space → space, full-width hyphen → hyphen; everything else (，：；…) left alone
HALF_FROM = "".join(_WIDE) + "\uff0d\u3000"
HALF_TO = "".join(_NARROW) + "- "

_WIDE_SET = frozenset(_WIDE)
# a value with none of these characters is already normalized
CHANGES = "".join(_WIDE) + "".join(_LOWER) + SEPARATORS
_WIDE_TO = {w: _upper(n) for w, n in zip(_WIDE, _NARROW)}
_NORM_TABLE = str.maketrans(NORM_FROM[: len(NORM_TO)], NORM_TO, NORM_FROM[len(NORM_TO):])
_HALF_TABLE = str.maketrans(HALF_FROM, HALF_TO)
# e-mail: ASCII letters lower-cased, RE2's \s removed
EMAIL_FROM = "".join(c.upper() for c in _LOWER) + "\t\n\f\r "
EMAIL_TO = "".join(_LOWER)
_EMAIL_TABLE = str.maketrans(EMAIL_FROM[:26], EMAIL_TO, EMAIL_FROM[26:])

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def sql_literal(text: str) -> str:
    """A DuckDB string literal (standard SQL quoting; backslashes are literal)."""
    return "'" + text.replace("'", "''") + "'"


def normalize_identifier(value: Optional[str]) -> Optional[str]:
    """Full-width → half-width, separators removed, ASCII upper-cased. None stays None."""
    if value is None:
        return None
    return str(value).translate(_NORM_TABLE)


def halfwidth(value: Optional[str]) -> Optional[str]:
    """Full-width identifier characters → ASCII; nothing removed (for free text and e-mail)."""
    if value is None:
        return None
    return str(value).translate(_HALF_TABLE)


def id_check_digit(body17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS)) % 11]


def canonical_identifier(value: Optional[str], entity: Optional[Entity] = None) -> Optional[str]:
    """The form that is pseudonymized: equal for equal identifiers, however they were typed."""
    if value is None:
        return None
    if entity == Entity.EMAIL:
        text = halfwidth(str(value)).translate(_EMAIL_TABLE)
        return text or None
    text = normalize_identifier(value)
    if not text:
        return None
    if entity == Entity.MOBILE:
        for prefix in ("+86", "0086", "86"):
            rest = text[len(prefix):]
            if text.startswith(prefix) and len(rest) == 11 and rest[0] == "1" and rest.isdigit():
                return rest
    elif entity == Entity.LANDLINE:
        text = text.replace("(", "").replace(")", "")
        for prefix in ("+86", "0086"):
            if text.startswith(prefix) and text[len(prefix):len(prefix) + 1] in set("123456789"):
                return "0" + text[len(prefix):]
    elif entity == Entity.RESIDENT_ID and len(text) == 15 and text.isdigit():
        body = text[:6] + "19" + text[6:]
        return body + id_check_digit(body)
    return text


# --- DuckDB SQL forms -------------------------------------------------------------------

def _class(chars: str) -> str:
    return "[" + "".join("\\" + c if c in "\\]^-[" else c for c in chars) + "]"


def normalize_steps(expr: str) -> list[str]:
    """`normalize_identifier` as SQL steps: each step's `{x}` is the previous step's value.

    Our own queries run them in stacked SELECTs (`transforms.Lets`); `normalize_sql` chains
    them with lambdas. Either way no expression is repeated inside another. DuckDB's
    translate() costs about 0.05 µs per character of its table per row, so each step only
    works on the rows that need it (full-width characters are rare).
    """
    first, *rest = _steps(None)
    return [first.replace("{x}", expr)] + rest


def dirty_sql(expr: str) -> str:
    """SQL: does `expr` have a character that `normalize_identifier` changes? (Most values
    do not, and then they are already normalized.)"""
    return f"regexp_matches({expr}, {sql_literal(_class(CHANGES))})"


def flagged_normalize_steps(dirty: str) -> list[str]:
    """`normalize_identifier` as SQL steps (`{x}` = the previous value) that leave a row alone
    unless the boolean SQL value `dirty` (`dirty_sql` of the input) is true.

    For stacked SELECTs (`transforms.Lets`): one regular-expression test per row, and only the
    few dirty rows pay for the steps. Several times cheaper than `normalize_sql`'s lambdas.
    """
    return _steps(dirty)


def _steps(dirty: str | None) -> list[str]:
    """The three normalisation steps (`{x}` = the previous value); with `dirty`, a row is left
    alone unless that boolean SQL value is true (the separator step then needs no test)."""
    wide, narrow = sql_literal("".join(_WIDE)), sql_literal(NORM_TO[: len(_WIDE)])
    seps = sql_literal(_class(SEPARATORS))
    lower, upper = sql_literal("".join(_LOWER)), sql_literal("".join(_LOWER).upper())
    guard = f"{dirty} AND " if dirty else ""
    return [
        f"CASE WHEN {guard}regexp_matches({{x}}, {sql_literal(_class(''.join(_WIDE)))}) "
        f"THEN translate({{x}}, {wide}, {narrow}) ELSE {{x}} END",
        f"CASE WHEN {dirty or f'regexp_matches({{x}}, {seps})'} "
        f"THEN regexp_replace({{x}}, {seps}, '', 'g') ELSE {{x}} END",
        f"CASE WHEN {guard}regexp_matches({{x}}, '[a-z]') THEN translate({{x}}, {lower}, {upper}) ELSE {{x}} END",
    ]


def chain_sql(expr: str, steps: list[str]) -> str:
    """Apply SQL steps (`{x}` = the previous value) to `expr` as one expression, binding each
    intermediate value once with a lambda: `list_transform([v], lambda x: …)[1]`."""
    out = expr
    for i, step in enumerate(steps):
        var = f"__x{i}"
        out = f"list_transform([{out}], lambda {var}: {step.replace('{x}', var)})[1]"
    return out


def normalize_sql(expr: str) -> str:
    """One SQL expression equal to `normalize_identifier(expr)` (usable in any DuckDB query)."""
    steps = normalize_steps("{x}")
    return chain_sql(expr, steps)


def halfwidth_sql(expr: str) -> str:
    """SQL expression equal to `halfwidth(expr)`; translate() only where there is work."""
    return (f"CASE WHEN regexp_matches({expr}, {sql_literal(_class(HALF_FROM))}) "
            f"THEN translate({expr}, {sql_literal(HALF_FROM)}, {sql_literal(HALF_TO)}) ELSE {expr} END")


def id_check_sql(body: str) -> str:
    """SQL for the check character of an 18-digit resident ID from its first 17 digits."""
    terms = " + ".join(f"TRY_CAST(substr({body}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('{ID_CHECK}', (({terms}) % 11) + 1, 1)"


def canonical_steps(entity: Optional[Entity]) -> list[str]:
    """canonical_identifier() of a normalized, non-empty value, as SQL steps (`{x}`: previous)."""
    if entity == Entity.MOBILE:
        return ["CASE WHEN length({x}) <= 11 THEN {x} "
                "WHEN regexp_full_match({x}, '(\\+86|0086|86)1[0-9]{{10}}') THEN right({x}, 11) ELSE {x} END"]
    if entity == Entity.LANDLINE:
        return ["replace(replace({x}, '(', ''), ')', '')",
                "CASE WHEN regexp_matches({x}, '^(\\+86|0086)[1-9]') "
                "THEN '0' || regexp_replace({x}, '^(\\+86|0086)', '') ELSE {x} END"]
    if entity == Entity.RESIDENT_ID:
        # 15 digits → ' ' + the 17-digit body (a space never survives normalization, so it
        # marks the rows to finish), then the body + its check character
        check = id_check_sql("substr({x}, 2)").replace("{", "{{").replace("}", "}}").replace("{{x}}", "{x}")
        return ["CASE WHEN length({x}) <> 15 THEN {x} WHEN regexp_full_match({x}, '[0-9]{{15}}') "
                "THEN ' ' || substr({x}, 1, 6) || '19' || substr({x}, 7, 9) ELSE {x} END",
                "CASE WHEN starts_with({x}, ' ') THEN substr({x}, 2) || " + check + " ELSE {x} END"]
    return []


def email_sql(expr: str) -> str:
    """canonical_identifier(expr, EMAIL) in SQL."""
    inner = f"translate({halfwidth_sql(expr)}, {sql_literal(EMAIL_FROM)}, {sql_literal(EMAIL_TO)})"
    return f"nullif({inner}, '')"


def canonical_sql(expr: str, entity: Optional[Entity] = None, *, normalized: bool = False) -> str:
    """One SQL expression equal to `canonical_identifier(expr, entity)` (NULL for empty).

    With `normalized=True`, `expr` is already `normalize_identifier`-ed (not for e-mail).
    """
    if entity == Entity.EMAIL:
        return email_sql(expr)
    n = f"nullif({expr if normalized else normalize_sql(expr)}, '')"
    steps = [s.format(x="{x}") for s in canonical_steps(entity)]
    return chain_sql(n, steps) if steps else n


def normalize_array(values, *, entity: Optional[Entity] = None, canonical: bool = False):
    """Vectorized `normalize_identifier` (or `canonical_identifier`) over an Arrow array.

    Arrow kernels do the common work (only rows with something to change are touched);
    DuckDB's translate() maps full-width characters in the rare rows that have them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = arr if isinstance(arr, pa.Array) else pa.array(list(arr), pa.string())
    if canonical and entity == Entity.EMAIL:
        from .sqlkit import run_on_array
        return run_on_array(arr, canonical_sql("v", entity))
    dirty = pc.fill_null(pc.match_substring_regex(arr, _class(CHANGES)), False)
    if pc.any(dirty).as_py():
        sub = arr.filter(dirty)
        sub = _narrow_array(sub)
        sub = pc.ascii_upper(pc.replace_substring_regex(sub, _class(SEPARATORS), ""))
        arr = pc.replace_with_mask(arr, dirty, sub)
    if canonical:
        from .sqlkit import run_on_array
        return run_on_array(arr, canonical_sql("v", entity, normalized=True))
    return arr


def _narrow_array(arr):
    """Full-width identifier characters → ASCII (upper-case letters), in Arrow: one pass per
    full-width character actually present, over the rows that have any."""
    import pyarrow.compute as pc

    wide = pc.fill_null(pc.match_substring_regex(arr, _class("".join(_WIDE))), False)
    if not pc.any(wide).as_py():
        return arr
    sub = arr.filter(wide)
    data = sub.buffers()[2].to_pybytes().decode("utf-8", errors="replace")
    for ch in sorted(set(data) & _WIDE_SET):
        sub = pc.replace_substring(sub, ch, _WIDE_TO[ch])
    return pc.replace_with_mask(arr, wide, sub)
