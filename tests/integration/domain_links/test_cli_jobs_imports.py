"""`aod job …` and `aod import …` through the real entry point (`python -m domain`, a separate
process on the same home) after a real bubblewrap tenant ran jobs and asked for imports through
the real SDK."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.domain_links.test_gateway import JOB

pytestmark = [pytest.mark.bwrap, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
LEAKY_LOG = "import pyarrow.parquet as pq\nprint(pq.read_table('/data/raw/population.parquet')['id_number'][0])\n"


def aod(world, who: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AOD_HOME": str(world.home), "AOD_TOKEN": world.token(who), "PYTHONPATH": str(REPO),
           "AOD_SESSION_DIR": str(world.home.parent / "sessions"), "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "domain", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)


@pytest.fixture(scope="module")
def ran(world, tmp_path_factory):
    """A tenant that ran two jobs (one with withheld logs) and asked for two imports."""
    from tenants.sdk import Client

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-cli")
    d.tenancy.start(admin, tenant.id, wait_s=None)
    try:
        client = Client.at_socket(d.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket, timeout=120)
        folder = tmp_path_factory.mktemp("cli-jobs")
        (folder / "main.py").write_text(JOB)
        (folder / "leaky.py").write_text(LEAKY_LOG)
        good = client.submit_job(folder / "main.py", name="headcount").wait(timeout=180)
        leaky = client.submit_job(folder / "leaky.py", name="leaky").wait(timeout=180)
        ids = _population_ids(world, 30)  # an approved import must name its people (R15: privacy unit)
        (folder / "survey.csv").write_text("id_number,score\n" + "".join(f"{i},{n % 5}\n" for n, i in enumerate(ids)))
        keep = client.request_import(folder / "survey.csv", name="survey", description="street survey")
        drop = client.request_import(folder / "survey.csv", name="survey2", description="again")
        yield tenant, good, leaky, keep.import_id, drop.import_id
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test finished")


def _population_ids(world, n: int) -> list[str]:
    from domain.rawstore import read_table

    d = world.domain
    return read_table(d.catalog.raw_dir("population"), d.keys.get("dataset", "population")).column(
        "id_number").to_pylist()[:n]


def test_job_list_and_show_give_states_hashes_and_reasons(world, ran):
    tenant, good, leaky, _, _ = ran
    listed = aod(world, "admin", "job", "list", "--tenant", tenant.id, "--json")
    assert listed.returncode == 0, listed.stderr
    by_id = {j["id"]: j for j in json.loads(listed.stdout)}
    assert set(by_id) == {good.job_id, leaky.job_id} and by_id[good.job_id]["state"] == "succeeded"
    outputs = {o["name"]: o for o in by_id[good.job_id]["outputs"]}
    assert outputs["by_district.csv"]["state"] == "released"
    assert outputs["leak.csv"]["state"] == "withheld" and outputs["leak.csv"]["reason"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", o["sha256"]) for o in outputs.values())

    shown = aod(world, "alice", "job", "show", good.job_id)  # staff of the tenant's operator
    assert shown.returncode == 0, shown.stderr
    for name, output in outputs.items():
        assert name in shown.stdout and output["sha256"] in shown.stdout.replace("\n", "").replace(" ", "")
    assert "released" in shown.stdout and "withheld" in shown.stdout
    table = aod(world, "admin", "job", "list", "--tenant", tenant.id)
    assert table.returncode == 0 and "1 released, 1 withheld" in table.stdout


def test_job_logs_only_as_checked_text(world, ran):
    tenant, good, leaky, _, _ = ran
    logs = aod(world, "admin", "job", "logs", good.job_id)
    assert logs.returncode == 0 and "rows read:" in logs.stdout
    withheld = aod(world, "admin", "job", "logs", leaky.job_id)
    assert withheld.returncode == 2 and "withheld" in withheld.stderr
    assert not re.search(r"\d{11,}", withheld.stdout + withheld.stderr)
    shown = aod(world, "admin", "job", "show", leaky.job_id, "--json")
    assert json.loads(shown.stdout)["logs_available"] is False


def test_only_the_authority_and_the_operator_see_jobs(world, ran):
    tenant, good, _, _, _ = ran
    for who in ("rita", "reg"):
        refused = aod(world, who, "job", "show", good.job_id)
        assert refused.returncode == 2 and refused.stderr.startswith("aod: error:"), who
    missing = aod(world, "admin", "job", "logs", "j-000000000000")
    assert missing.returncode == 2 and "no job" in missing.stderr


def test_import_list_approve_refuse(world, ran):
    _, _, _, keep, drop = ran
    pending = aod(world, "admin", "import", "list", "--state", "pending", "--json")
    assert pending.returncode == 0, pending.stderr
    assert {keep, drop} <= {i["id"] for i in json.loads(pending.stdout)}
    mine = aod(world, "alice", "import", "list", "--json")
    assert mine.returncode == 0 and {i["operator_id"] for i in json.loads(mine.stdout)} == {"op-hz-insight"}

    denied = aod(world, "alice", "import", "approve", keep, "--reason", "our own data")
    assert denied.returncode == 2 and "may not" in denied.stderr
    approved = aod(world, "admin", "import", "approve", keep, "--reason", "lawfully obtained, licence seen")
    assert approved.returncode == 0 and f"import {keep} is approved" in approved.stdout
    refused = aod(world, "admin", "import", "refuse", drop, "--reason", "no proof of lawful origin")
    assert refused.returncode == 0 and f"import {drop} is refused" in refused.stdout
    assert not (world.home / "imports" / keep).exists() and not (world.home / "imports" / drop).exists()
    assert "dataset imp_op_hz_insight_survey of op-hz-insight" in approved.stdout  # now the operator's dataset

    again = aod(world, "admin", "tenant", "import-decide", keep, "--refuse", "--reason", "changed my mind")
    assert again.returncode == 2 and "approved already" in again.stderr
    bad = aod(world, "admin", "import", "list", "--state", "maybe")
    assert bad.returncode == 2 and "pending, approved, refused" in bad.stderr
    decided = {i["id"]: (i["state"], i["decided_by"]) for i in json.loads(
        aod(world, "admin", "import", "list", "--json").stdout)}
    assert decided[keep] == ("approved", "admin") and decided[drop] == ("refused", "admin")
    actions = {(e.event.action.value, r.id) for e in world.domain.audit_log.query() for r in e.event.targets
               if r.kind == "import"}
    assert {("import.approve", keep), ("import.refuse", drop)} <= actions
