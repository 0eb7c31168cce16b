"""Raw values never appear in errors, reports, classification files or logs."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desensitize import TransformPlan, apply, classify, make_sample, read_table, scan_table, synthetic
from desensitize.errors import DesensitizeError

SECRET = b"no-values-secret-0123456789abcdefgh"
RAW = ["330106199001011234", "13812345678", "张三丰", "zhang@qq.com", "6222021234567890128"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("leak")
    labelled = synthetic.people(1500, 12)
    pq.write_table(labelled.table, d / "p.parquet")
    values = [v for col in ("姓名", "身份证号", "手机号码") for v in labelled.table.column(col).to_pylist()]
    return d, labelled, values


def test_reports_and_files_carry_no_values(files, caplog):
    d, labelled, values = files
    with caplog.at_level(logging.DEBUG):
        cls = classify(d / "p.parquet")
        cls.save(d / "c.json")
        plan = TransformPlan.default(cls)
        plan.save(d / "plan.yaml")
        a = apply(d / "p.parquet", d / "out.parquet", plan, SECRET)
        s = make_sample(d / "p.parquet", d / "s.parquet", cls, secret=SECRET, rows=500, k=2, seed=1,
                        max_suppression=0.5)
        findings = scan_table(labelled.table)
    blobs = [(d / "c.json").read_text(encoding="utf-8"), (d / "plan.yaml").read_text(encoding="utf-8"),
             json.dumps(a.to_dict(), ensure_ascii=False), json.dumps(s.to_dict(), ensure_ascii=False),
             json.dumps([f.to_dict() for f in findings], ensure_ascii=False),
             "\n".join(r.getMessage() for r in caplog.records)]
    for blob in blobs:
        for v in values:
            assert v.strip() not in blob


@pytest.mark.parametrize("content", [
    "姓名,身份证号\n张三丰,330106199001011234,13812345678\n",  # too many fields
    "姓名,身份证号\n\"张三丰,330106199001011234\n",  # unterminated quote
])
def test_malformed_rows_are_never_quoted(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DesensitizeError) as info:
        read_table(path)
    message = info.value.diagnostics() + str(info.value) + repr(info.value.args)
    assert not any(v in message for v in RAW)


def test_invalid_bytes_in_gbk_are_never_quoted(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes("姓名,号码\n张三丰,13812345678\n".encode("gbk") + b"\x81\x20\xff\xff,13812345678\n" * 30000)
    with pytest.raises(DesensitizeError) as info:
        read_table(path)
    assert not any(v in info.value.diagnostics() for v in RAW)


def test_internal_errors_do_not_carry_values_into_the_cli(tmp_path):
    """The CLI prints only diagnostics() of our errors, and only the type of others."""
    import subprocess

    path = tmp_path / "bad.csv"
    path.write_text("a,b\n330106199001011234,13812345678,张三丰\n", encoding="utf-8")
    proc = subprocess.run(["aod", "desensitize", "scan", str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert not any(v in proc.stdout + proc.stderr for v in RAW)
