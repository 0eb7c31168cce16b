"""HMAC-SHA256 over Arrow string arrays in native code (desensitize/_hmac.c, OpenSSL).

Keyed pseudonyms are the costliest step of `apply`: DuckDB builds HMAC from four portable
`sha256()` calls per value. The native module hashes each value with the two compressions
HMAC needs, in OpenSSL (SHA-NI where the CPU has it), about ten times faster. It is built by
`pip install` (setup.py) and optional: without it, or with `AOD_NATIVE_HMAC=0` in the
environment, pseudonyms are computed in SQL. Both give the same values (tested).
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:
    from . import _hmac
except ImportError:  # no compiler or OpenSSL headers at install time
    _hmac = None

HEX_CHARS = 64
_INT32_MAX = 2**31 - 1


def available() -> bool:
    return _hmac is not None and os.environ.get("AOD_NATIVE_HMAC", "1") != "0"


def hmac_hex(values: pa.Array, key: bytes, hexchars: int = HEX_CHARS) -> pa.Array:
    """Lowercase hex of HMAC-SHA256(key, value) per value (first `hexchars` digits); null stays null."""
    if _hmac is None:
        raise RuntimeError("the native HMAC module is not built (reinstall with a C compiler and OpenSSL headers)")
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.string())
    n = len(arr)
    _validity, offsets, data = arr.buffers()
    digests = _hmac.hmac_hex(key, offsets, data if data is not None else b"", arr.offset, n,
                             arr.type == pa.large_string(), hexchars)
    wide = (n * hexchars) > _INT32_MAX
    out_offsets = np.arange(0, (n + 1) * hexchars, hexchars, dtype=np.int64 if wide else np.int32)
    validity = pc.is_valid(arr).buffers()[1] if arr.null_count else None
    return pa.Array.from_buffers(pa.large_string() if wide else pa.string(), n,
                                 [validity, pa.py_buffer(out_offsets), pa.py_buffer(digests)], arr.null_count)
