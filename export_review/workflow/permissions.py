"""Who may do what to an export request: `can_*` answers, `check_*` raises PermissionDenied.

Requesters are the operator's staff (role `operator_staff`, org = the grant's operator).
Reviewers (role `reviewer`) never belong to the requesting organisation, never review their
own request and vote once per version. The authority may view everything and override
(audited); regulators may view."""

from __future__ import annotations

from typing import Any, Iterable

from export_review.errors import PermissionDenied
from export_review.protocols import role_of
from export_review.workflow.status import FINAL, RequestStatus

STAFF, REVIEWER, AUTHORITY, REGULATOR = "operator_staff", "reviewer", "authority", "regulator"


def _is_requesting_staff(actor: Any, org: str) -> bool:
    return role_of(actor) == STAFF and getattr(actor, "org", None) == org


def _independent_reviewer(actor: Any, request: Any) -> bool:
    return (role_of(actor) == REVIEWER and getattr(actor, "org", None) != request.org
            and actor.id != request.requester)


def can_create(actor: Any, operator_id: str) -> bool:
    return _is_requesting_staff(actor, operator_id)


def can_submit(actor: Any, request: Any) -> bool:
    return _is_requesting_staff(actor, request.org) and request.status in (
        RequestStatus.DRAFT, RequestStatus.CHANGES_REQUESTED)


def can_view(actor: Any, request: Any) -> bool:
    return (_is_requesting_staff(actor, request.org) or _independent_reviewer(actor, request)
            or role_of(actor) in (AUTHORITY, REGULATOR))


def can_vote(actor: Any, request: Any, voters: Iterable[str]) -> bool:
    return (request.status == RequestStatus.UNDER_REVIEW and _independent_reviewer(actor, request)
            and actor.id not in set(voters))


def can_release(actor: Any, request: Any) -> bool:
    return request.status == RequestStatus.APPROVED and (
        _independent_reviewer(actor, request) or role_of(actor) == AUTHORITY)


def can_withdraw(actor: Any, request: Any) -> bool:
    return _is_requesting_staff(actor, request.org) and request.status not in FINAL


def can_override(actor: Any, request: Any) -> bool:
    return role_of(actor) == AUTHORITY and request.status not in FINAL


def can_download(actor: Any, request: Any) -> bool:
    if request.status == RequestStatus.RELEASED:
        return _is_requesting_staff(actor, request.org) or role_of(actor) in (AUTHORITY, REGULATOR)
    return request.status in (RequestStatus.UNDER_REVIEW, RequestStatus.APPROVED) and \
        _independent_reviewer(actor, request)


def why_not(verb: str, actor: Any, request: Any) -> str:
    role = role_of(actor) or "unknown"
    if role == REVIEWER and getattr(actor, "org", None) == getattr(request, "org", None):
        return f"{actor.id} belongs to the requesting organisation and cannot {verb} its requests"
    if getattr(request, "requester", None) == actor.id and role == REVIEWER:
        return f"{actor.id} cannot {verb} their own request"
    status = getattr(request, "status", None)
    state = f" this request (it is {status.value})" if status is not None else ""
    return f"{actor.id} ({role}) may not {verb}{state}"


def check(allowed: bool, verb: str, actor: Any, request: Any, reason: str | None = None) -> None:
    if not allowed:
        raise PermissionDenied(reason or why_not(verb, actor, request))
