"""Fixtures for the audit tests: small logs (16-event segments) and an event factory."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from audit import Action, Actor, AuditEvent, AuditLog, Outcome, Ref
from audit.checkpoint import Signer

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def make_event(i: int = 0, *, action=Action.QUERY_RUN, org: str = "op-a", outcome=Outcome.OK,
               dataset: str = "population", **kw) -> AuditEvent:
    fields = dict(
        action=action, actor=Actor(f"staff-{i % 3}", "operator_staff"), org=org, outcome=outcome,
        targets=(Ref("grant", "g-1"),), inputs=(Ref("dataset", dataset),),
        outputs=(Ref("result", f"r-{i}", "ab" * 32),), details={"n": i},
    )
    fields.update(kw)
    return AuditEvent(**fields)


def open_log(path: Path, signer: Signer | None = None, clock=None, segment_events: int = 16) -> AuditLog:
    return AuditLog(path, signer or Signer.generate(), clock or Clock(), segment_events=segment_events)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def log(tmp_path: Path, signer: Signer, clock: Clock) -> AuditLog:
    return open_log(tmp_path / "audit", signer, clock)
