"""Red team: inputs and plans that try to get raw identifiers out, or to make a check pass
by not deciding. Every attempt must be refused or blocked."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desensitize import TransformPlan, apply, classify, make_sample, scan_table, scan_values, synthetic
from desensitize.bulk import transform_table
from desensitize.classification import Classification, ColumnProfile
from desensitize.entities import ColumnClass, Entity
from desensitize.errors import CannotCertify, DesensitizeError, PlanError, SampleCheckFailed

SECRET = b"security-secret-0123456789abcdefgh"
D, O = ColumnClass.DIRECT_IDENTIFIER, ColumnClass.OTHER


def _one(name: str, column_class=O, entity=None) -> Classification:
    return Classification("t", (ColumnProfile(name, column_class, entity, 1.0, ()),), 1, "", "")


def test_keep_on_a_direct_identifier_is_refused_in_every_form(tmp_path):
    plan = TransformPlan.default(_one("身份证号", D, Entity.RESIDENT_ID))
    for transform, params in [("keep", {}), ("noise", {"bound": 0}), ("date_shift", {"days": 1}),
                              ("mask", {"keep_first": 18}), ("generalize", {"to": "prefix", "chars": 18})]:
        with pytest.raises(PlanError):
            plan.with_transform("身份证号", transform, **params)
    path = plan.save(tmp_path / "p.json")
    path.write_text(path.read_text(encoding="utf-8").replace('"pseudonymize"', '"keep"'), encoding="utf-8")
    with pytest.raises(PlanError):
        TransformPlan.load(path)


def test_a_column_missing_from_the_plan_is_not_copied_through(tmp_path):
    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": ["x"], "身份证号": ["330106199001011234"]}), src)
    plan = TransformPlan.default(_one("a"))
    with pytest.raises(PlanError, match="no transform"):
        apply(src, tmp_path / "out.parquet", plan, SECRET)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("name", ['a"b', 'x" FROM __batch; SELECT 1 --', "列'名", "__t0", "__T3", "__noise_0"])
def test_hostile_column_names_are_only_names(name):
    table = pa.table({name: ["13812345678"]})
    plan = TransformPlan.default(_one(name, D, Entity.MOBILE))
    out = transform_table(table, plan, SECRET)
    assert out.column_names == [name] and out.column(0)[0].as_py().startswith("ps_")


def test_hostile_parameters_are_refused_or_quoted():
    plan = TransformPlan.default(_one("c"))
    out = transform_table(pa.table({"c": ["abcdef"]}), plan.with_transform("c", "mask", char="'", keep_first=1),
                          SECRET)
    assert out.column(0)[0].as_py() == "A'''''"  # normalized, then masked
    for bad in ({"to": "year'); DROP TABLE x; --"}, {"to": "region", "digits": "6) OR (1"}):
        with pytest.raises(PlanError):
            plan.with_transform("c", "generalize", **bad)


def test_transform_sql_has_no_file_access():
    from desensitize.sqlkit import connect, query

    con = connect()
    for sql in ("SELECT * FROM read_csv('/etc/passwd')", "COPY (SELECT 1) TO '/tmp/x.csv'",
                "INSTALL httpfs", "SET enable_external_access=true", "ATTACH '/tmp/evil.db'"):
        with pytest.raises(Exception):
            query(con, sql, {})


def test_an_entity_without_a_detector_cannot_be_certified():
    with pytest.raises(CannotCertify):
        scan_values(["x"], entities=[Entity.HEALTH])
    from desensitize.analyzer import analyze_text

    with pytest.raises(CannotCertify):
        analyze_text("x", [Entity.RELIGION])


def test_a_slow_scan_is_interrupted_and_blocks():
    texts = pa.array(["联系人张三电话13812345678 " * 200] * 3000)
    with pytest.raises(CannotCertify, match="limit"):
        scan_table(pa.table({"t": texts}), timeout=0.01)


def test_identifiers_hidden_among_decoys_are_still_reported():
    import numpy as np

    rng = np.random.default_rng(3)
    decoys = [str(x) for x in rng.integers(10**17, 10**18 - 1, 2000)]
    real = synthetic.resident_ids(5, 1).to_pylist()
    found = {(f.entity, f.mode): f.rows for f in scan_values(decoys + real)}
    assert found.get((Entity.RESIDENT_ID, "cell"), 0) >= 5


def test_identifiers_split_and_disguised_in_text_are_found():
    values = ["身份证：３３０１０６ １９９００１０１ １２３ｘ", "手机 +86-138-1234-5678", "邮箱ＺＨＡＮＧ＠ＱＱ．ＣＯＭ",
              "卡号 6222 0212 3456 7890 128"]
    entities = {f.entity for f in scan_values(values)}
    assert {Entity.MOBILE, Entity.EMAIL} <= entities


def test_pseudonyms_are_recognised_so_they_cannot_leave_as_data(tmp_path):
    from desensitize import pseudonymize

    ps = pseudonymize(synthetic.resident_ids(50, 1), SECRET, Entity.RESIDENT_ID)
    found = scan_table(pa.table({"key": ps, "note": pa.array([f"客户{p}已办" for p in ps.to_pylist()])}))
    assert {(f.column, f.entity) for f in found} == {("key", Entity.PSEUDONYM), ("note", Entity.PSEUDONYM)}


def test_a_sample_with_a_surviving_identifier_is_never_written(tmp_path):
    labelled = synthetic.people(2000, 3)
    src = tmp_path / "p.parquet"
    pq.write_table(labelled.table, src)
    cls = classify(src)
    other = cls.override("身份证号", column_class="other", reason="attack: declare the ID not personal")
    with pytest.raises(SampleCheckFailed, match="CN_RESIDENT_ID"):
        make_sample(src, tmp_path / "s.parquet", other, secret=SECRET, rows=500, k=2, seed=1, max_suppression=0.5)
    assert not (tmp_path / "s.parquet").exists()
    # declared a quasi-identifier, the ID is kept but k-anonymity generalizes it away
    quasi = cls.override("身份证号", column_class="quasi_identifier", reason="attack: downgrade the ID")
    make_sample(src, tmp_path / "q.parquet", quasi, secret=SECRET, rows=500, k=2, seed=1, max_suppression=0.5)
    written = set(pq.read_table(tmp_path / "q.parquet").column("身份证号").to_pylist())
    assert not written & set(labelled.table.column("身份证号").to_pylist())


def test_pseudonyms_need_the_key():
    """Without the secret, brute-forcing the ID space gives nothing: a pseudonym made with
    another key never matches, and a plain or salted hash of the ID is not the pseudonym."""
    import hashlib

    from desensitize import pseudonymize_value

    value = "33010619900101123X"
    target = pseudonymize_value(value, SECRET, Entity.RESIDENT_ID)
    guesses = {pseudonymize_value(value, SECRET[:-1] + bytes([b]), Entity.RESIDENT_ID) for b in range(256)} - {target}
    assert len(guesses) == 255
    for salt in (b"", b"aod", b"aod/desensitize/pseudonym/v1"):
        assert hashlib.sha256(salt + value.encode()).hexdigest()[:32] != target[3:]


def test_errors_are_desensitize_errors_with_one_line():
    with pytest.raises(DesensitizeError) as info:
        apply("/nonexistent/file.csv", "/tmp/x.parquet", TransformPlan.default(_one("a")), SECRET)
    assert "\n" not in info.value.diagnostics()
