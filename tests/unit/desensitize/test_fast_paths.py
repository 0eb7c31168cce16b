"""The bulk SQL's fast paths give exactly what the reference forms give.

`apply` takes shortcuts for speed: identifiers are normalized in stacked steps guarded by one
test, dates are cast before anything else is tried, numbers of numeric columns are cast
directly, administrative prefixes are matched on the raw text. Each is compared here, on
messy generated values, with the plain form it replaces (Python, or the straightforward SQL).
"""

from __future__ import annotations

import re

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from desensitize import normalize_identifier, pseudonymize_value
from desensitize.bulk import transform_table
from desensitize.checks import DATE_FORMATS
from desensitize.classification import Classification, ColumnProfile
from desensitize.entities import ColumnClass, Entity
from desensitize.normalize import halfwidth, halfwidth_sql, sql_literal
from desensitize.plan import TransformPlan
from desensitize.sqlkit import run_on_array

from .conftest import SECRET

O, D = ColumnClass.OTHER, ColumnClass.DIRECT_IDENTIFIER
MESSY = "0123456789Xx +-()@.·\u3000\u00a0\t－＋＠．（）０１２３４５６７８９ＸｘＡａ张浙ABCabc_%/，：ß"
ADDRESS = "浙江省杭州市西湖区余姚县旗自治区路号１２3 　ａＡb\n"
DATES = "0123456789-/.年月日 　０１２３－"


def run(values, transform, entity=None, column_class=O, arrow_type=None, **params):
    table = pa.table({"c": pa.array(values, arrow_type)})
    cls = Classification("t", (ColumnProfile("c", column_class, entity, 1.0, ()),), 1, "", "")
    plan = TransformPlan.default(cls).with_transform("c", transform, **params)
    return transform_table(table, plan, SECRET).column("c").to_pylist()


texts = st.lists(st.one_of(st.none(), st.text(alphabet=MESSY, max_size=30)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(texts)
def test_normalized_values_equal_python(values):
    expected = [normalize_identifier(v) or None for v in values]
    assert run(values, "generalize", to="prefix", chars=1000) == expected


@settings(max_examples=25, deadline=None)
@given(entity=st.sampled_from([None, Entity.MOBILE, Entity.LANDLINE, Entity.RESIDENT_ID, Entity.EMAIL]),
       values=st.lists(st.one_of(st.none(), st.text(alphabet=MESSY, max_size=24),
                                 st.from_regex(r"(\+86 ?|0086-?|86)?1[3-9][0-9]{9}", fullmatch=True),
                                 st.from_regex(r"[1-9][0-9]{14}", fullmatch=True)), min_size=1, max_size=20))
def test_pseudonyms_equal_python(entity, values):
    expected = [pseudonymize_value(v, SECRET, entity) for v in values]
    assert run(values, "pseudonymize", entity, D) == expected


_OLD_ADMIN = {  # the patterns as they were, matched on the half-width text (group 1)
    "province": r"^((?:.{2,7}?(?:省|自治区))|(?:北京|天津|上海|重庆)市)",
    "city": r"^((?:.{2,7}?(?:省|自治区))?.{1,7}?市)",
    "district": r"^((?:.{2,7}?(?:省|自治区))?(?:.{1,7}?市)?.{1,7}?(?:区|县|市|旗))",
}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=ADDRESS, max_size=20)), min_size=1, max_size=20))
def test_administrative_prefixes_equal_matching_the_half_width_text(values):
    table = pa.table({level: pa.array(values, pa.string()) for level in _OLD_ADMIN})
    cls = Classification("t", tuple(ColumnProfile(level, O, None, 1.0, ()) for level in _OLD_ADMIN), 1, "", "")
    plan = TransformPlan.default(cls)
    for level in _OLD_ADMIN:
        plan = plan.with_transform(level, "generalize", to=level)
    out = transform_table(table, plan, SECRET)
    for level, pattern in _OLD_ADMIN.items():
        found = [None if v is None else re.match(pattern, halfwidth(v)) for v in values]
        assert out.column(level).to_pylist() == [m.group(1) if m and m.group(1) else None for m in found]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=DATES, max_size=14),
                          st.dates().map(str), st.dates().map(lambda d: d.strftime("%Y年%m月%d日"))),
                min_size=1, max_size=20))
def test_dates_equal_the_full_parse(values):
    t = f"trim({halfwidth_sql('v')})"
    formats = "[" + ", ".join(sql_literal(f) for f in DATE_FORMATS) + "]"
    full = f"strftime(coalesce(TRY_CAST({t} AS DATE), try_strptime({t}, {formats})::DATE), '%Y-%m')"
    assert run(values, "generalize", to="month") == run_on_array(pa.array(values, pa.string()), full).to_pylist()


@settings(max_examples=40, deadline=None)
@given(st.one_of(
    st.tuples(st.just(pa.int64()), st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), min_size=1)),
    st.tuples(st.just(pa.int8()), st.lists(st.one_of(st.none(), st.integers(-128, 127)), min_size=1)),
    st.tuples(st.just(pa.float64()), st.lists(st.one_of(st.none(), st.floats()), min_size=1))))
def test_numbers_of_numeric_columns_equal_parsing_their_text(typed):
    arrow_type, values = typed
    text = run_on_array(pa.array(values, arrow_type), "CAST(v AS VARCHAR)").to_pylist()
    assert run(values, "generalize", arrow_type=arrow_type, to="band", width=7) == \
        run(text, "generalize", to="band", width=7)


FRAGMENTS = ["联系人", "张伟", "先生", "女士", "，电话", "+86 138-1234-5678", "13812345678", "身份证",
             "３３０１０６１９９００１０１１２３ｘ", "330106199001011234", "浙江省杭州市西湖区文三路138号5幢", "住址",
             "zhang.wei@zj.gov.cn", "＠", "@", "浙A·12345", "10.1.2.3", "1990年1月2日", "户名：", "是", " ", "\u3000",
             "号", "弄", "abc", "9", "-", "已办结"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)),
                min_size=1, max_size=20))
def test_scrub_in_arrow_equals_scrub_in_sql(values):
    """Text columns are scrubbed in Arrow; others (here: dictionary-encoded) in SQL."""
    plain = run(values, "scrub", column_class=D)
    assert plain == run(pa.array(values, pa.string()).dictionary_encode(), "scrub", column_class=D)


def test_apply_writes_the_same_file_with_the_native_and_the_sql_hmac(tmp_path, monkeypatch):
    """Pseudonyms and date shifts keyed by a column, the two users of HMAC in `apply`."""
    from desensitize import apply, synthetic

    src = tmp_path / "people.parquet"
    import pyarrow.parquet as pq

    pq.write_table(synthetic.people(4000, 5).table, src)
    from desensitize import classify

    plan = TransformPlan.default(classify(src)).with_transform("出生日期", "date_shift", days=30, by="身份证号")
    assert {c.column for c in plan.columns if c.transform == "pseudonymize"} >= {"身份证号", "手机号码"}
    digests = []
    for flag in ("1", "0"):
        monkeypatch.setenv("AOD_NATIVE_HMAC", flag)
        digests.append(apply(src, tmp_path / f"out{flag}.parquet", plan, SECRET).sha256)
    assert digests[0] == digests[1]
    assert pq.read_table(tmp_path / "out1.parquet").equals(pq.read_table(tmp_path / "out0.parquet"))
