"""JSON API routes (v1). Each route: authenticate, call one service, return its result."""

from __future__ import annotations

from datetime import date
from typing import Optional

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from domain.cli.common import query_result, to_plain
from domain.principals import Principal
from domain.server.deps import current_principal, get_domain

router = APIRouter()


class LoginIn(BaseModel):
    user: str
    password: str


class OperatorIn(BaseModel):
    id: str
    name: str
    credit_code: str
    contact: str = ""


class PrincipalIn(BaseModel):
    id: str
    display_name: str
    role: str
    org: Optional[str] = None
    password: Optional[str] = None


class ComplianceIn(BaseModel):
    realname_verified_on: Optional[date] = None
    realname_method: Optional[str] = None
    nda_signed_on: Optional[date] = None
    nda_expires_on: Optional[date] = None
    training_passed_on: Optional[date] = None


class ConfirmIn(BaseModel):
    overrides: dict[str, str] = Field(default_factory=dict)
    reason: str = ""
    privacy_unit: Optional[str] = None
    min_group_size: Optional[int] = None


class GrantIn(BaseModel):
    operator_id: str
    scenario: str
    columns: dict[str, list[str]]
    emergency_plan: str
    starts_on: date
    expires_on: date
    purpose: str = ""


class ReasonIn(BaseModel):
    reason: str


@router.post("/login", tags=["identity"])
def login(body: LoginIn, domain=Depends(get_domain)):
    issued = domain.auth.login(body.user, body.password)
    return {"token": issued.token, "expires_at": issued.expires_at.isoformat()}


@router.get("/whoami", tags=["identity"])
def whoami(me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return {**to_plain(me), "compliance_gaps": me.compliance_gaps(domain.today())}


@router.get("/operators", tags=["operators"])
def operators(me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return to_plain(domain.operators.list())


@router.post("/operators", status_code=201, tags=["operators"])
def add_operator(body: OperatorIn, me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return to_plain(domain.operators.register(me, operator_id=body.id, name=body.name,
                                              credit_code=body.credit_code, contact=body.contact))


@router.post("/principals", status_code=201, tags=["identity"])
def add_principal(body: PrincipalIn, me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return to_plain(domain.principals.create(me, principal_id=body.id, display_name=body.display_name,
                                             role=body.role, org=body.org, password=body.password))


@router.patch("/principals/{principal_id}/compliance", tags=["identity"])
def compliance(principal_id: str, body: ComplianceIn, me: Principal = Depends(current_principal),
               domain=Depends(get_domain)):
    return to_plain(domain.principals.set_compliance(me, principal_id, **body.model_dump()))


@router.get("/datasets", tags=["catalog"])
def datasets(me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return [{k: v for k, v in to_plain(d).items() if k != "classification"} for d in domain.catalog.list()]


@router.get("/datasets/{name}", tags=["catalog"])
def dataset(name: str, me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return to_plain(domain.catalog.get(name))


@router.post("/datasets/{name}/confirm", tags=["catalog"])
def confirm(name: str, body: ConfirmIn, me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return to_plain(domain.catalog.confirm(me, name, **body.model_dump()))


@router.get("/grants", tags=["grants"])
def grants(operator_id: Optional[str] = None, me: Principal = Depends(current_principal),
           domain=Depends(get_domain)):
    return to_plain(domain.grants.list(me, operator_id))


@router.post("/grants", status_code=201, tags=["grants"])
def create_grant(body: GrantIn, me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return to_plain(domain.grants.create(
        me, operator_id=body.operator_id, scenario=body.scenario,
        columns={d: tuple(c) for d, c in body.columns.items()}, emergency_plan=body.emergency_plan,
        starts_on=body.starts_on, expires_on=body.expires_on, purpose=body.purpose,
    ))


@router.get("/grants/{grant_id}", tags=["grants"])
def grant(grant_id: str, me: Principal = Depends(current_principal), domain=Depends(get_domain)):
    return to_plain(domain.grants.view(me, grant_id))


class QueryIn(BaseModel):
    sql: str


@router.post("/grants/{grant_id}/query", tags=["queries"])
def run_query(grant_id: str, body: QueryIn, me: Principal = Depends(current_principal),
              domain=Depends(get_domain)):
    """A checked query on raw data under a grant: only results that pass the policy and the
    disclosure rules come back; refused queries answer 403 with the reason."""
    return query_result(domain.queries.run(me, grant_id, body.sql, source="api"))


@router.post("/grants/{grant_id}/{verb}", tags=["grants"])
def grant_transition(grant_id: str, verb: str, body: ReasonIn, me: Principal = Depends(current_principal),
                     domain=Depends(get_domain)):
    from domain.errors import NotFound

    if verb not in ("activate", "suspend", "resume", "terminate"):
        raise NotFound(f"no grant action {verb!r}")
    return to_plain(getattr(domain.grants, verb)(me, grant_id, body.reason))
