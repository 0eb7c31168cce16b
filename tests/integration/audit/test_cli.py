"""`aod audit …` through the real `aod` command on a real domain home."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.factories import add_operator, add_staff, new_domain

AOD = shutil.which("aod")


def aod(*args: str, env_home: Path | None = None, check: int | None = 0) -> subprocess.CompletedProcess:
    assert AOD, "the aod command is not installed (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != "AOD_HOME"}
    if env_home is not None:
        env["AOD_HOME"] = str(env_home)
    proc = subprocess.run([AOD, *args], capture_output=True, text=True, env=env, timeout=300)
    if check is not None:
        assert proc.returncode == check, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("domain") / "home"
    domain = new_domain(home)
    add_operator(domain)
    add_staff(domain)
    domain.store.close()
    return home


def test_verify_query_and_sql(home):
    out = aod("audit", "verify", "--home", str(home)).stdout
    assert out.startswith("OK: verified")
    init = json.loads(aod("--home", str(home), "audit", "query", "--action", "domain.init", "--json").stdout)
    assert len(init) == 1 and init[0]["actor"]["role"] == "system"
    ops = json.loads(aod("audit", "query", "--org", "op-hz", "--json", env_home=home).stdout)
    assert {"operator.register", "principal.create"} <= {e["action"] for e in ops}
    table = aod("audit", "query", "--home", str(home)).stdout
    assert "domain.init" in table
    rows = json.loads(aod("audit", "sql", "SELECT action, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
                          "--json", "--home", str(home)).stdout)
    assert rows["columns"] == ["action", "n"] and ["domain.init", 1] in rows["rows"]


@pytest.mark.parametrize("args, fragment", [
    (["audit", "query", "--action", "nope"], "is not an audit action"),
    (["audit", "query", "--since", "yesterday"], "since must be a date"),
    (["audit", "sql", "COPY (SELECT 1) TO '/tmp/aod-x.csv'"], "only SELECT statements"),
    (["audit", "sql", "SELECT * FROM read_text('/etc/passwd')"], "disabled by configuration"),
    (["audit", "sql", "SELEC 1"], "does not parse"),
    (["audit", "settings", "--retention-days", "30"], "below the legal floor"),
    (["audit", "trace", "population"], "kind:id"),
    (["audit", "prove", "999999"], "is not in the log"),
    (["audit", "prune"], "nothing to prune"),
])
def test_bad_input_is_one_line_error(home, args, fragment):
    proc = aod(*args, "--home", str(home), check=2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aod: error: ") and fragment in lines[0], proc.stderr


def test_proofs_heads_trace_report_settings_pubkey(home, tmp_path):
    proof = json.loads(aod("audit", "prove", "0", "--json", "--home", str(home)).stdout)
    assert proof["verified"] and proof["index"] == 0
    head = tmp_path / "head.txt"
    aod("audit", "checkpoint", "--out", str(head), "--home", str(home))
    assert head.read_text().count("\n") >= 6
    aod("audit", "query", "--home", str(home))  # the log grows (reads are recorded)
    assert "append-only" in aod("audit", "prove", "--from-head", str(head), "--home", str(home)).stdout
    assert "OK: verified" in aod("audit", "verify", "--trusted-head", str(head), "--home", str(home)).stdout
    trace = json.loads(aod("audit", "trace", "operator:op-hz", "--json", "--home", str(home)).stdout)
    assert any(e["action"] == "operator.register" for e in trace["events"])
    report = json.loads(aod("audit", "report", "op-hz", "--year", "2026", "--json", "--home", str(home)).stdout)
    assert report["org"] == "op-hz" and report["total_events"] >= 1
    assert "# Annual operation report" in aod("audit", "report", "op-hz", "--year", "2026", "--markdown",
                                              "--home", str(home)).stdout
    plan = json.loads(aod("audit", "prune", "--dry-run", "--json", "--home", str(home)).stdout)
    assert plan["segments"] == 0
    settings = json.loads(aod("audit", "settings", "--json", "--home", str(home)).stdout)
    assert settings["retention_days"] == 180
    assert "BEGIN PUBLIC KEY" in aod("audit", "pubkey", "--home", str(home)).stdout
    reads = json.loads(aod("audit", "query", "--action", "audit.*", "--json", "--home", str(home)).stdout)
    assert {"audit.query", "audit.verify", "audit.report"} <= {e["action"] for e in reads}


def test_a_regulator_without_the_key_verifies_a_copy(home, tmp_path):
    copy = tmp_path / "regulator-copy"
    shutil.copytree(home / "audit", copy / "audit")
    pub = tmp_path / "log.pub"
    shutil.copy(home / "audit" / "log.pub", pub)
    out = aod("audit", "verify", "--public-key", str(pub), "--home", str(copy)).stdout
    assert out.startswith("OK: verified")
    assert json.loads(aod("audit", "query", "--json", "--limit", "1", "--home", str(copy)).stdout)


def test_tampering_fails_verify_with_a_pointer(home, tmp_path):
    copy = tmp_path / "tampered"
    shutil.copytree(home / "audit", copy / "audit")
    seg = copy / "audit" / "segments" / "000000000000.jsonl"
    lines = seg.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"outcome":"ok"', b'"outcome":"no"')
    seg.write_bytes(b"\n".join(lines))
    proc = aod("audit", "verify", "--home", str(copy), check=2)
    assert "FAIL" in proc.stderr and "event #0" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("aod: error: ")
    bad = json.loads(aod("audit", "verify", "--json", "--home", str(copy), check=2).stdout)
    assert bad["ok"] is False and bad["problems"][0]["index"] == 0
