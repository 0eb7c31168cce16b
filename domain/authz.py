"""Authorization: a registry of typed permissions per role, plus organisation scoping.

`can()` answers; `Domain.check()` enforces, auditing every refusal. Scoping rules: staff and
reviewers act only within their organisation's resources where the resource has an owner;
providers confirm only their own datasets; nobody reviews their own organisation's exports
(enforced in export_review/).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.principals import Principal, Role


class Perm(StrEnum):
    OPERATOR_MANAGE = "operator.manage"
    PRINCIPAL_MANAGE = "principal.manage"
    DATASET_INGEST = "dataset.ingest"
    DATASET_CONFIRM = "dataset.confirm"
    DATASET_VIEW = "dataset.view"
    GRANT_MANAGE = "grant.manage"
    GRANT_VIEW = "grant.view"
    QUERY_RUN = "query.run"
    SAMPLE_READ = "sample.read"
    TENANT_MANAGE = "tenant.manage"
    TENANT_USE = "tenant.use"
    JOB_SUBMIT = "job.submit"
    EXPORT_REQUEST = "export.request"
    EXPORT_REVIEW = "export.review"
    EXPORT_OVERRIDE = "export.override"
    IMPORT_REQUEST = "import.request"
    IMPORT_DECIDE = "import.decide"
    AUDIT_READ = "audit.read"
    RISK_REPORT = "risk.report"
    RISK_CLEAR = "risk.clear"


_VIEW = {Perm.DATASET_VIEW, Perm.GRANT_VIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.AUTHORITY: frozenset(
        {
            Perm.OPERATOR_MANAGE, Perm.PRINCIPAL_MANAGE, Perm.DATASET_INGEST,
            Perm.DATASET_CONFIRM, Perm.GRANT_MANAGE, Perm.TENANT_MANAGE, Perm.IMPORT_DECIDE,
            Perm.RISK_REPORT, Perm.RISK_CLEAR, Perm.AUDIT_READ, Perm.EXPORT_OVERRIDE, *_VIEW,
        }
    ),
    Role.PROVIDER: frozenset({Perm.DATASET_INGEST, Perm.DATASET_CONFIRM, *_VIEW}),
    Role.OPERATOR_STAFF: frozenset(
        {
            Perm.QUERY_RUN, Perm.SAMPLE_READ, Perm.TENANT_USE, Perm.JOB_SUBMIT,
            Perm.EXPORT_REQUEST, Perm.IMPORT_REQUEST, Perm.RISK_REPORT, *_VIEW,
        }
    ),
    Role.REVIEWER: frozenset({Perm.EXPORT_REVIEW, *_VIEW}),
    Role.REGULATOR: frozenset({Perm.AUDIT_READ, *_VIEW}),
    Role.SYSTEM: frozenset(Perm),
}

# Permissions whose resource must belong to the principal's own organisation.
ORG_SCOPED_FOR: dict[Role, frozenset[Perm]] = {
    Role.OPERATOR_STAFF: frozenset(
        {Perm.QUERY_RUN, Perm.SAMPLE_READ, Perm.TENANT_USE, Perm.JOB_SUBMIT, Perm.EXPORT_REQUEST,
         Perm.IMPORT_REQUEST, Perm.RISK_REPORT, Perm.GRANT_VIEW}
    ),
    Role.PROVIDER: frozenset({Perm.DATASET_CONFIRM, Perm.DATASET_INGEST}),
}


@dataclass(frozen=True)
class Resource:
    kind: str
    id: str
    org: str | None = None  # the owning organisation (operator or provider), if any


def can(principal: Principal, perm: Perm, resource: Resource | None = None) -> bool:
    if perm not in ROLE_PERMISSIONS.get(principal.role, frozenset()):
        return False
    if perm in ORG_SCOPED_FOR.get(principal.role, frozenset()):
        if resource is None or resource.org is None or resource.org != principal.org:
            return False
    return True


def refusal_reason(principal: Principal, perm: Perm, resource: Resource | None) -> str:
    if perm not in ROLE_PERMISSIONS.get(principal.role, frozenset()):
        return f"role {principal.role.value} may not {perm.value}"
    what = f"{resource.kind} {resource.id}" if resource else "this resource"
    return f"{principal.id} may {perm.value} only within organisation {principal.org}, not on {what}"
