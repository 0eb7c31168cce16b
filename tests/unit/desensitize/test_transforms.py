"""Each transform's output, through the same bulk path as `apply`."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from desensitize import pseudonymize_value
from desensitize.bulk import transform_table
from desensitize.classification import Classification, ColumnProfile
from desensitize.entities import ColumnClass, Entity
from desensitize.plan import TransformPlan

O = ColumnClass.OTHER


def run(values, transform, secret, entity=None, column_class=O, **params):
    table = pa.table({"c": pa.array(values)})
    cls = Classification("t", (ColumnProfile("c", column_class, entity, 1.0, ()),), 1, "", "")
    plan = TransformPlan.default(cls).with_transform("c", transform, **params)
    return transform_table(table, plan, secret).column("c").to_pylist()


def test_keep_and_suppress(secret):
    assert run(["a", None], "keep", secret) == ["a", None]
    assert run(["a", None], "suppress", secret) == [None, None]


def test_mask(secret):
    out = run(["13812345678", "+86 138-1234-5678", "", None], "mask", secret, Entity.MOBILE, keep_first=3, keep_last=4)
    assert out == ["138****5678", "138****5678", None, None]
    assert run(["+86 138-1234-5678", "张伟"], "mask", secret, keep_first=3, keep_last=4) == ["+86*******5678", "**"]
    assert run(["张伟", "欧阳娜娜"], "mask", secret, keep_first=1) == ["张*", "欧***"]


def test_pseudonymize(secret):
    vals = ["33010619900101123X", "３３０１０６１９９００１０１１２３ｘ", None]
    out = run(vals, "pseudonymize", secret, Entity.RESIDENT_ID, ColumnClass.DIRECT_IDENTIFIER)
    assert out[0] == out[1] == pseudonymize_value(vals[0], secret, Entity.RESIDENT_ID)
    assert out[2] is None


def test_generalize_dates(secret):
    vals = ["1990-01-02", "1990/1/2", "19900102", "1990年1月2日", "not a date", None]
    assert run(vals, "generalize", secret, to="year") == ["1990"] * 4 + [None, None]
    assert run(vals[:1], "generalize", secret, to="month") == ["1990-01"]
    assert run(["1990-06-01"], "generalize", secret, to="age_band", width=10, as_of="2026-01-01") == ["30-39"]


def test_generalize_region_address_band_prefix(secret):
    assert run(["330106199001011234", "330106900101123"], "generalize", secret, to="region", digits=4) == \
        ["330100", "330100"]
    addr = ["浙江省杭州市西湖区文三路138号5幢", "宁波市余姚市人民路1号", "西湖区文三路1号", "不知道"]
    assert run(addr, "generalize", secret, to="district") == ["浙江省杭州市西湖区", "宁波市余姚市", "西湖区", None]
    assert run(addr[:2], "generalize", secret, to="city") == ["浙江省杭州市", "宁波市"]
    assert run(addr[:1], "generalize", secret, to="province") == ["浙江省"]
    assert run([5432.1, None], "generalize", secret, to="band", width=1000) == ["[5000.0,6000.0)", None]
    assert run(["310012"], "generalize", secret, to="prefix", chars=4) == ["3100"]


def test_noise_is_bounded_and_deterministic(secret):
    vals = [1000.0] * 2000
    out = run(vals, "noise", secret, bound=10)
    assert all(990 <= v <= 1010 for v in out) and len(set(out)) > 100
    assert out == run(vals, "noise", secret, bound=10)
    rel = run(vals, "noise", secret, relative=0.05, decimals=0)
    assert all(950 <= v <= 1050 and v == int(v) for v in rel)
    assert run(["n/a"], "noise", secret, bound=1) == [None]


def test_date_shift(secret):
    vals = ["2024-03-01", "2024-03-10"]
    out = run(vals, "date_shift", secret, days=30)
    a, b = (dt.date.fromisoformat(x) for x in out)
    assert (b - a).days == 9  # by dataset: one shift for all, intervals kept
    assert abs((a - dt.date(2024, 3, 1)).days) <= 30
    rows = run(["2024-03-01"] * 500, "date_shift", secret, days=5, by="row")
    assert all(abs((dt.date.fromisoformat(x) - dt.date(2024, 3, 1)).days) <= 5 for x in rows)
    assert len(set(rows)) > 5


def test_date_shift_by_key_is_stable_per_key(secret):
    table = pa.table({"who": ["a", "b", "a"], "d": ["2024-03-01", "2024-03-01", "2024-03-01"]})
    cls = Classification("t", (ColumnProfile("who", O, None, 1.0, ()), ColumnProfile("d", O, None, 1.0, ())), 1, "", "")
    plan = TransformPlan.default(cls).with_transform("d", "date_shift", days=100, by="who")
    out = transform_table(table, plan, secret).column("d").to_pylist()
    assert out[0] == out[2]


def test_scrub_replaces_identifiers_and_keeps_the_rest(secret):
    text = ("联系人张伟，电话+86 138-1234-5678，身份证３３０１０６１９９００１０１１２３ｘ，住址浙江省杭州市西湖区文三路138号，"
            "邮箱zhang.wei@zj.gov.cn，车牌浙A·12345，IP 10.1.2.3，王芳女士来电")
    (out,) = run([text], "scrub", secret)
    for raw in ("张伟", "1234-5678", "１９９００１０１", "文三路138号", "zhang.wei", "12345", "10.1.2.3", "王芳"):
        assert raw not in out
    assert out.startswith("联系人〔姓名〕，电话") and "〔邮箱〕" in out and "〔地址〕" in out and "来电" in out


@pytest.mark.parametrize("values", [[1, 2, None], [True, False, None]])
def test_non_string_columns(values, secret):
    assert run(values, "keep", secret) == values
    assert run(values, "suppress", secret) == [None] * 3
