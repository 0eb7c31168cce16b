"""Validators for Chinese identifiers (the scalar reference), with one priority order.

Each identifier has a full-match shape (a regular expression valid for both Python's `regex`
and RE2) and, where the standard defines one, a check: ISO 7064 MOD 11-2 for resident ID
numbers, GB 32100 (and the embedded GB 11714 organisation code) for unified social credit
codes, Luhn for bank cards, a real birth date for ID numbers. `detect_value()` gives a value
at most one entity, in priority order; `vector.cell_entities()` is its vectorized twin and
the two agree (tested with Hypothesis).

Values are normalized first (`normalize.normalize_identifier`); e-mail addresses, names and
addresses are matched on the half-width form instead, since they keep their separators.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from pathlib import Path
from typing import Optional

import regex

from .entities import Entity
from .normalize import canonical_identifier, id_check_digit, normalize_identifier, sql_literal

PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
             "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
             "63", "64", "65", "71", "81", "82", "83")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
MIN_BIRTH = _dt.date(1900, 1, 1)

# full-match shapes over the normalized value (n) or the half-width value (h)
SHAPES: dict[str, str] = {
    "id18": r"[1-9][0-9]{16}[0-9X]",
    "id15": r"[1-9][0-9]{14}",
    "uscc": r"[1-9ANY][1-9][0-9]{6}[0-9A-HJ-NPQRTUWXY]{9}[0-9A-HJ-NPQRTUWXY]",
    "card": r"[345692][0-9]{12,18}",
    "mobile": r"1[3-9][0-9]{9}",
    "landline": r"0[1-9][0-9]{1,2}[2-9][0-9]{6,7}",
    "passport": r"(?:E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|[GDSP][0-9]{8})",
    "permit": r"(?:C[0-9]{8}|C[A-HJ-NP-Z][0-9]{7}|[HM][0-9]{8}(?:[0-9]{2})?|L[0-9]{8})",
    "plate": (f"[{PLATE_PROVINCES}][A-HJ-NP-Z](?:[A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9挂学警港澳]"
              r"|[DF][A-HJ-NP-Z0-9][0-9]{4}|[0-9]{5}[DF])"),
    "email": r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}",
    "ipv4": r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
    "ipv6": r"(?:[0-9A-F]{1,4}:){7}[0-9A-F]{1,4}|(?:[0-9A-F]{1,4}:){1,6}:(?:[0-9A-F]{1,4}(?::[0-9A-F]{1,4}){0,5})?",
    "pseudonym": r"PS_[0-9A-F]{32}",
    "address": (r"[\p{Han}]{2,}(?:省|市|自治区|区|县|旗|镇|乡)[\p{Han}0-9]*?"
                r"(?:路|街|大道|道|巷|弄|里|村|组|胡同)[0-9]+(?:号|弄|幢|栋|室|单元|组)[\p{Han}0-9\-]*"),
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")


@lru_cache(maxsize=1)
def surnames() -> tuple[str, ...]:
    text = (Path(__file__).parent / "data" / "surnames.txt").read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def name_shape() -> str:
    """Full-match shape of a Chinese personal name: a surname and one or two characters."""
    compound = [s for s in surnames() if len(s) == 2]
    single = "".join(s for s in surnames() if len(s) == 1)
    return f"(?:{'|'.join(compound)}|[{single}])" + r"[\p{Han}]{1,2}"


def shape(name: str) -> str:
    return name_shape() if name == "name" else SHAPES[name]


@lru_cache(maxsize=None)
def _compiled(name: str):
    return regex.compile(shape(name))


def _full(name: str, text: str) -> bool:
    return _compiled(name).fullmatch(text) is not None


def parse_date(text: str, fmt8: bool = True) -> Optional[_dt.date]:
    for fmt in DATE_FORMATS if fmt8 else DATE_FORMATS[:2]:
        try:
            return _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _birth_ok(yyyymmdd: str) -> bool:
    try:
        born = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return MIN_BIRTH <= born <= _dt.date.today()


# --- Python validators (over normalized text) ---------------------------------------------

def is_resident_id18(n: str) -> bool:
    return (_full("id18", n) and n[:2] in PROVINCES and _birth_ok(n[6:14])
            and id_check_digit(n[:17]) == n[17])


def is_resident_id15(n: str) -> bool:
    return _full("id15", n) and n[:2] in PROVINCES and _birth_ok("19" + n[6:12])


def is_resident_id(n: str) -> bool:
    return is_resident_id18(n) or is_resident_id15(n)


def _org_code_ok(code9: str) -> bool:
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in code9[:8]]
    check = 11 - sum(v * w for v, w in zip(values, ORG_WEIGHTS)) % 11
    return code9[8] == {10: "X", 11: "0"}.get(check, str(check))


def is_credit_code(n: str) -> bool:
    if not _full("uscc", n):
        return False
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(n, USCC_WEIGHTS))
    if USCC_ALPHABET[(31 - total % 31) % 31] != n[17]:
        return False
    return not n.isdigit() or _org_code_ok(n[8:17])


def luhn_ok(digits: str) -> bool:
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def is_bank_card(n: str) -> bool:
    return _full("card", n) and luhn_ok(n)


def is_mobile(value: str) -> bool:
    return _full("mobile", canonical_identifier(value, Entity.MOBILE) or "")


def is_landline(value: str) -> bool:
    return _full("landline", canonical_identifier(value, Entity.LANDLINE) or "")


def is_ip(n: str) -> bool:
    return _full("ipv4", n) or _full("ipv6", n)


def is_email(value: str) -> bool:
    return _full("email", canonical_identifier(value, Entity.EMAIL) or "")


def is_birth_date(h: str) -> bool:
    born = parse_date(h.strip())
    return born is not None and MIN_BIRTH <= born <= _dt.date.today()


def detect_value(value: Optional[str]) -> Optional[Entity]:
    """The one entity a whole value is (priority order), or None."""
    if value is None:
        return None
    n = normalize_identifier(value)
    if not n:
        return None
    for entity, test in _DETECTORS:
        if test(n, value):
            return entity
    return None


_DETECTORS = (
    (Entity.PSEUDONYM, lambda n, v: _full("pseudonym", n)),
    (Entity.RESIDENT_ID, lambda n, v: is_resident_id18(n)),
    (Entity.CREDIT_CODE, lambda n, v: is_credit_code(n)),
    (Entity.RESIDENT_ID, lambda n, v: is_resident_id15(n)),
    (Entity.BANK_CARD, lambda n, v: is_bank_card(n)),
    (Entity.MOBILE, lambda n, v: is_mobile(n)),
    (Entity.LANDLINE, lambda n, v: is_landline(n)),
    (Entity.PASSPORT, lambda n, v: _full("passport", n)),
    (Entity.HMT_PERMIT, lambda n, v: _full("permit", n)),
    (Entity.EMAIL, lambda n, v: is_email(v)),
    (Entity.IP_ADDRESS, lambda n, v: is_ip(n)),
    (Entity.PLATE, lambda n, v: _full("plate", n)),
    (Entity.PERSON_NAME, lambda n, v: _full("name", n)),
    (Entity.ADDRESS, lambda n, v: _full("address", n)),
)


def birth_date_sql(col: str) -> str:
    """SQL: is the cell a plausible date of birth (a date between 1900 and today)?"""
    fmts = "[" + ", ".join(sql_literal(f) for f in DATE_FORMATS) + "]"
    from .normalize import halfwidth_sql

    return (f"coalesce(try_strptime(trim({halfwidth_sql(col)}), {fmts})::DATE "
            f"BETWEEN DATE '{MIN_BIRTH}' AND current_date, false)")
