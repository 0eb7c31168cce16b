"""scan_table / scan_values: entity, column, rows, confidence — never a value."""

from __future__ import annotations

import pyarrow as pa
import pytest

from desensitize import Entity, pseudonymize, scan_table, scan_values, synthetic
from desensitize.errors import CannotCertify


def test_findings_per_column_and_mode(secret):
    ids = synthetic.resident_ids(100, 1)
    table = pa.table({
        "id": ids, "note": ["电话13812345678"] * 10 + [None] * 90, "edu": ["高中"] * 50 + ["本科"] * 50,
        "mobile_as_int": pa.array([13812345678 + i for i in range(100)], pa.int64()),
        "pseud": pseudonymize(ids, secret, Entity.RESIDENT_ID),
    })
    found = {(f.column, f.entity, f.mode): f.rows for f in scan_table(table)}
    assert found[("id", Entity.RESIDENT_ID, "cell")] == 100
    assert found[("note", Entity.MOBILE, "text")] == 10
    assert found[("mobile_as_int", Entity.MOBILE, "cell")] == 100
    assert found[("pseud", Entity.PSEUDONYM, "cell")] == 100
    assert not any(col == "edu" for col, _, _ in found)  # 高中 is not a person


def test_name_columns_are_found():
    names = synthetic.names(200, 3)
    found = scan_table(pa.table({"c1": names}))
    assert [(f.entity, f.rows) for f in found] == [(Entity.PERSON_NAME, 200)]


def test_no_values_in_findings():
    values = ["身份证330106199001011234", "13812345678", "张三先生"]
    for f in scan_values(values):
        text = repr(f) + str(f.to_dict())
        assert all(v not in text for v in ("330106199001011234", "13812345678", "张三"))


def test_unknown_entities_cannot_be_certified():
    with pytest.raises(CannotCertify):
        scan_values(["x"], entities=[Entity.INCOME])
    assert scan_values(["13812345678"], entities=[Entity.RESIDENT_ID]) == []


def test_clean_values_have_no_findings():
    assert scan_values(["已办结", "无", None, "2024年度报告", "12.5"]) == []


def test_unrounded_averages_are_not_identifiers_in_text():
    """The fraction digits of a mean (6234.567812345…) once matched mobile/landline patterns in
    12 % of random averages; a decimal number is read as its integer part."""
    import random

    import decimal

    rng = random.Random(1)
    averages = [rng.uniform(100, 100_000) for _ in range(5000)]
    assert scan_table(pa.table({"avg": pa.array(averages, pa.float64())})) == []
    exact = [decimal.Decimal(f"{a:.8f}") for a in averages]
    assert scan_table(pa.table({"avg": pa.array(exact, pa.decimal128(16, 8))})) == []


def test_text_is_read_as_written():
    """Only float and decimal cells are read by their integer part: in text, digits after a point
    are still digits ("电话 0.13812345678" holds a phone number)."""
    found = scan_values(["0.13812345678", "电话 0.13812345678"])
    assert [(f.entity, f.rows, f.mode) for f in found] == [(Entity.MOBILE, 2, "text")]


def test_identifiers_stored_as_floats_are_found_as_cells():
    """Arrow writes 13812345678.0 as 1.3812345678e+10, which no pattern reads; DuckDB as 13812345678.0."""
    phones = [13812345678.0 + i for i in range(50)]
    found = scan_table(pa.table({"contact": pa.array(phones, pa.float64())}))
    assert [(f.entity, f.rows, f.mode) for f in found] == [(Entity.MOBILE, 50, "cell")]
    assert [(f.entity, f.mode) for f in scan_values([f"{p}" for p in phones])] == [(Entity.MOBILE, "text")]
    assert [(f.entity, f.mode) for f in scan_values(["电话13812345678.0号"])] == [(Entity.MOBILE, "text")]
