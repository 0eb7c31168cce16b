"""Keyed pseudonyms: HMAC-SHA256 with a per-dataset secret, computed in bulk in DuckDB.

A pseudonym is `ps_` + the first 32 hex digits (128 bits) of
HMAC-SHA256(K, canonical_identifier(value, entity)), where K = HMAC-SHA256(secret,
"aod/desensitize/pseudonym/v1"). Stable for joins inside the domain (the same ID number
typed `33010619900101123x` or `３３０１０６ １９９００１０１ １２３Ｘ` gets the same
pseudonym), irreversible without the key: never a plain or fixed-salt hash, which an
18-digit ID space would give away to brute force.

DuckDB has no HMAC, so it is built from `sha256()` over blobs:
`sha256(K⊕opad || unhex(sha256(K⊕ipad || message)))`, verified against Python's `hmac`.
The padded keys travel as query parameters, never inside SQL text.

Other packages recompute pseudonyms with `pseudonymize()` (Arrow arrays),
`pseudonymize_value()` (one value) or `pseudonym_sql()` (inside their own DuckDB engine), e.g.
so that the export gate recognises pseudonyms as non-exportable.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional

import pyarrow as pa

from .entities import Entity
from .errors import SecretError
from .normalize import canonical_identifier, canonical_sql, normalize_array

PSEUDONYM_PREFIX = "ps_"
PSEUDONYM_HEX = 32
MIN_SECRET_BYTES = 16
_LABEL = b"aod/desensitize/pseudonym/v1"


def check_secret(secret: bytes) -> bytes:
    if not isinstance(secret, (bytes, bytearray)):
        raise SecretError("the dataset secret must be bytes")
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretError(f"the dataset secret is too short ({len(secret)} bytes; at least {MIN_SECRET_BYTES})")
    return bytes(secret)


def derive_key(secret: bytes, label: bytes) -> bytes:
    """A purpose-bound subkey of the dataset secret."""
    return hmac.new(check_secret(secret), label, hashlib.sha256).digest()


def pseudonym_key(secret: bytes) -> bytes:
    return derive_key(secret, _LABEL)


def pseudonymize_value(value: Optional[str], secret: bytes, entity: Optional[Entity] = None) -> Optional[str]:
    """The pseudonym of one value (None for None or an empty value)."""
    canonical = canonical_identifier(value, entity)
    if canonical is None or canonical == "":
        return None
    digest = hmac.new(pseudonym_key(secret), canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


def hmac_params(secret: bytes, prefix: str = "ps") -> dict:
    """Query parameters holding the padded key for `hmac_sql`."""
    key = pseudonym_key(secret).ljust(64, b"\x00")
    return {f"{prefix}_ipad": bytes(b ^ 0x36 for b in key), f"{prefix}_opad": bytes(b ^ 0x5C for b in key)}


def hmac_sql(message: str, prefix: str = "ps") -> str:
    """SQL: HMAC-SHA256 hex of the VARCHAR expression `message` (parameters from hmac_params)."""
    inner = f"unhex(sha256(${prefix}_ipad::BLOB || encode({message})))"
    return f"sha256(${prefix}_opad::BLOB || {inner})"


def pseudonym_sql(expr: str, entity: Optional[Entity] = None, *, normalized: bool = False,
                  prefix: str = "ps") -> str:
    """SQL expression for the pseudonym of `expr` (a VARCHAR); bind `hmac_params(secret)`."""
    canonical = canonical_sql(expr, entity, normalized=normalized)
    return (f"CASE WHEN {canonical} IS NULL THEN NULL ELSE "
            f"'{PSEUDONYM_PREFIX}' || left({hmac_sql(canonical, prefix)}, {PSEUDONYM_HEX}) END")


def pseudonymize(values, secret: bytes, entity: Optional[Entity] = None) -> pa.Array:
    """Pseudonyms of an Arrow array (or sequence), vectorized; null stays null."""
    from .sqlkit import query, shared
    from .vector import as_strings

    arr = as_strings(values)
    if entity != Entity.EMAIL:
        arr = normalize_array(arr)
    sql = f"SELECT {pseudonym_sql('v', entity, normalized=entity != Entity.EMAIL)} AS p FROM __ps"
    return query(shared(), sql, {"__ps": pa.table({"v": arr})}, params=hmac_params(secret)).column(0).combine_chunks()
