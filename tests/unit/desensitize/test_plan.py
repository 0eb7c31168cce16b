"""Transform plans: defaults from the classification, validation, safe by construction, files."""

from __future__ import annotations

import pytest

from desensitize import TransformPlan
from desensitize.classification import Classification, ColumnProfile
from desensitize.entities import ColumnClass, Entity
from desensitize.errors import PlanError

D, Q, S, O = (ColumnClass.DIRECT_IDENTIFIER, ColumnClass.QUASI_IDENTIFIER, ColumnClass.SENSITIVE,
              ColumnClass.OTHER)


def _cls(*cols) -> Classification:
    profiles = tuple(ColumnProfile(name, c, e, 0.9, ()) for name, c, e in cols)
    return Classification("t.csv", profiles, 10, "fp", "2026-01-01T00:00:00+00:00")


CLS = _cls(("姓名", D, Entity.PERSON_NAME), ("身份证号", D, Entity.RESIDENT_ID), ("地址", D, Entity.ADDRESS),
           ("备注", D, Entity.FREE_TEXT), ("出生日期", Q, Entity.BIRTH_DATE), ("性别", Q, Entity.GENDER),
           ("收入", S, Entity.INCOME), ("杂项", S, None), ("行业", O, None))


def test_default_plan():
    plan = TransformPlan.default(CLS)
    got = {c.column: (c.transform, c.options) for c in plan.columns}
    assert got["姓名"] == ("mask", {"keep_first": 1, "keep_last": 0, "char": "*"})
    assert got["身份证号"] == ("pseudonymize", {})
    assert got["地址"] == ("generalize", {"to": "district"})
    assert got["备注"][0] == "scrub" and got["杂项"][0] == "scrub"
    assert got["出生日期"] == ("generalize", {"to": "year"})
    assert got["性别"] == ("keep", {}) and got["行业"] == ("keep", {})
    assert got["收入"] == ("noise", {"relative": 0.05, "decimals": 2})


def test_a_direct_identifier_can_never_be_kept():
    plan = TransformPlan.default(CLS)
    with pytest.raises(PlanError, match="direct identifier"):
        plan.with_transform("身份证号", "keep")
    with pytest.raises(PlanError, match="direct identifier"):
        plan.with_transform("身份证号", "noise", relative=0.1)


def test_masks_of_direct_identifiers_stay_short():
    plan = TransformPlan.default(CLS)
    plan.with_transform("身份证号", "mask", keep_first=3, keep_last=4)
    with pytest.raises(PlanError):
        plan.with_transform("身份证号", "mask", keep_first=6, keep_last=4)
    with pytest.raises(PlanError):
        plan.with_transform("姓名", "mask", keep_first=2)


@pytest.mark.parametrize("transform,params", [
    ("nonsense", {}), ("mask", {"keep_first": -1}), ("mask", {"char": "**"}), ("mask", {"bogus": 1}),
    ("generalize", {"to": "galaxy"}), ("generalize", {"to": "region", "digits": 5}),
    ("generalize", {"to": "age_band", "as_of": "yesterday"}), ("noise", {}), ("noise", {"bound": 1, "relative": 0.1}),
    ("date_shift", {"days": 0}), ("mask", {"keep_first": "3"}),
])
def test_invalid_transforms_are_refused(transform, params):
    with pytest.raises(PlanError):
        TransformPlan.default(CLS).with_transform("行业", transform, **params)


def test_every_column_needs_a_transform():
    plan = TransformPlan.default(CLS)
    with pytest.raises(PlanError, match="no transform"):
        plan.check_fits(list(CLS.names) + ["新列"])
    with pytest.raises(PlanError, match="does not have"):
        plan.check_fits(list(CLS.names)[1:])


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path, suffix):
    plan = TransformPlan.default(CLS).with_transform("出生日期", "generalize", to="age_band", width=5)
    again = TransformPlan.load(plan.save(tmp_path / f"plan{suffix}"))
    assert again == plan


def test_edited_files_are_validated(tmp_path):
    path = TransformPlan.default(CLS).save(tmp_path / "plan.yaml")
    text = path.read_text(encoding="utf-8").replace("transform: pseudonymize", "transform: keep")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError, match="direct identifier"):
        TransformPlan.load(path)
    (tmp_path / "bad.yaml").write_text("columns: [", encoding="utf-8")
    with pytest.raises(PlanError, match="cannot be parsed"):
        TransformPlan.load(tmp_path / "bad.yaml")
    with pytest.raises(PlanError, match="not a transform plan"):
        TransformPlan.from_dict({"columns": {}})
