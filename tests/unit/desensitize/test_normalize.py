"""normalize_identifier: the Python, Arrow and DuckDB forms agree; messy forms collapse."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desensitize import canonical_identifier, normalize_identifier
from desensitize.entities import Entity
from desensitize.normalize import canonical_sql, halfwidth, halfwidth_sql, normalize_array, normalize_sql
from desensitize.sqlkit import run_on_array

MESSY = "0123456789Xx +-()@.·\u3000\u00a0\t－＋＠．（）０１２３４５６７８９ＸｘＡａ张浙ABCabc_%/，：ß"


def test_examples():
    assert normalize_identifier("３３０１０６ １９９００１０１ １２３ｘ") == "33010619900101123X"
    assert normalize_identifier("138-1234-5678") == "13812345678"
    assert normalize_identifier("浙a·12345") == "浙A12345"
    assert normalize_identifier(None) is None
    assert canonical_identifier("+86 138 1234 5678", Entity.MOBILE) == "13812345678"
    assert canonical_identifier("0086-13812345678", Entity.MOBILE) == "13812345678"
    assert canonical_identifier("(0571)8765-4321", Entity.LANDLINE) == "057187654321"
    assert canonical_identifier("+86 571 87654321", Entity.LANDLINE) == "057187654321"
    assert canonical_identifier(" Foo.Bar@Ｅxample.COM ", Entity.EMAIL) == "foo.bar@example.com"
    assert canonical_identifier("330106900101123", Entity.RESIDENT_ID) == "330106199001011237"[:17] + \
        canonical_identifier("330106900101123", Entity.RESIDENT_ID)[-1]


def test_15_digit_id_upgrades_to_a_valid_18_digit_id():
    from desensitize.checks import is_resident_id18

    assert is_resident_id18(canonical_identifier("330106900101123", Entity.RESIDENT_ID))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=MESSY, max_size=30)), min_size=1, max_size=30))
def test_python_arrow_and_sql_normalize_agree(values):
    expected = [normalize_identifier(v) for v in values]
    assert normalize_array(values).to_pylist() == expected
    assert run_on_array(pa.array(values, pa.string()), normalize_sql("v")).to_pylist() == expected
    assert run_on_array(pa.array(values, pa.string()), halfwidth_sql("v")).to_pylist() == [halfwidth(v) for v in values]


@pytest.mark.parametrize("entity", [None, Entity.MOBILE, Entity.LANDLINE, Entity.EMAIL, Entity.RESIDENT_ID])
@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text(alphabet=MESSY, max_size=24),
                                 st.from_regex(r"(\+86|0086|86)?1[3-9][0-9]{9}", fullmatch=True),
                                 st.from_regex(r"[1-9][0-9]{14}", fullmatch=True)), min_size=1, max_size=20))
def test_canonical_forms_agree(entity, values):
    expected = [canonical_identifier(v, entity) for v in values]
    assert normalize_array(values, entity=entity, canonical=True).to_pylist() == expected
    assert run_on_array(pa.array(values, pa.string()), canonical_sql("v", entity)).to_pylist() == expected
