"""Published endpoints and their call path.

`ApiGateway.publish(export_id)` (called on release of an `api` request) stores the endpoint;
`ApiGateway.call(actor, endpoint_id, params)` checks the endpoint and grant are live, the
caller's rate limit, binds the typed parameters, runs the SQL through the domain's
`QueryPolicy.run` (the same policy as every query) and audits the call (parameter names and a
hash of the values, never the values)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from export_review import _audit
from export_review.api.ratelimit import RateLimiter
from export_review.api.template import QueryTemplate
from export_review.errors import ExportReviewError, InvalidInput, NotFound, PermissionDenied
from export_review.protocols import role_of

CALL_EVENT = "api.call"
PUBLISH_EVENT = "api.publish"


@dataclass(frozen=True)
class Endpoint:
    id: str
    request_id: str
    grant_id: str
    operator: str
    template: QueryTemplate
    status: str

    @property
    def path(self) -> str:
        return f"/products/{self.id}"


class ApiGateway:
    def __init__(self, uow: Any, *, grants: Any, policy: Any, clock: Callable[[], datetime],
                 limiter: RateLimiter | None = None):
        self.uow, self.grants, self.policy, self.clock = uow, grants, policy, clock
        self.limiter = limiter or RateLimiter()

    def publish(self, tx: Any, request: Any, template: QueryTemplate, actor: Any) -> Endpoint:
        """Inside the release transaction: store the endpoint and audit its publication."""
        endpoint_id = template.name + "-" + request.id.removeprefix("x-")
        tx.conn.execute("INSERT INTO export_apis (id, request_id, spec, status, published_at) VALUES (?, ?, ?, 'active', ?)",
                        (endpoint_id, request.id, json.dumps(template.to_dict(), ensure_ascii=False),
                         self.clock().isoformat()))
        tx.audit(_audit.event(PUBLISH_EVENT, actor, at=self.clock(), org=request.org, export_id=request.id,
                              targets=[("api", endpoint_id)], details={"path": f"/products/{endpoint_id}"}))
        return self.get(endpoint_id, conn=tx.conn)

    def get(self, endpoint_id: str, conn: Any = None) -> Endpoint:
        sql = ("SELECT a.*, q.grant_id, q.org FROM export_apis a JOIN export_requests q ON q.id = a.request_id "
               "WHERE a.id=?")
        row = (conn.execute(sql, (endpoint_id,)).fetchone() if conn else self.uow.one(sql, (endpoint_id,)))
        if row is None:
            raise NotFound(f"no endpoint {endpoint_id!r}")
        return Endpoint(row["id"], row["request_id"], row["grant_id"], row["org"],
                        QueryTemplate.parse(json.loads(row["spec"])), row["status"])

    def list(self) -> list[Endpoint]:
        return [self.get(r["id"]) for r in self.uow.all("SELECT id FROM export_apis ORDER BY published_at")]

    def call(self, actor: Any, endpoint_id: str, params: dict[str, Any]) -> list[dict]:
        endpoint = self.get(endpoint_id)
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
        try:
            self._check_live(actor, endpoint)
            self.limiter.check((endpoint.id, getattr(actor, "id", "?")), endpoint.template.rate_calls,
                               endpoint.template.rate_seconds)
            sql = endpoint.template.bind(params)
            rows = list(self.policy.run(sql, endpoint.grant_id, actor))[: endpoint.template.max_rows]
        except (ExportReviewError, PermissionError) as exc:
            reason = exc.diagnostics() if isinstance(exc, ExportReviewError) else "refused by the query policy"
            self._audit(actor, endpoint, digest, params, refused=True, reason=reason)
            raise exc if isinstance(exc, ExportReviewError) else PermissionDenied(reason) from None
        self._audit(actor, endpoint, digest, params, rows=len(rows))
        return rows

    def _check_live(self, actor: Any, endpoint: Endpoint) -> None:
        if endpoint.status != "active":
            raise PermissionDenied(f"endpoint {endpoint.id} is {endpoint.status}")
        try:
            grant = self.grants.grant(endpoint.grant_id)
        except KeyError:
            raise PermissionDenied(f"the grant behind endpoint {endpoint.id} no longer exists") from None
        if not grant.active:
            raise PermissionDenied(f"the grant behind endpoint {endpoint.id} is not active")
        if role_of(actor) not in ("operator_staff", "system", "api_client") or getattr(actor, "org", None) not in (
                None, endpoint.operator):
            raise PermissionDenied(f"only {endpoint.operator}'s clients may call endpoint {endpoint.id}")

    def _audit(self, actor, endpoint: Endpoint, digest: str, params: dict, *, refused: bool = False,
               reason: str | None = None, rows: int | None = None) -> None:
        details = {"params": sorted(params), "params_sha256": digest}
        if rows is not None:
            details["rows"] = rows
        with self.uow.transaction() as tx:
            tx.audit(_audit.event(CALL_EVENT, actor, at=self.clock(), org=endpoint.operator,
                                  export_id=endpoint.request_id, targets=[("api", endpoint.id)],
                                  refused=refused, reason=reason, details=details))


def check_template_rule(ctx) -> Any:
    """Rule `api_template`: the template parses with typed parameters, and an instance of it
    with example values passes the domain's SQL policy under the request's grant."""
    from export_review.checks.base import CheckResult, CheckStatus, Finding, cannot_decide

    template = QueryTemplate.load(ctx.product.path)
    if ctx.policy is None:
        return cannot_decide("api_template", "the domain gave no query policy to check the template with")
    try:
        sql = template.bind(template.example_values())
    except InvalidInput as exc:
        return cannot_decide("api_template", f"the example values do not bind: {exc.message}",
                             fix="give each parameter a valid 'example'")
    decision = ctx.policy.check(sql, ctx.grant_id)
    if not decision.allowed:
        return CheckResult.of("api_template", [Finding("api_template.refused", "the query policy refuses the "
                                                       "template: " + "; ".join(decision.reasons),
                                                       fix="change the query so it passes the policy")])
    return CheckResult.of("api_template", [Finding("api_template.ok", f"template {template.name} with "
                                                   f"{len(template.params)} typed parameters passes the policy",
                                                   CheckStatus.PASSED)])
