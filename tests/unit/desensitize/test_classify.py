"""Classification: labels agree, fail-closed rules, provider overrides, file round trip."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from desensitize import Classification, ColumnClass, Entity, Grade, classify, synthetic
from desensitize.errors import ClassificationError

D, Q, S, O = (ColumnClass.DIRECT_IDENTIFIER, ColumnClass.QUASI_IDENTIFIER, ColumnClass.SENSITIVE,
              ColumnClass.OTHER)


def _agree(labelled, cls):
    for p in cls.columns:
        want_class, want_entity = labelled.labels[p.name]
        assert p.column_class == want_class, (p.name, p.evidence)
        if want_class == D and want_entity is not None:
            assert p.entity == want_entity, (p.name, p.evidence)


@pytest.mark.parametrize("make", [synthetic.people, synthetic.enterprises])
def test_registers_are_classified_as_labelled(make, presidio):
    labelled = make(4000, 21)
    _agree(labelled, classify(labelled.table, sample_rows=4000))


def test_undecidable_columns_are_sensitive(presidio):
    ids = synthetic.resident_ids(200, 1).to_pylist()
    mixed = ["普通文本"] * 150 + ids[:50]
    table = pa.table({"col_a": mixed, "empty": pa.nulls(200, pa.string()), "plain": ["x"] * 200})
    cls = classify(table)
    assert cls.column("col_a").column_class == S and cls.column("col_a").entity is None
    assert cls.column("empty").column_class == S
    assert cls.column("plain").column_class == O


def test_a_named_identifier_column_stays_direct_even_if_values_disagree(presidio):
    cls = classify(pa.table({"身份证号": ["unknown"] * 50}))
    assert cls.column("身份证号").column_class == D


def test_luhn_passes_by_chance_do_not_make_an_order_number_a_bank_card(presidio):
    import numpy as np

    rng = np.random.default_rng(1)
    orders = [str(x) for x in rng.integers(10**15, 10**16 - 1, 2000)]
    cls = classify(pa.table({"订单编号": orders}))
    assert cls.column("订单编号").column_class == O


def test_grade_follows_the_classes():
    assert Grade.from_classes([O]) == Grade.L1
    assert Grade.from_classes([O, Q]) == Grade.L2
    assert Grade.from_classes([Q, S]) == Grade.L3
    assert Grade.from_classes([D, Q]) == Grade.L3
    assert Grade.from_classes([D, S]) == Grade.L4


def test_override_confirm_save_and_load(tmp_path, presidio):
    labelled = synthetic.people(500, 2)
    cls = classify(labelled.table)
    with pytest.raises(ClassificationError, match="reason"):
        cls.override("职业", column_class="other", reason=" ")
    cls = cls.override("职业", column_class="other", reason="published in statistics", by="provider:alice")
    assert cls.column("职业").decided_by == "provider" and cls.column("职业").confirmed
    assert not cls.is_confirmed
    cls = cls.confirm(by="provider:alice")
    assert cls.is_confirmed
    path = cls.save(tmp_path / "c.json")
    again = Classification.load(path)
    assert again == cls
    assert again.grade == Grade.L4


def test_classification_files_hold_no_values(tmp_path, presidio):
    labelled = synthetic.people(800, 4)
    path = classify(labelled.table).save(tmp_path / "c.json")
    text = path.read_text(encoding="utf-8")
    for column in ("姓名", "身份证号", "手机号码", "户籍地址"):
        for value in labelled.table.column(column).to_pylist()[:200]:
            assert value.strip() not in text


def test_bad_classification_files(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text(json.dumps({"format": "something else"}))
    for name in ("a.json", "b.json", "missing.json"):
        with pytest.raises(ClassificationError):
            Classification.load(tmp_path / name)


def test_check_fits(presidio):
    cls = classify(pa.table({"a": ["1"], "b": ["2"]}))
    cls.check_fits(["b", "a"])
    with pytest.raises(ClassificationError):
        cls.check_fits(["a"])
