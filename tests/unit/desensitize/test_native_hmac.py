"""The native HMAC (desensitize/_hmac.c) against Python's hmac, on any input Arrow can hold."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desensitize import native

pytestmark = pytest.mark.skipif(native._hmac is None, reason="native module not built (test_pseudonym says so)")


def expected(values, key, hexchars=64):
    return [None if v is None else hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:hexchars]
            for v in values]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=200)), max_size=60),
       key=st.binary(min_size=0, max_size=150), cut=st.integers(0, 5), large=st.booleans())
def test_equals_pythons_hmac(values, key, cut, large):
    """Any key length (over 64 bytes is hashed first), any text, nulls, sliced arrays, both offset widths."""
    arr = pa.array(values, pa.large_string() if large else pa.string())
    arr = arr.slice(min(cut, len(arr)))
    assert native.hmac_hex(arr, key).to_pylist() == expected(arr.to_pylist(), key)


@pytest.mark.parametrize("kind", [pa.string_view(), pa.large_string()])
def test_other_string_layouts_and_chunked_input(kind):
    values = ["33010619900101123X", "", "张三", None, "x" * 1000]
    arr = pa.chunked_array([pa.array(values[:2], kind), pa.array(values[2:], kind)])
    assert native.hmac_hex(arr, b"k" * 32, hexchars=32).to_pylist() == expected(values, b"k" * 32, 32)


def test_value_boundaries_of_one_and_two_sha_blocks():
    """Messages of 0..130 bytes cross SHA-256's padding boundaries (55/56, 119/120)."""
    values = ["a" * n for n in range(131)]
    assert native.hmac_hex(pa.array(values), b"secret-key").to_pylist() == expected(values, b"secret-key")


def test_bad_buffers_are_refused_without_reading_out_of_bounds():
    import numpy as np

    offsets = np.array([0, 5, 1_000_000], dtype=np.int32).tobytes()
    with pytest.raises(ValueError, match="offsets out of range"):
        native._hmac.hmac_hex(b"k", offsets, b"hello", 0, 2, False, 64)
    with pytest.raises(ValueError, match="bad arguments"):
        native._hmac.hmac_hex(b"k", offsets, b"hello", 0, 5, False, 64)  # more values than offsets
    with pytest.raises(ValueError, match="bad arguments"):
        native._hmac.hmac_hex(b"k", offsets, b"hello", 0, 1, False, 65)
    for start, count in ((2**62, 2**62), (0, 2**62), (2**62, 1), (2**63 - 1, 1), (3, 1), (2, 1), (-1, 1), (0, -1)):
        with pytest.raises(ValueError, match="bad arguments"):  # no overflow lets a bound check pass
            native._hmac.hmac_hex(b"k", offsets, b"hello", start, count, False, 64)
    assert native._hmac.hmac_hex(b"k", offsets, b"hello", 2, 0, False, 64) == b""  # empty tail slice


def test_the_sql_form_is_used_when_turned_off(monkeypatch):
    monkeypatch.setenv("AOD_NATIVE_HMAC", "0")
    assert not native.available()
