"""Validators: known answers, check-digit properties (Hypothesis), one priority order."""

from __future__ import annotations

import string

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from desensitize import checks
from desensitize.checks import detect_value
from desensitize.entities import Entity
from desensitize.normalize import id_check_digit
from desensitize.vector import cell_entities

ID18 = "11010519491231002X"  # GB 11643 example: check character X
ID18_DIGIT = "330106199001011234"[:17]


def test_known_resident_id_passes_and_a_changed_digit_fails():
    assert checks.is_resident_id18(ID18)
    assert not checks.is_resident_id18("110105194912310021")
    assert detect_value("11010519491231002x") == Entity.RESIDENT_ID


def test_resident_id_needs_a_real_birth_date_and_province():
    body = "33010619900230123"  # 30 February
    assert not checks.is_resident_id18(body + id_check_digit(body))
    body = "99010619900101123"  # no province 99
    assert not checks.is_resident_id18(body + id_check_digit(body))
    body = "33010621000101123"  # born in the future
    assert not checks.is_resident_id18(body + id_check_digit(body))


def test_legacy_15_digit_id():
    assert checks.is_resident_id15("330106900101123")
    assert not checks.is_resident_id15("330106901301123")  # month 13


def test_credit_code_known_answer():
    code = "91350100M000100Y43"  # published example (GB 32100 check character 3)
    assert checks.is_credit_code(code)
    assert not checks.is_credit_code(code[:-1] + "4")


def test_luhn_known_answers():
    assert checks.luhn_ok("4111111111111111")
    assert not checks.luhn_ok("4111111111111112")
    assert checks.is_bank_card("6222021234567890128") is checks.luhn_ok("6222021234567890128")


def test_phone_forms():
    for v in ("13812345678", "+86 138 1234 5678", "0086-13812345678", "８６１３８１２３４５６７８"):
        assert detect_value(v) == Entity.MOBILE, v
    for v in ("0571-87654321", "(0571)87654321", "+86-571-87654321", "010 12345678"):
        assert detect_value(v) == Entity.LANDLINE, v
    assert detect_value("12812345678") is None


def test_other_shapes():
    assert detect_value("E12345678") == Entity.PASSPORT
    assert detect_value("C12345678") == Entity.HMT_PERMIT
    assert detect_value("浙A·12345") == Entity.PLATE
    assert detect_value("浙AD12345") == Entity.PLATE
    assert detect_value("192.168.1.20") == Entity.IP_ADDRESS
    assert detect_value("192.168.1.256") is None
    assert detect_value("Zhang.Wei@ZJ.gov.cn") == Entity.EMAIL
    assert detect_value("张伟") == Entity.PERSON_NAME
    assert detect_value("浙江省杭州市西湖区文三路138号") == Entity.ADDRESS
    assert detect_value("浙江省杭州市西湖区") is None  # a district is not an address
    assert detect_value("ps_" + "0" * 32) == Entity.PSEUDONYM


def test_priority_a_valid_id_is_not_also_a_bank_card():
    # an ID number that also passes Luhn must come out as an ID number
    from desensitize import synthetic

    ids = [v for v in synthetic.resident_ids(2000, 1).to_pylist() if checks.luhn_ok(v)]
    assert ids, "some valid IDs pass Luhn by chance"
    assert {detect_value(v) for v in ids} == {Entity.RESIDENT_ID}


@st.composite
def id_bodies(draw):
    region = draw(st.sampled_from(["330106", "110105", "440305", "510104"]))
    year = draw(st.integers(1900, 2020))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    seq = draw(st.integers(0, 999))
    return f"{region}{year:04d}{month:02d}{day:02d}{seq:03d}"


@given(id_bodies())
def test_every_id_with_its_check_digit_passes_and_every_other_check_fails(body):
    good = id_check_digit(body)
    assert checks.is_resident_id18(body + good)
    for other in "0123456789X":
        if other != good:
            assert not checks.is_resident_id18(body + other)


@given(id_bodies(), st.integers(0, 16), st.integers(1, 9))
def test_a_single_digit_error_is_always_caught(body, pos, delta):
    full = body + id_check_digit(body)
    digit = (int(full[pos]) + delta) % 10
    changed = full[:pos] + str(digit) + full[pos + 1:]
    assert not checks.is_resident_id18(changed)


@given(st.text(alphabet=string.digits, min_size=13, max_size=19))
def test_luhn_appending_the_check_digit_always_passes(digits):
    for d in "0123456789":
        if checks.luhn_ok(digits + d):
            return
    raise AssertionError("exactly one check digit must complete any number")


ALPHABET = string.digits + "Xx -+()@._ａ０１２３４５６７８９" + "张王李伟芳省市区路号浙A"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=ALPHABET, max_size=24)), min_size=1, max_size=40))
def test_vectorized_detection_agrees_with_the_scalar_reference(values):
    vector = cell_entities(pa.array(values, pa.string())).to_pylist()
    scalar = [(lambda e: e.value if e else None)(detect_value(v)) for v in values]
    assert vector == scalar
