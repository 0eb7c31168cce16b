"""Canonical JSON (RFC 8785, JCS) for hashing and signing.

`rfc8785.dumps` is the reference. It is pure Python and slow (~200 µs for an event), so values
that need none of its special cases (no floats, integers within ±2^53, object keys inside the
Basic Multilingual Plane) are encoded with the standard library, whose output is byte-for-byte
the same for them: sorted keys, no whitespace, UTF-8, and the same escapes (`\\"`, `\\\\`,
`\\b \\f \\n \\r \\t`, other controls as lowercase `\\u00xx`). A property test checks the two
encoders agree.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1

_fast = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
quote = json.encoder.encode_basestring  # the C escaper json.dumps uses when ensure_ascii=False


def dumps(value: Any) -> bytes:
    """The RFC 8785 encoding of `value` (dicts, lists/tuples, str, int, float, bool, None)."""
    if _is_simple(value):
        return _fast(value).encode("utf-8")
    return rfc8785.dumps(_listify(value))


def dumps_str(value: Any) -> str:
    if _is_simple(value):
        return _fast(value)
    return rfc8785.dumps(_listify(value)).decode("utf-8")


def _is_simple(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and _bmp(k) and _is_simple(v) for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return all(_is_simple(v) for v in value)
    return False  # floats and anything else take the reference encoder


def _bmp(key: str) -> bool:
    return key.isascii() or max(map(ord, key)) <= 0xFFFF


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value
