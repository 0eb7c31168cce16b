"""Samples: capped, k-anonymous, checked; a sample that fails a check is not written."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from desensitize import classify, make_sample, synthetic
from desensitize.classification import Classification, ColumnProfile
from desensitize.entities import ColumnClass, Entity
from desensitize.errors import PlanError, SampleCheckFailed
from desensitize.io import open_source
from desensitize.kanon import Quasi, anonymize
from desensitize.sample import _quotas, draw

Q, S, O = ColumnClass.QUASI_IDENTIFIER, ColumnClass.SENSITIVE, ColumnClass.OTHER


@pytest.fixture(scope="module")
def people_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("people") / "people.parquet"
    pq.write_table(synthetic.people(6000, 5).table, path, row_group_size=1000)
    return path


@pytest.fixture(scope="module")
def people_cls(people_file):
    return classify(people_file)


def test_sample_is_k_anonymous_capped_and_reported(tmp_path, people_file, people_cls, secret):
    dest = tmp_path / "s.parquet"
    r = make_sample(people_file, dest, people_cls, secret=secret, rows=1000, fraction=0.5, k=5, seed=3)
    out = pq.read_table(dest)
    assert r.rows_drawn == 1000 and r.rows_written == out.num_rows <= 1000
    assert r.k_reached >= 5 and r.suppression_rate <= 0.05
    classes = out.group_by(list(r.quasi_identifiers)).aggregate([([], "count_all")])
    assert min(classes.column("count_all").to_pylist()) >= 5
    assert "月收入" in r.l_diversity and r.l_diversity["月收入"] >= 1
    assert any(rule.startswith("simple random sample") for rule in r.rules)
    assert r.sha256 and r.seed == 3


def test_fraction_caps_the_sample(tmp_path, people_file, people_cls, secret):
    r = make_sample(people_file, tmp_path / "s.parquet", people_cls, secret=secret, rows=5000, fraction=0.05, k=3,
                    seed=1)
    assert r.rows_drawn == 300


def test_same_seed_same_sample(tmp_path, people_file, people_cls, secret):
    a = make_sample(people_file, tmp_path / "a.parquet", people_cls, secret=secret, rows=500, k=3, seed=9)
    b = make_sample(people_file, tmp_path / "b.parquet", people_cls, secret=secret, rows=500, k=3, seed=9)
    assert a.sha256 == b.sha256


def test_impossible_k_fails_and_writes_nothing(tmp_path, people_file, people_cls, secret):
    dest = tmp_path / "s.parquet"
    with pytest.raises(SampleCheckFailed):
        make_sample(people_file, dest, people_cls, secret=secret, rows=20, fraction=1.0, k=50, seed=1)
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_l_diversity_requirement_fails_closed(tmp_path, people_file, people_cls, secret):
    dest = tmp_path / "s.parquet"
    with pytest.raises(SampleCheckFailed, match="l-diversity"):
        make_sample(people_file, dest, people_cls, secret=secret, rows=1000, k=5, l=10_000, seed=1)
    assert not dest.exists()


def test_a_kept_identifier_blocks_the_sample(tmp_path, people_file, people_cls, secret):
    wrong = people_cls.override("手机号码", column_class="other", reason="test: wrongly declared not personal")
    dest = tmp_path / "s.parquet"
    with pytest.raises(SampleCheckFailed, match="CN_MOBILE"):
        make_sample(people_file, dest, wrong, secret=secret, rows=500, k=3, seed=1)
    assert not dest.exists()


def test_stratified_sample_keeps_the_proportions(tmp_path, people_file, people_cls, secret):
    src = open_source(people_file)
    sample, total = draw(src, rows=600, fraction=1.0, strata=("性别",), seed=4)
    full = pq.read_table(people_file)
    share = pc.sum(pc.equal(full["性别"], "男")).as_py() / total
    got = pc.sum(pc.equal(sample["性别"], "男")).as_py() / sample.num_rows
    assert sample.num_rows == 600 and abs(share - got) < 0.01
    with pytest.raises(PlanError):
        make_sample(people_file, tmp_path / "s.parquet", people_cls, secret=secret, strata=["身份证号"])


def test_quotas_largest_remainder():
    assert _quotas({"a": 1, "b": 1, "c": 1}, 2) in ({"a": 1, "b": 1, "c": 0}, {"a": 1, "b": 0, "c": 1},
                                                    {"a": 0, "b": 1, "c": 1})
    assert sum(_quotas({"a": 7, "b": 3}, 5).values()) == 5


def test_anonymize_generalizes_before_suppressing():
    years = [str(1950 + i % 40) for i in range(400)]
    table = pa.table({"y": years, "s": [str(i % 7) for i in range(400)]})
    result = anonymize(table, [Quasi("y", Entity.BIRTH_DATE)], ["s"], k=20, max_suppression=0.0)
    assert result.k_reached >= 20 and result.suppressed == 0
    assert result.levels["y"] != "as transformed"
    assert result.l_diversity["s"] >= 2
