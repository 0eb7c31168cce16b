"""Generators: deterministic by seed, valid check characters, messy forms normalize back."""

from __future__ import annotations

import pytest

from desensitize import synthetic
from desensitize.checks import detect_value, is_credit_code, is_resident_id15, is_resident_id18, luhn_ok
from desensitize.entities import ColumnClass, Entity
from desensitize.normalize import canonical_identifier


def test_deterministic_by_seed():
    a = synthetic.people(500, 42).table
    b = synthetic.people(500, 42).table
    c = synthetic.people(500, 43).table
    assert a.equals(b) and not a.equals(c)


def test_identifiers_are_valid():
    assert all(is_resident_id18(v) for v in synthetic.resident_ids(2000, 1).to_pylist())
    legacy = synthetic.resident_ids(2000, 1, legacy=1.0).to_pylist()
    assert all(len(v) == 15 and is_resident_id15(v) for v in legacy)
    assert all(is_credit_code(v) for v in synthetic.credit_codes(2000, 1).to_pylist())
    assert all(luhn_ok(v) for v in synthetic.bank_cards(2000, 1).to_pylist())


@pytest.mark.parametrize("entity", sorted(synthetic.GENERATORS, key=lambda e: e.value))
def test_every_generated_value_is_detected_as_its_entity_even_when_messy(entity):
    for v in synthetic.values(entity, 1000, 5, messy_rate=0.6).to_pylist():
        assert detect_value(v) == entity


def test_messy_forms_canonicalize_to_the_clean_value():
    clean = synthetic.mobiles(500, 2)
    messy = synthetic.messy(clean, Entity.MOBILE, 3, rate=1.0)
    assert [canonical_identifier(v, Entity.MOBILE) for v in messy.to_pylist()] == clean.to_pylist()
    assert messy.to_pylist() != clean.to_pylist()


def test_remarks_report_what_they_embed():
    r = synthetic.remarks(300, 9)
    texts = r.texts.to_pylist()
    for row in r.embedded.to_pylist():
        assert row["value"] in texts[row["row"]]


def test_labelled_tables_have_a_label_for_every_column():
    for make in (synthetic.people, synthetic.enterprises, synthetic.mixed_public, synthetic.bench_table):
        t = make(50, 1)
        assert set(t.labels) == set(t.table.column_names)
        assert all(isinstance(c, ColumnClass) for c, _ in t.labels.values())
    assert synthetic.mixed_public(10, 1).table.num_columns == 30


def test_write_table_csv_gbk_and_parquet(tmp_path):
    from desensitize import read_table

    synthetic.write_table("people", 1200, tmp_path / "p.csv", seed=3, encoding="gbk")
    synthetic.write_table("people", 1200, tmp_path / "p.parquet", seed=3)
    a, b = read_table(tmp_path / "p.csv"), read_table(tmp_path / "p.parquet")
    assert a.column("身份证号").to_pylist() == b.column("身份证号").to_pylist()
