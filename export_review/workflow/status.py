"""Export request states with their tables (Airlock's shape): the allowed transitions, who
must act next in each state, and the audit action recorded on entering it.

    draft ─submit─► submitted ─checks pass─► under_review ─2 approvals─► approved ─release─► released
      │               │ checks fail               │ reject / changes          │
      │               ▼                           ▼                           │
      │        changes_requested ◄──────── (votes disagree)                  │
      └──────────────┴──── withdraw (requester) / override (authority) ──────┴──► withdrawn | rejected
"""

from __future__ import annotations

from enum import StrEnum

from export_review.errors import InvalidTransition


class RequestStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"
    WITHDRAWN = "withdrawn"


class Owner(StrEnum):
    """Who must act next."""

    REQUESTER = "requester"      # the operator's staff who asked
    SYSTEM = "system"            # the automatic checks
    REVIEWERS = "reviewers"      # two independent reviewers from outside the operator
    NOBODY = "nobody"            # a final state


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"


S = RequestStatus
VALID_STATE_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.REJECTED, S.WITHDRAWN}),
    S.UNDER_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.CHANGES_REQUESTED, S.WITHDRAWN}),
    S.CHANGES_REQUESTED: frozenset({S.SUBMITTED, S.REJECTED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.RELEASED, S.REJECTED, S.WITHDRAWN}),
    S.REJECTED: frozenset(),
    S.RELEASED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

STATUS_OWNERS: dict[RequestStatus, Owner] = {
    S.DRAFT: Owner.REQUESTER,
    S.SUBMITTED: Owner.SYSTEM,
    S.UNDER_REVIEW: Owner.REVIEWERS,
    S.CHANGES_REQUESTED: Owner.REQUESTER,
    S.APPROVED: Owner.REVIEWERS,
    S.REJECTED: Owner.NOBODY,
    S.RELEASED: Owner.NOBODY,
    S.WITHDRAWN: Owner.NOBODY,
}

# audit action (value of audit.Action) recorded when a request enters the state
STATUS_AUDIT_EVENT: dict[RequestStatus, str] = {
    S.DRAFT: "export.create",
    S.SUBMITTED: "export.submit",
    S.UNDER_REVIEW: "export.review",
    S.CHANGES_REQUESTED: "export.changes_request",
    S.APPROVED: "export.approve",
    S.REJECTED: "export.reject",
    S.RELEASED: "export.release",
    S.WITHDRAWN: "export.withdraw",
}
OVERRIDE_EVENT = "export.override"
VOTE_EVENT = "export.vote"
VIEW_EVENT = "export.view"
DOWNLOAD_EVENT = "export.download"
CHECK_EVENT = "export.check"

# states an authority may force a request into (never approved or released: those need reviewers)
OVERRIDE_TARGETS = frozenset({S.REJECTED, S.WITHDRAWN, S.CHANGES_REQUESTED})
FINAL = frozenset(s for s, nxt in VALID_STATE_TRANSITIONS.items() if not nxt)

# independent reviewers needed per product kind (data packages and models: two; the rest too)
REQUIRED_REVIEWS = {"data_package": 2, "model": 2, "report": 2, "api": 2}


def can_transition(old: RequestStatus, new: RequestStatus) -> bool:
    return new in VALID_STATE_TRANSITIONS[old]


def check_transition(old: RequestStatus, new: RequestStatus) -> None:
    if not can_transition(old, new):
        raise InvalidTransition(f"a {old.value} request cannot become {new.value}")


def outcome_of(decisions: list[Decision]) -> RequestStatus:
    """Both approve → approved; both reject → rejected; otherwise changes requested."""
    if all(d == Decision.APPROVE for d in decisions):
        return S.APPROVED
    if all(d == Decision.REJECT for d in decisions):
        return S.REJECTED
    return S.CHANGES_REQUESTED


def diagram() -> str:
    """A Mermaid state diagram generated from the transition table."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.DRAFT.value}"]
    for old, targets in VALID_STATE_TRANSITIONS.items():
        for new in sorted(targets, key=list(RequestStatus).index):
            lines.append(f"    {old.value} --> {new.value}")
    for final in sorted(FINAL, key=list(RequestStatus).index):
        lines.append(f"    {final.value} --> [*]")
    return "\n".join(lines) + "\n"
