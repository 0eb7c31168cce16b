"""Keyed pseudonyms: HMAC-SHA256 with a per-dataset secret, computed in bulk in DuckDB.

A pseudonym is `ps_` + the first 32 hex digits (128 bits) of
HMAC-SHA256(K, canonical_identifier(value, entity)), where K = HMAC-SHA256(secret,
"aod/desensitize/pseudonym/v1"). Stable for joins inside the domain (the same ID number
typed `33010619900101123x` or `３３０１０６ １９９００１０１ １２３Ｘ` gets the same
pseudonym), irreversible without the key: never a plain or fixed-salt hash, which an
18-digit ID space would give away to brute force.

DuckDB has no HMAC. Where the native module is built (desensitize/native.py), `hmac_sql`
calls a vectorized function that `hmac_bound` registers on the connection for the duration of
the work, holding the key in memory. Otherwise HMAC is built from `sha256()` over blobs:
`sha256(K⊕opad || unhex(sha256(K⊕ipad || message)))`, with the padded keys bound as query
parameters. Either way the key never appears in SQL text, and both forms are verified against
Python's `hmac`.

Other packages recompute pseudonyms with `pseudonymize()` (Arrow arrays),
`pseudonymize_value()` (one value) or `pseudonym_sql()` + `hmac_bound()` (inside their own
DuckDB connection), e.g.
so that the export gate recognises pseudonyms as non-exportable.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import contextmanager
from typing import Iterator, Optional

import pyarrow as pa

from . import native
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


def _udf_name(prefix: str) -> str:
    return f"__aod_hmac_{prefix}"


def hmac_sql(message: str, prefix: str = "ps", *, use_native: Optional[bool] = None) -> str:
    """SQL: HMAC-SHA256 hex of the VARCHAR expression `message`; run it inside `hmac_bound`."""
    if native.available() if use_native is None else use_native:
        return f"{_udf_name(prefix)}({message})"
    inner = f"unhex(sha256(${prefix}_ipad::BLOB || encode({message})))"
    return f"sha256(${prefix}_opad::BLOB || {inner})"


@contextmanager
def hmac_bound(con, sql: str, secret: bytes, prefix: str = "ps") -> Iterator[Optional[dict]]:
    """Make `sql` (built with `hmac_sql`) runnable on `con` with the pseudonym key of `secret`.

    Yields the query parameters the SQL form needs (None when it needs none). For the native
    form, registers the keyed function on `con` and removes it on exit, so no key outlives
    the work on a connection that is kept (such as `sqlkit.shared()`).
    """
    params = {k: v for k, v in hmac_params(secret, prefix).items() if f"${k}" in sql} or None
    name = _udf_name(prefix)
    if f"{name}(" not in sql:
        yield params
        return
    from duckdb.sqltypes import VARCHAR

    key = pseudonym_key(secret)
    con.create_function(name, lambda values: native.hmac_hex(values, key), [VARCHAR], VARCHAR, type="arrow")
    try:
        yield params
    finally:
        con.remove_function(name)


def pseudonym_sql(expr: str, entity: Optional[Entity] = None, *, normalized: bool = False,
                  prefix: str = "ps", use_native: Optional[bool] = None) -> str:
    """SQL expression for the pseudonym of `expr` (a VARCHAR); run it inside `hmac_bound`."""
    canonical = canonical_sql(expr, entity, normalized=normalized)
    return (f"CASE WHEN {canonical} IS NULL THEN NULL ELSE "
            f"'{PSEUDONYM_PREFIX}' || left({hmac_sql(canonical, prefix, use_native=use_native)}, {PSEUDONYM_HEX}) END")


def pseudonymize(values, secret: bytes, entity: Optional[Entity] = None) -> pa.Array:
    """Pseudonyms of an Arrow array (or sequence), vectorized; null stays null."""
    from .sqlkit import query, shared
    from .vector import as_strings

    arr = as_strings(values)
    if entity != Entity.EMAIL:
        arr = normalize_array(arr)
    sql = f"SELECT {pseudonym_sql('v', entity, normalized=entity != Entity.EMAIL)} AS p FROM __ps"
    con = shared()
    with hmac_bound(con, sql, secret) as params:
        return query(con, sql, {"__ps": pa.table({"v": arr})}, params=params).column(0).combine_chunks()
