"""The `aod desensitize` commands, end to end through the real CLI, on a GBK CSV file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

SECRET_HEX = "ab" * 24


def aod(*args, cwd, env=None, check=True):
    full_env = {**os.environ, "AOD_DESENSITIZE_SECRET": SECRET_HEX, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "domain.cli", *args] if False else ["aod", *args], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"aod {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    aod("desensitize", "synth", "people", "3000", "people.csv", "--encoding", "gbk", "--seed", "4", cwd=d)
    return d


def test_classify_override_plan_apply_sample_scan(work):
    out = aod("desensitize", "classify", "people.csv", "--json", cwd=work)
    cls = json.loads(out.stdout)
    assert cls["grade"] == "L4" and (work / "people.classification.json").exists()
    aod("desensitize", "override", "people.classification.json", "职业", "--class", "other", "--reason",
        "published in yearly statistics", "--by", "provider:alice", cwd=work)
    aod("desensitize", "confirm", "people.classification.json", "--by", "provider:alice", cwd=work)
    shown = json.loads(aod("desensitize", "show", "people.classification.json", "--json", cwd=work).stdout)
    assert all(c["confirmed"] for c in shown["columns"])
    aod("desensitize", "plan", "people.classification.json", "-o", "plan.yaml", cwd=work)
    report = json.loads(aod("desensitize", "apply", "people.csv", "people.parquet", "--plan", "plan.yaml", "--json",
                            cwd=work).stdout)
    assert report["rows"] == 3000 and pq.read_table(work / "people.parquet").num_rows == 3000
    sample = json.loads(aod("desensitize", "sample", "people.csv", "sample.parquet", "--classification",
                            "people.classification.json", "--rows", "1000", "--fraction", "0.5", "--k", "5",
                            "--seed", "1", "--json", cwd=work).stdout)
    assert sample["k_reached"] >= 5 and (work / "sample.parquet").exists()
    findings = json.loads(aod("desensitize", "scan", "people.parquet", "--json", cwd=work).stdout)
    assert {f["entity"] for f in findings} == {"AOD_PSEUDONYM"}


def test_secret_from_a_file_under_home(work, tmp_path):
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    (home / "keys" / "people.key").write_bytes(os.urandom(32))
    aod("desensitize", "classify", "people.csv", "-o", "c.json", cwd=work)
    aod("desensitize", "apply", "people.csv", "x.parquet", "--classification", "c.json", "--secret-file",
        "keys/people.key", "--home", str(home), cwd=work, env={"AOD_DESENSITIZE_SECRET": ""})


def test_errors_are_one_line_with_exit_code_2(work):
    (work / "bad.csv").write_text("a,b\n1,2,3\n", encoding="utf-8")
    proc = aod("desensitize", "classify", "bad.csv", cwd=work, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "aod: error: file bad.csv: malformed CSV: a row has 3 fields, expected 2"
    proc = aod("desensitize", "apply", "people.csv", "y.parquet", "--classification", "people.classification.json",
               cwd=work, check=False, env={"AOD_DESENSITIZE_SECRET": ""})
    assert proc.returncode == 2 and "no secret" in proc.stderr
    proc = aod("desensitize", "apply", "nothere.csv", "y.parquet", "--classification", "people.classification.json",
               cwd=work, check=False)
    assert proc.returncode == 2 and "not found" in proc.stderr
    assert not (work / "y.parquet").exists()


def test_help_is_fast_and_lists_the_commands(work):
    proc = aod("desensitize", "--help", cwd=work)
    for command in ("classify", "apply", "sample", "scan", "override", "plan"):
        assert command in proc.stdout
