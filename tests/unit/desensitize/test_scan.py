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
