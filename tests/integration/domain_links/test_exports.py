"""Export review through the real domain: raw store, grants, checks in the engine, two
reviewers, a signed release; raw identifiers and hashes of them are blocked."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

AGGREGATE_SQL = "SELECT district, education, count(*) AS n FROM population GROUP BY 1, 2"


def _write(table: pa.Table, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path)
    return path


def _submit(world, path):
    svc, alice, grant = world.domain.exports, world.principal("alice"), world.grant
    return svc.submit(alice, grant_id=grant.id, scenario=grant.scenario, kind="data_package", file=path)


def _statuses(svc, request):
    return {c.rule: c.status.value for c in svc.checks(request)}


def test_aggregate_is_checked_approved_by_two_reviewers_and_released(world, tmp_path):
    d = world.domain
    outcome = d.queries.run(world.principal("alice"), world.grant.id, AGGREGATE_SQL)
    request = _submit(world, _write(outcome.table, tmp_path / "headcount.csv"))
    assert request.status.value == "under_review"
    assert set(_statuses(d.exports, request).values()) == {"passed"}
    rita, rob = world.principal("rita"), world.principal("rob")
    d.exports.vote(rita, request.id, "approve", reason="counts only")
    assert d.exports.get(request.id).status.value == "under_review"
    d.exports.vote(rob, request.id, "approve", reason="counts only")
    released = d.exports.release(rob, request.id)
    manifest = d.exports.verify(released.path)
    assert manifest["grant_id"] == world.grant.id and manifest["operator"] == "op-hz-insight"
    assert sorted(r["id"] for r in manifest["reviewers"]) == ["rita", "rob"]
    actions = [e.event.action.value for e in d.audit_log.query()]
    assert "export.submit" in actions and "export.release" in actions


def test_requester_cannot_review_own_export(world, tmp_path):
    from export_review.errors import PermissionDenied

    d = world.domain
    outcome = d.queries.run(world.principal("alice"), world.grant.id, AGGREGATE_SQL)
    request = _submit(world, _write(outcome.table, tmp_path / "again.csv"))
    with pytest.raises(PermissionDenied):
        d.exports.vote(world.principal("alice"), request.id, "approve", reason="mine")


def test_planted_raw_identifiers_are_blocked_before_any_reviewer(world, raw_people, tmp_path):
    d = world.domain
    planted = raw_people.select(["id_number", "district"]).slice(0, 40)
    request = _submit(world, _write(planted, tmp_path / "planted.csv"))
    request = d.exports.get(request.id)
    assert request.status.value == "changes_requested"
    statuses = _statuses(d.exports, request)
    assert statuses["identifiers"] == "failed" and statuses["raw_rows"] == "failed"
    # the reason names columns and datasets, never a value
    for value in planted.column("id_number").to_pylist()[:40]:
        assert value not in (request.status_reason or "")
    assert request.id not in [r.id for r in d.exports.queue(world.principal("rita"))]


def test_unsalted_hashes_of_raw_ids_are_recomputed_in_the_engine_and_blocked(world, raw_people, tmp_path):
    ids = raw_people.column("id_number").to_pylist()[:60]
    table = pa.table({"person": [hashlib.sha256(i.encode()).hexdigest() for i in ids],
                      "score": list(range(60))})
    request = world.domain.exports.get(_submit(world, _write(table, tmp_path / "hashed.csv")).id)
    assert _statuses(world.domain.exports, request)["reversible"] == "failed"
    assert request.status.value == "changes_requested"


def test_grant_directory_and_raw_access_follow_the_domain(world):
    from domain.exports import DomainGrants, raw_access_for

    info = DomainGrants(world.domain).grant(world.grant.id)
    assert info.active and info.operator_id == "op-hz-insight" and info.scenarios == (world.grant.scenario,)
    with pytest.raises(KeyError):
        DomainGrants(world.domain).grant("g-nope")
    with pytest.raises(KeyError):
        raw_access_for(world.domain, "g-nope")
    access = raw_access_for(world.domain, world.grant.id)
    names = {ds.name: ds for ds in access.datasets()}
    granted = {"population", "enterprise", "social_insurance"}
    # plus the operator's approved imports (R15), raw data of the grant for the checks too
    assert granted <= set(names) and all(n.startswith("imp_op_hz_insight_") for n in set(names) - granted)
    assert names["population"].column("id_number").is_identifier


def test_raw_access_connection_is_locked_down(world):
    import duckdb

    from domain.exports import raw_access_for

    access = raw_access_for(world.domain, world.grant.id)
    with access.connect() as con:
        assert con.execute("SELECT count(*) FROM population").fetchone()[0] == world.domain.catalog.get("population").rows
        for attack in ("SELECT * FROM read_csv('/etc/passwd')",
                       "SET enable_external_access = true",
                       "COPY (SELECT * FROM population) TO '/tmp/aod-leak.csv'",
                       "INSTALL httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(attack)
    assert not os.path.exists("/tmp/aod-leak.csv")


def _aod(world, token, *args):
    env = dict(os.environ, AOD_HOME=str(world.home), AOD_TOKEN=token, AOD_SESSION_DIR=str(world.home / "_sessions"))
    return subprocess.run(["aod", *args], capture_output=True, text=True, env=env, timeout=120)


def test_export_cli_on_a_real_home(world, tmp_path):
    d = world.domain
    outcome = d.queries.run(world.principal("alice"), world.grant.id, AGGREGATE_SQL)
    product = _write(outcome.table, tmp_path / "cli.csv")
    alice = world.token("alice")
    done = _aod(world, alice, "export", "submit", str(product), "--grant", world.grant.id,
                "--scenario", world.grant.scenario, "--json")
    assert done.returncode == 0, done.stderr
    export_id = json.loads(done.stdout)["id"]
    for reviewer in ("rita", "rob"):
        done = _aod(world, world.token(reviewer), "export", "review", export_id, "--decision", "approve", "--reason", "ok")
        assert done.returncode == 0, done.stderr
    done = _aod(world, world.token("rob"), "export", "release", export_id)
    assert done.returncode == 0, done.stderr
    released = world.home / "exports" / export_id / "release" / "cli.csv"
    assert _aod(world, alice, "export", "verify", str(released)).returncode == 0
    assert export_id in _aod(world, alice, "export", "list").stdout
    tampered = tmp_path / "cli.csv"
    tampered.write_bytes(released.read_bytes().replace(b"\n", b"\n ", 1))
    manifest = released.parent / "manifest.json"
    done = _aod(world, alice, "export", "verify", str(tampered), "--manifest", str(manifest))
    assert done.returncode == 2 and done.stderr.startswith("aod: error:")


def test_reviewer_pages_are_mounted_on_the_domain_server(world):
    from fastapi.testclient import TestClient

    from domain.server.app import create_app

    client = TestClient(create_app(world.domain))
    assert client.get("/review/").status_code == 401
    page = client.get("/review/", headers={"Authorization": f"Bearer {world.token('rita')}"})
    assert page.status_code == 200 and "<html" in page.text.lower()


TEMPLATE = {"name": "education_counts",
            "sql": "SELECT education, count(*) AS n FROM population WHERE district = :district GROUP BY education",
            "params": {"district": {"type": "str", "max_length": 10, "example": "西湖区"}},
            "rate_limit": {"calls": 5, "per_seconds": 3600}, "max_rows": 20}


def test_query_template_runs_through_the_domain_policy_as_an_api(world, tmp_path):
    from export_review.errors import PermissionDenied

    d = world.domain
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(TEMPLATE, sql="SELECT id_number FROM population WHERE district = :district")))
    refused = d.exports.get(d.exports.submit(world.principal("alice"), grant_id=world.grant.id,
                                             scenario=world.grant.scenario, kind="api", file=bad).id)
    assert refused.status.value == "changes_requested" and "direct identifier" in refused.status_reason
    good = tmp_path / "template.json"
    good.write_text(json.dumps(TEMPLATE))
    request = d.exports.submit(world.principal("alice"), grant_id=world.grant.id,
                               scenario=world.grant.scenario, kind="api", file=good)
    assert request.status.value == "under_review", request.status_reason
    for reviewer in ("rita", "rob"):
        d.exports.vote(world.principal(reviewer), request.id, "approve", reason="counts per district")
    d.exports.release(world.principal("rita"), request.id)
    endpoint = next(e for e in d.exports.api.list() if e.id.startswith("education_counts-"))
    district = d.queries.run(world.principal("alice"), world.grant.id,
                             "SELECT district, count(*) AS n FROM population GROUP BY 1").table.column(0)[0].as_py()
    rows = d.exports.api.call(world.principal("alice"), endpoint.id, {"district": district})
    assert rows and all(r["n"] >= d.config.min_group_size for r in rows)
    with pytest.raises(PermissionDenied):
        d.exports.api.call(world.principal("rita"), endpoint.id, {"district": district})
    via = [e.event.details.get("via") for e in d.audit_log.query() if e.event.action.value == "query.run"]
    assert via[-1] == "api"


def test_staff_who_may_not_act_today_are_refused_by_export_commands_and_pages(world):
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from domain.server.app import create_app

    d, admin = world.domain, world.principal("admin")
    today = d.today()
    if not d.store.one("SELECT 1 FROM principals WHERE id='bert'"):
        d.principals.create(admin, principal_id="bert", display_name="NDA lapsed", role="operator_staff",
                            org="op-hz-insight", password="bert-pass-123456")
        d.principals.set_compliance(admin, "bert", realname_verified_on=today - timedelta(days=400),
                                    realname_method="unified identity platform",
                                    nda_signed_on=today - timedelta(days=400), nda_expires_on=today - timedelta(days=1),
                                    training_passed_on=today - timedelta(days=400))
    world.passwords["bert"] = "bert-pass-123456"
    done = _aod(world, world.token("bert"), "export", "list")
    assert done.returncode == 2 and "confidentiality agreement expired" in done.stderr
    page = TestClient(create_app(d)).get("/review/", headers={"Authorization": f"Bearer {world.token('bert')}"})
    assert page.status_code == 403
    refusals = [e.event for e in d.audit_log.query() if e.event.action.value == "auth.denied"
                and e.event.actor.id == "bert"]
    assert refusals and refusals[-1].outcome.value == "refused"
