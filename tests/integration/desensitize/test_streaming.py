"""apply streams by batch: the result does not depend on the batch size; CSV = Parquet."""

from __future__ import annotations

import pyarrow.parquet as pq

from desensitize import TransformPlan, apply, classify, synthetic

SECRET = b"streaming-secret-0123456789abcdef"


def test_batch_size_does_not_change_the_output(tmp_path):
    src = tmp_path / "bench.parquet"
    synthetic.write_table("bench", 12_000, src, seed=8, row_group_size=2500)
    plan = TransformPlan.default(classify(src))
    plan = plan.with_transform("月收入", "generalize", to="band", width=1000)  # noise would be seeded per batch
    small = apply(src, tmp_path / "small.parquet", plan, SECRET, batch_size=1000)
    big = apply(src, tmp_path / "big.parquet", plan, SECRET, batch_size=100_000)
    assert small.batches > big.batches
    assert pq.read_table(tmp_path / "small.parquet").equals(pq.read_table(tmp_path / "big.parquet"))
    assert pq.ParquetFile(tmp_path / "small.parquet").num_row_groups == small.batches


def test_gbk_csv_and_parquet_give_the_same_output(tmp_path):
    synthetic.write_table("people", 3000, tmp_path / "p.csv", seed=2, encoding="gbk")
    synthetic.write_table("people", 3000, tmp_path / "p.parquet", seed=2)
    plan = TransformPlan.default(classify(tmp_path / "p.csv"))
    plan = plan.with_transform("月收入", "suppress")
    apply(tmp_path / "p.csv", tmp_path / "a.parquet", plan, SECRET)
    apply(tmp_path / "p.parquet", tmp_path / "b.parquet", plan, SECRET)
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    for name in a.column_names:
        assert a.column(name).to_pylist() == [None if v is None else str(v) for v in b.column(name).to_pylist()] \
            or a.column(name).to_pylist() == b.column(name).to_pylist(), name


def test_a_failure_midway_leaves_no_output(tmp_path, monkeypatch):
    import desensitize.bulk as bulk

    src = tmp_path / "bench.parquet"
    synthetic.write_table("bench", 5000, src, seed=8, row_group_size=1000)
    plan = TransformPlan.default(classify(src))
    calls = {"n": 0}
    real = bulk.query

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "query", flaky)
    try:
        apply(src, tmp_path / "out.parquet", plan, SECRET, batch_size=1000)
    except RuntimeError:
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.parquet"]
