"""R15 end to end: an operator's staff upload social data from a real bubblewrap tenant through
the real SDK; the authority's approval makes it the operator's own dataset (classified,
encrypted, restricted), joinable with the granted public data under the same policy, invisible
to another operator and never exportable raw. A refusal or a bad upload leaves nothing behind."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

pytestmark = [pytest.mark.bwrap, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
DATASET = "imp_op_hz_insight_doorstep"
JOIN_SQL = (f"SELECT p.district, count(*) AS n, avg(s.score) AS mean_score FROM population p "
            f"JOIN {DATASET} s ON p.id_number = s.id_number GROUP BY 1")


@pytest.fixture(scope="module")
def client(world):
    from tenants.sdk import Client

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-import-ds")
    d.tenancy.start(admin, tenant.id, wait_s=60)
    try:
        yield Client.at_socket(d.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket, timeout=120)
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test finished")


@pytest.fixture(scope="module")
def survey(world, client, tmp_path_factory):
    """600 people of the population register with a survey score and household income."""
    from domain.rawstore import read_table

    d = world.domain
    people = read_table(d.catalog.raw_dir("population"), d.keys.get("dataset", "population"))
    rng = random.Random(15)
    ids = people.column("id_number").to_pylist()[:600]
    table = pa.table({"id_number": ids, "score": [rng.randint(1, 5) for _ in ids],
                      "household_income": [rng.randint(20_000, 900_000) for _ in ids]})
    path = tmp_path_factory.mktemp("survey") / "survey.csv"
    pacsv.write_csv(table, path)
    ticket = client.request_import(path, name="doorstep", description="door-to-door survey, consent on file")
    from domain.tenancy import ImportService

    ImportService(d).decide(world.principal("admin"), ticket.import_id, approve=True,
                            reason="lawfully obtained, consent forms seen")
    return ticket.import_id, table


@pytest.fixture(scope="module")
def other_grant(world):
    """A second licensed operator with its own active grant on the population register."""
    d, admin = world.domain, world.principal("admin")
    d.operators.register(admin, operator_id="op-other", name="另一家公司", credit_code=_uscc("91330106MA2CXJ8U0"))
    d.principals.create(admin, principal_id="olga", display_name="Olga", role="operator_staff", org="op-other",
                        password="olga-pass-1234567")
    today = d.today()
    d.principals.set_compliance(admin, "olga", realname_verified_on=today, realname_method="in person",
                                nda_signed_on=today, nda_expires_on=today + timedelta(days=365),
                                training_passed_on=today)
    grant = d.grants.create(admin, operator_id="op-other", scenario="人口结构分析 (population structure)",
                            columns={"population": ("id_number", "district", "education")},
                            emergency_plan="EP-2026-099", starts_on=today, expires_on=today + timedelta(days=90),
                            purpose="population structure report")
    return d.grants.activate(admin, grant.id, reason="approved for the test")


def _uscc(prefix: str) -> str:
    from domain.operators import _USCC_ALPHABET, _USCC_WEIGHTS

    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(prefix, _USCC_WEIGHTS))
    return prefix + _USCC_ALPHABET[(31 - total % 31) % 31]


def test_approval_makes_an_encrypted_restricted_active_dataset_of_the_operator(world, survey):
    from domain.rawstore import read_table

    d = world.domain
    import_id, table = survey
    ds = d.catalog.get(DATASET)
    assert (ds.provider, ds.open_attribute.value, ds.status.value) == ("op-hz-insight", "restricted", "active")
    assert ds.privacy_unit == "id_number" and ds.rows == table.num_rows
    assert not (world.home / "imports" / import_id).exists()
    stored = b"".join(p.read_bytes() for p in d.catalog.raw_dir(DATASET).rglob("*") if p.is_file())
    assert table.column("id_number")[0].as_py().encode() not in stored  # encrypted at rest
    back = read_table(d.catalog.raw_dir(DATASET), d.keys.get("dataset", DATASET))
    assert sorted(back.column("id_number").to_pylist()) == sorted(table.column("id_number").to_pylist())
    events = [e.event for e in d.audit_log.query()]
    approve = [e for e in events if e.action.value == "import.approve" and e.targets[0].id == import_id]
    assert len(approve) == 1 and [(o.kind, o.id, o.sha256) for o in approve[0].outputs] == \
        [("dataset", DATASET, ds.content_sha256)]
    assert any(e.action.value == "dataset.ingest" and e.targets[0].id == DATASET for e in events)


def test_the_operator_joins_it_with_public_data_under_the_k_rule(world, survey):
    from domain.errors import QueryRefused

    d, alice = world.domain, world.principal("alice")
    outcome = d.queries.run(alice, world.grant.id, JOIN_SQL)
    assert DATASET in outcome.datasets and "population" in outcome.datasets
    counts = outcome.table.column("n").to_pylist()
    assert counts and all(n >= outcome.k for n in counts) and sum(counts) <= 600
    fine = d.queries.run(alice, world.grant.id,
                         f"SELECT s.household_income, count(*) AS n FROM {DATASET} s GROUP BY 1")
    assert fine.rows == 0 and fine.suppressed > 0  # every income is unique: all suppressed below k
    with pytest.raises(QueryRefused):
        d.queries.run(alice, world.grant.id, f"SELECT id_number, score FROM {DATASET}")


def test_another_operator_cannot_query_or_see_it(world, survey, other_grant):
    from domain.errors import QueryRefused
    from domain.exports import raw_access_for

    d, olga = world.domain, world.principal("olga")
    assert d.queries.run(olga, other_grant.id, "SELECT district, count(*) AS n FROM population GROUP BY 1").rows
    with pytest.raises(QueryRefused):
        d.queries.run(olga, other_grant.id, f"SELECT count(*) AS n FROM {DATASET}")
    with pytest.raises(QueryRefused):
        d.queries.run(olga, other_grant.id, JOIN_SQL)
    assert DATASET not in {t.table for t in d.queries.scope(other_grant).datasets}
    assert DATASET not in raw_access_for(d, other_grant.id).names
    from domain.tenancy.imports import grant_datasets

    assert DATASET not in grant_datasets(d, other_grant)  # no job data, no sample for another operator


def test_a_product_with_its_raw_rows_is_blocked_at_export(world, survey, tmp_path):
    d = world.domain
    _, table = survey
    product = table.select(["score", "household_income"]).slice(0, 60)
    path = tmp_path / "incomes.csv"
    pacsv.write_csv(product, path)
    request = d.exports.submit(world.principal("alice"), grant_id=world.grant.id, scenario=world.grant.scenario,
                               kind="data_package", file=path)
    request = d.exports.get(request.id)
    statuses = {c.rule: c.status.value for c in d.exports.checks(request)}
    assert statuses["raw_rows"] == "failed" and request.status.value == "changes_requested"
    assert str(product.column("household_income")[0].as_py()) not in (request.status_reason or "")


def test_refused_import_leaves_nothing(world, client, tmp_path):
    from domain.errors import NotFound
    from domain.tenancy import ImportService

    d = world.domain
    path = tmp_path / "gossip.csv"
    path.write_text("id_number,score\n" + "\n".join(f"{i},{n}" for n, i in enumerate(_some_ids(world, 30))))
    ticket = client.request_import(path, name="gossip", description="unverified")
    ImportService(d).decide(world.principal("admin"), ticket.import_id, approve=False, reason="no lawful basis")
    assert not (world.home / "imports" / ticket.import_id).exists()
    with pytest.raises(NotFound):
        d.catalog.get("imp_op_hz_insight_gossip")
    assert not d.catalog.raw_dir("imp_op_hz_insight_gossip").exists()


@pytest.mark.parametrize("content, says", [
    (b"id_number,score\n\"110101199003077777,3\nbroken\"\",\"\n,,,,\n", "malformed CSV"),
    (b"district,score\n\xe8\xa5\xbf\xe6\xb9\x96\xe5\x8c\xba,3\n", "cannot tell which column identifies"),
])
def test_a_bad_upload_fails_the_approval_in_one_line_and_leaves_no_partial_state(world, client, tmp_path,
                                                                                  content, says):
    from domain.errors import DomainError, NotFound
    from domain.tenancy import ImportService

    d = world.domain
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    ticket = client.request_import(path, name="badfile", description="malformed")
    datasets_before = {ds.name for ds in d.catalog.list()}
    raw_before = sorted(p.name for p in (world.home / "raw").iterdir())
    with pytest.raises(DomainError) as failed:
        ImportService(d).decide(world.principal("admin"), ticket.import_id, approve=True, reason="looks fine")
    line = failed.value.diagnostics()
    assert "\n" not in line and "110101199003077777" not in line and says in line
    assert {ds.name for ds in d.catalog.list()} == datasets_before
    assert sorted(p.name for p in (world.home / "raw").iterdir()) == raw_before
    with pytest.raises(NotFound):
        d.catalog.get("imp_op_hz_insight_badfile")
    row = d.store.one("SELECT state FROM tenant_imports WHERE id=?", (ticket.import_id,))
    assert row["state"] == "pending" and (world.home / "imports" / ticket.import_id).is_dir()
    assert not d.keys.exists("dataset", "imp_op_hz_insight_badfile")
    failed_event = [e.event for e in d.audit_log.query(action="import.approve")
                    if any(r.kind == "import" and r.id == ticket.import_id for r in e.event.targets)]
    assert [e.outcome.value for e in failed_event] == ["refused"]  # the failed approval is on the record
    assert line in failed_event[0].reason and "110101199003077777" not in failed_event[0].reason
    ImportService(d).decide(world.principal("admin"), ticket.import_id, approve=False, reason="malformed")
    assert not (world.home / "imports" / ticket.import_id).exists()


def _some_ids(world, n: int) -> list[str]:
    from domain.rawstore import read_table

    d = world.domain
    people = read_table(d.catalog.raw_dir("population"), d.keys.get("dataset", "population"))
    return people.column("id_number").to_pylist()[-n:]


def _aod(world, who: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AOD_HOME": str(world.home), "AOD_TOKEN": world.token(who), "PYTHONPATH": str(REPO),
           "AOD_SESSION_DIR": str(world.home.parent / "sessions"), "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "domain", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)


def test_cli_approve_names_the_privacy_unit_and_fails_in_one_line(world, client, tmp_path):
    ids = _some_ids(world, 80)
    two = tmp_path / "panel.csv"
    two.write_text("id_number,spouse_id,score\n" + "\n".join(f"{a},{b},{n % 5}" for n, (a, b) in
                                                              enumerate(zip(ids[:40], ids[40:]))))
    ticket = client.request_import(two, name="panel", description="household panel")
    vague = _aod(world, "admin", "import", "approve", ticket.import_id, "--reason", "ok")
    assert vague.returncode == 2 and vague.stderr.count("\n") == 1 and "--privacy-unit" in vague.stderr
    assert ids[0] not in vague.stderr
    named = _aod(world, "admin", "import", "approve", ticket.import_id, "--reason", "ok",
                 "--privacy-unit", "id_number")
    assert named.returncode == 0, named.stderr
    assert "dataset imp_op_hz_insight_panel of op-hz-insight" in named.stdout and "id_number" in named.stdout
    assert world.domain.catalog.get("imp_op_hz_insight_panel").privacy_unit == "id_number"


IMPORT_JOB = f"""
import pyarrow.parquet as pq, pyarrow.csv as csv, pyarrow.compute as pc
s = pq.read_table('/data/raw/{DATASET}.parquet')
print('imported rows:', s.num_rows, 'columns:', sorted(s.column_names))
s = s.append_column('band', pc.binary_join_element_wise('score ', pc.cast(s['score'], 'string'), ''))
by = s.group_by('band').aggregate([('id_number', 'count')]).rename_columns(['band', 'n'])
csv.write_csv(by, '/job/outputs/by_score.csv')
"""


def test_a_job_reads_the_import_next_to_public_data(world, client, survey, tmp_path):
    code = tmp_path / "main.py"
    code.write_text(IMPORT_JOB)
    job = client.submit_job(code, name="by-score").wait(timeout=180)
    assert job.state == "succeeded", job.detail
    assert "imported rows: 600 columns: ['household_income', 'id_number', 'score']" in job.logs()
    assert {o.name: (o.state, o.reason) for o in job.outputs} == {"by_score.csv": ("released", "")}
    assert sum(job.fetch("by_score.csv")["n"]) == 600
    finish = [e.event for e in world.domain.audit_log.query(action="job.finish")
              if e.event.targets[0].id == job.job_id]
    assert len(finish) == 1 and ("dataset", DATASET) in {(r.kind, r.id) for r in finish[0].inputs}


def test_the_tenant_gets_a_desensitized_sample_of_the_import(world, client, survey):
    _, table = survey
    samples = {s.name: s for s in client.samples()}
    assert DATASET in samples and "population" in samples
    sample = client.load_sample_arrow(DATASET)
    assert 0 < sample.num_rows <= 600 and set(sample.column_names) == set(table.column_names)
    raw_ids = set(table.column("id_number").to_pylist())
    assert not raw_ids & set(sample.column("id_number").to_pylist())  # identifiers pseudonymized
    made = [e.event for e in world.domain.audit_log.query(action="sample.create")
            if any(r.id == DATASET for r in e.event.inputs)]
    assert len(made) == 1 and made[0].outputs[0].id == f"{world.grant.id}/{DATASET}"  # made once, audited


def test_a_restarted_tenant_finds_the_import_sample_in_its_samples_folder(world, client, survey):
    d, admin = world.domain, world.principal("admin")
    d.tenancy.stop(admin, "t-import-ds")
    d.tenancy.start(admin, "t-import-ds", wait_s=60)
    folder = d.tenancy.runtime.layout("t-import-ds").samples_dir
    assert (folder / f"{DATASET}.parquet").is_file() and (folder / "population.parquet").is_file()
