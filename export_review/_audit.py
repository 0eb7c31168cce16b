"""Building audit events for export_review (audit/ is imported only here, and lazily)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from export_review.protocols import role_of


def event(action: str, actor: Any, *, at: datetime, org: str | None = None, export_id: str | None = None,
          targets: Iterable[tuple] = (), inputs: Iterable[tuple] = (), outputs: Iterable[tuple] = (),
          refused: bool = False, reason: str | None = None, details: dict | None = None) -> Any:
    """An `audit.AuditEvent`; `action` is the value of an `audit.Action` (e.g. 'export.vote')."""
    from audit import Action, Actor, AuditEvent, Outcome, Ref

    refs = [("export", export_id)] if export_id else []
    return AuditEvent(
        action=Action(action),
        actor=Actor(id=str(getattr(actor, "id", actor)), role=role_of(actor) or "system"),
        outcome=Outcome.REFUSED if refused else Outcome.OK,
        org=org,
        targets=tuple(Ref(*r) for r in [*refs, *targets]),
        inputs=tuple(Ref(*r) for r in inputs),
        outputs=tuple(Ref(*r) for r in outputs),
        reason=reason,
        details=details or {},
        time=at,
    )
