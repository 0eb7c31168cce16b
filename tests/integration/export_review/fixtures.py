"""Shared builders for export_review tests: a synthetic domain with a raw population register,
a grant, people, a store with an in-memory audit log, and the service."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from export_review.engine import DuckDBRawAccess
from export_review.protocols import GrantInfo
from export_review.store import SqliteStore
from export_review.testing.planted import model_data
from export_review.testing.stubs import AllowSelects, Person, StaticGrants
from export_review.testing.synthetic import population, population_dataset
from export_review.workflow.service import ExportService

SCENARIO = "区县人口统计"
GRANT = GrantInfo("g-1", "op-a", (SCENARIO,), True, {"population": ("id_number", "income")})
ALICE = Person("alice", "operator_staff", "op-a")            # requester
BOB = Person("bob", "operator_staff", "op-a")                # her colleague
MALLORY = Person("mallory", "operator_staff", "op-b")        # another operator
RITA = Person("rita", "reviewer", "review-office")
ROB = Person("rob", "reviewer", "review-office")
INSIDER = Person("ivan", "reviewer", "op-a")                 # a reviewer employed by the operator
ADMIN = Person("admin", "authority", None)
REGULATOR = Person("reg", "regulator", None)


class LogView:
    """The domain home's real audit log (audit.AuditLog), with shortcuts for assertions."""

    def __init__(self, home: Path):
        from audit import AuditLog

        self.log = AuditLog.for_home(home)

    @property
    def events(self) -> list[Any]:
        return [entry.event for entry in self.log.entries()]

    def actions(self) -> list[str]:
        return [_action(e) for e in self.events]


def _action(event: Any) -> str:
    if isinstance(event, dict):
        return str(event.get("action"))
    action = getattr(event, "action", None)
    return str(getattr(action, "value", action))


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class World:
    home: Path
    raw: pa.Table
    access: DuckDBRawAccess
    grants: StaticGrants
    store: SqliteStore
    log: LogView
    service: ExportService
    policy: AllowSelects
    products: Path = field(default=None)


def make_world(home: Path, rows: int = 20_000, checker=None) -> World:
    home.mkdir(parents=True, exist_ok=True)
    raw = population(rows, seed=3)
    train, holdout = model_data(raw)
    access = DuckDBRawAccess([population_dataset()], {"population": raw}, extra={"train": train, "holdout": holdout})
    grants = StaticGrants(GRANT)
    log = LogView(home)
    store = SqliteStore(home / "control.db", log.log)
    policy = AllowSelects(frozenset({"population"}), access.connect)
    kwargs = {"checker": checker} if checker else {}
    service = ExportService(store, home, grants=grants, raw_for=lambda grant_id: access, clock=Clock(),
                            policy=policy, **kwargs)
    products = home / "products"
    products.mkdir(exist_ok=True)
    return World(home, raw, access, grants, store, log, service, policy, products)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path
