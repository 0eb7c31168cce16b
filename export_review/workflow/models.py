"""Frozen views of export requests, votes and the history, as services return them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from export_review.checks.base import CheckResult, CheckStatus
from export_review.workflow.status import Decision, Owner, RequestStatus, STATUS_OWNERS


@dataclass(frozen=True)
class ExportRequest:
    id: str
    kind: str
    title: str
    org: str
    requester: str
    grant_id: str
    scenario: str
    status: RequestStatus
    version: int
    product_name: str
    product_sha256: str
    metadata: Mapping[str, Any]
    check_status: CheckStatus | None
    status_reason: str | None
    created_at: str
    updated_at: str

    @property
    def owner(self) -> Owner:
        return STATUS_OWNERS[self.status]

    @classmethod
    def from_row(cls, row) -> "ExportRequest":
        return cls(
            id=row["id"], kind=row["kind"], title=row["title"], org=row["org"], requester=row["requester"],
            grant_id=row["grant_id"], scenario=row["scenario"], status=RequestStatus(row["status"]),
            version=row["version"], product_name=row["product_name"], product_sha256=row["product_sha256"],
            metadata=json.loads(row["metadata"] or "{}"),
            check_status=CheckStatus(row["check_status"]) if row["check_status"] else None,
            status_reason=row["status_reason"], created_at=row["created_at"], updated_at=row["updated_at"],
        )


@dataclass(frozen=True)
class Vote:
    reviewer: str
    decision: Decision
    reason: str
    decided_at: str


@dataclass(frozen=True)
class HistoryEntry:
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: str


@dataclass(frozen=True)
class RequestView:
    """What one viewer may see of a request: other reviewers' votes stay hidden (blinded) until
    every required vote is in."""

    request: ExportRequest
    checks: tuple[CheckResult, ...]
    votes: tuple[Vote, ...]
    votes_hidden: int
    required_reviews: int
    history: tuple[HistoryEntry, ...]
    release: Mapping[str, Any] | None
    allowed: Mapping[str, bool] = field(default_factory=dict)   # verb → may this viewer do it


@dataclass(frozen=True)
class Released:
    request_id: str
    path: str
    manifest_path: str
    sha256: str
    manifest: Mapping[str, Any]


@dataclass(frozen=True)
class Trace:
    request_id: str
    operator: str
    scheme: str
    p_value: float
    matches: int
    marks: int
