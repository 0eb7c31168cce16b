"""Reversible transforms, inverted on product values (never computed forward on raw values
except hashes, which cannot be inverted), and the shapes of hashes and ciphertext."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from typing import Callable, Iterable

# hex digest length → algorithm
DIGESTS = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
BYTE_DIGESTS = {16: "md5", 20: "sha1", 28: "sha224", 32: "sha256", 48: "sha384", 64: "sha512"}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_B64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_NUMBER = re.compile(r"^[-+]?[0-9.,%]+$")


def _hex(value: str) -> bytes | None:
    if len(value) % 2 or not _HEX.match(value):
        return None
    return bytes.fromhex(value)


def _b64(value: str) -> bytes | None:
    if len(value) < 4 or not _B64.match(value):
        return None
    try:
        return base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4),
                                validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() and text.strip() else None


def _shift(k: int) -> Callable[[str], str | None]:
    def undo(value: str) -> str | None:
        try:
            return "".join(chr(ord(c) - k) for c in value)
        except ValueError:
            return None
    return undo


def _digits(k: int) -> Callable[[str], str | None]:
    table = str.maketrans("0123456789", "".join(str((d - k) % 10) for d in range(10)))
    return lambda value: value.translate(table) if any(c.isdigit() for c in value) else None


_ROT13 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                       "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")

# name → inverse (product value → candidate raw value, or None)
INVERSES: dict[str, Callable[[str], str | None]] = {
    "hex": lambda v: _text(_hex(v)),
    "base64": lambda v: _text(_b64(v)),
    "reversed": lambda v: v[::-1] if len(v) > 1 else None,
    "rot13": lambda v: v.translate(_ROT13) if v.translate(_ROT13) != v else None,
    **{f"char shift {k:+d}": _shift(k) for k in (1, 2, 3, 4, 5, -1, -2, -3, -4, -5)},
    **{f"digit rotation {k}": _digits(k) for k in range(1, 10)},
}


MIN_DIGITS = 8  # short numbers (counts, amounts) map onto dense raw numbers by chance


def candidates(values: Iterable[str]) -> list[tuple[str, str]]:
    """(transform, candidate raw value) for every inverse that applies to a value. Numbers
    shorter than 8 digits are skipped: reversed or rotated, they hit raw amounts by chance."""
    out = []
    for value in values:
        value = value.strip()
        if _NUMBER.match(value) and sum(c.isdigit() for c in value) < MIN_DIGITS:
            continue
        for name, inverse in INVERSES.items():
            cand = inverse(value)
            if cand and cand != value:
                out.append((name, cand))
    return out


def digest_shape(values: list[str]) -> str | None:
    """The hash algorithm whose output these values look like (hex or base64), if ≥ 90 % do."""
    if not values:
        return None
    votes: Counter[str] = Counter()
    for value in values:
        value = value.strip()
        if _HEX.match(value) and len(value) in DIGESTS:
            votes[DIGESTS[len(value)]] += 1
            continue
        raw = _b64(value)
        if raw is not None and len(raw) in BYTE_DIGESTS and len(value) >= 20:
            votes[BYTE_DIGESTS[len(raw)] + " (base64)"] += 1
    if not votes:
        return None
    algorithm, count = votes.most_common(1)[0]
    return algorithm if count >= 0.9 * len(values) else None


def as_hex_digest(value: str) -> str:
    """A digest value as lower-case hex (base64 digests are decoded)."""
    value = value.strip()
    if _HEX.match(value):
        return value.lower()
    raw = _b64(value)
    return raw.hex() if raw is not None else value.lower()


def ciphertext_shape(values: list[str]) -> str | None:
    """'block cipher output' when the values decode (base64 or hex) to random-looking bytes in
    whole 16-byte blocks of at least 32 bytes (IV + one block, as Presidio's encrypt writes)."""
    decoded = []
    for value in values:
        value = value.strip()
        raw = _hex(value) if _HEX.match(value) else _b64(value)
        if raw is None or len(raw) < 32 or len(raw) % 16:
            return None
        decoded.append(raw)
    if len(decoded) < 5 or len(set(decoded)) < 0.9 * len(decoded):
        return None
    pooled = b"".join(decoded)
    return "block cipher output" if entropy(pooled) >= min(7.5, 0.9 * math.log2(len(pooled))) else None


def entropy(data: bytes) -> float:
    counts = Counter(data)
    return -sum(c / len(data) * math.log2(c / len(data)) for c in counts.values())
