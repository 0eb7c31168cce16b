"""The raw-value guard: an event must not carry a value shaped like a resident ID number or a
mobile number. Callers redact first; `append` and `outbox.enqueue` refuse (fail closed).

A match must be bounded by characters that are not ASCII letters or digits, so hashes, UUIDs
and other long alphanumeric tokens never trip it, while an ID number inside Chinese text does.
Full-width digits are normalised (NFKC) before matching. Integers are checked as well as
strings. The error names the field, never the value.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterator

from audit.errors import RawValueInEvent

_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9A-Za-z])"
)
_ANY = re.compile(_ID.pattern + "|" + _MOBILE.pattern)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_ok(candidate: str) -> bool:
    """ISO 7064 MOD 11-2 check character of an 18-character resident ID number."""
    total = sum(int(c) * w for c, w in zip(candidate[:17], _WEIGHTS))
    return _CHECK[total % 11] == candidate[17].upper()


def finding(text: str) -> str | None:
    """'resident ID number', 'mobile number' or None for one string."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if not _ANY.search(text):
        return None
    for match in _ID.finditer(text):
        if id_check_ok(match.group(1)):
            return "resident ID number"
    if _MOBILE.search(text):
        return "mobile number"
    return None


_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")


_DIGITS = bytes.maketrans(b"0123456789", b"\x01" * 10)
_RUN11 = b"\x01" * 11
_SPLIT = (b"\x01\x01\x01\x01-\x01\x01\x01\x01", b"\x01\x01\x01\x01 \x01\x01\x01\x01")


def might_hold_raw_value(json_text: str) -> bool:
    """One scan of an event's JSON text: False means no field can hold a raw value.
    A byte-level prefilter (a run of 11 digits, or 4+4 digits split by a space or dash)
    clears most events without the regex. Escapes (\\n, \\") become spaces so they keep
    their boundary role."""
    text = json_text
    if text.isascii():
        marked = text.encode("ascii").translate(_DIGITS)
        if _RUN11 not in marked and _SPLIT[0] not in marked and _SPLIT[1] not in marked:
            return False
    if "\\" in text:
        text = _ESCAPE.sub(" ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _ANY.search(text) is not None


def check_strings(fields: list[tuple[str, Any]]) -> None:
    """Raise `RawValueInEvent` naming the first field whose value looks like a raw value.

    `fields` is a list of (field path, value); values may be nested dicts/lists."""
    flat = list(_flatten(fields))
    joined = "\x00".join(text for _, text in flat)
    if not joined.isascii():
        joined = unicodedata.normalize("NFKC", joined)
    if not _ANY.search(joined):
        return
    for path, text in flat:
        kind = finding(text)
        if kind:
            raise RawValueInEvent(
                f"event field {path} holds a value shaped like a {kind}; "
                "redact it (or record a keyed hash) before auditing"
            )


def _flatten(fields) -> Iterator[tuple[str, str]]:
    for path, value in fields:
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, (int, float)):
            yield path, str(value)
        elif isinstance(value, dict):
            for i, (key, item) in enumerate(value.items()):
                label = _key_label(key, i)
                yield f"{path} key {label}", str(key)
                yield from _flatten([(f"{path}.{label}", item)])
        elif isinstance(value, (list, tuple)):
            yield from _flatten([(f"{path}[{i}]", item) for i, item in enumerate(value)])


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def _key_label(key: object, position: int) -> str:
    """A key as it may appear in an error: itself if it is a plain name, else its position."""
    text = str(key)
    if _PLAIN_KEY.fullmatch(text) and sum(c.isdigit() for c in text) < 7:
        return text
    return f"[key #{position + 1}]"
