"""API generation: an approved query template becomes an endpoint; every call goes through
the policy, the rate limit and the audit log."""

from __future__ import annotations

from dataclasses import replace

import pytest

from export_review.errors import InvalidInput, PermissionDenied, RateLimited
from tests.integration.export_review.fixtures import ALICE, GRANT, MALLORY, RITA, ROB, SCENARIO, write_json

TEMPLATE = {"name": "gender_counts",
            "sql": "SELECT gender, count(*) AS n FROM population WHERE district = :district GROUP BY gender",
            "params": {"district": {"type": "str", "choices": ["西湖区", "滨江区"]}},
            "rate_limit": {"calls": 3, "per_seconds": 3600}, "max_rows": 10}


def _publish(world, template=TEMPLATE):
    path = write_json(world.products / "template.json", template)
    req = world.service.submit(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="api", file=path)
    assert req.status.value == "under_review", req.status_reason
    world.service.vote(RITA, req.id, "approve")
    world.service.vote(ROB, req.id, "approve")
    world.service.release(RITA, req.id)
    [endpoint] = world.service.api.list()
    return endpoint


def test_published_endpoint_answers_typed_calls_and_audits_each(world):
    endpoint = _publish(world)
    assert endpoint.path.startswith("/products/gender_counts-")
    rows = world.service.api.call(ALICE, endpoint.id, {"district": "西湖区"})
    assert {r["gender"] for r in rows} == {"男", "女"} and sum(r["n"] for r in rows) > 0
    assert world.policy.calls[-1][1] == GRANT.id
    with pytest.raises(InvalidInput):
        world.service.api.call(ALICE, endpoint.id, {"district": "' OR 1=1 --"})
    with pytest.raises(PermissionDenied):
        world.service.api.call(MALLORY, endpoint.id, {"district": "西湖区"})
    world.service.api.call(ALICE, endpoint.id, {"district": "滨江区"})
    with pytest.raises(RateLimited):
        world.service.api.call(ALICE, endpoint.id, {"district": "滨江区"})
    calls = [e for e in world.log.events if str(getattr(e.action, "value", e.action)) == "api.call"]
    assert len(calls) == 5
    assert all("西湖区" not in str(e.details) and "滨江区" not in str(e.details) for e in calls)


def test_a_suspended_grant_stops_the_endpoint(world):
    endpoint = _publish(world)
    world.grants.put(replace(GRANT, active=False, status="suspended"))
    with pytest.raises(PermissionDenied, match="not active"):
        world.service.api.call(ALICE, endpoint.id, {"district": "西湖区"})


def test_a_template_the_policy_refuses_never_reaches_review(world):
    bad = dict(TEMPLATE, sql="SELECT * FROM secrets WHERE district = :district")
    path = write_json(world.products / "bad.json", bad)
    req = world.service.submit(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="api", file=path)
    assert req.status.value == "changes_requested" and "policy" in req.status_reason
