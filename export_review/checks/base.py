"""The vocabulary of automatic checks: statuses, findings, results, products and the context
a rule runs in. A rule is a function `(CheckContext) -> CheckResult`; a rule that cannot decide
returns `failed` with a finding that says why (fail closed)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable, Mapping

from export_review.errors import ExportReviewError


class CheckStatus(StrEnum):
    PASSED = "passed"
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"


# Worst first: the status of a set of results is the worst of them.
_SEVERITY = {CheckStatus.PASSED: 0, CheckStatus.NEEDS_REVIEW: 1, CheckStatus.FAILED: 2}


def worst(statuses) -> CheckStatus:
    found = list(statuses)
    return max(found, key=_SEVERITY.__getitem__) if found else CheckStatus.PASSED


class ProductKind(StrEnum):
    DATA_PACKAGE = "data_package"
    REPORT = "report"
    MODEL = "model"
    API = "api"


@dataclass(frozen=True)
class Finding:
    """One piece of evidence a reviewer can read. Never holds a data value."""

    code: str                      # short stable id, e.g. "raw_rows.matched"
    message: str                   # one sentence for a person: what was found and what to do
    status: CheckStatus = CheckStatus.FAILED
    column: str | None = None      # product column concerned
    rows: int | None = None        # how many rows/cells are concerned
    entity: str | None = None      # entity type (CN_RESIDENT_ID, …)
    method: str | None = None      # how it was found (sha256(upper(trim(value))), …)
    source: str | None = None      # raw dataset.column it links to
    fix: str | None = None         # the remedy offered
    details: Mapping[str, Any] = field(default_factory=dict)  # small scalar evidence

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, {}) and k != "details"}
        out["status"] = self.status.value
        if self.details:
            out["details"] = dict(self.details)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Finding":
        data = dict(data)
        data["status"] = CheckStatus(data.get("status", "failed"))
        data["details"] = data.get("details") or {}
        return cls(**data)


@dataclass(frozen=True)
class CheckResult:
    rule: str
    status: CheckStatus
    findings: tuple[Finding, ...] = ()
    seconds: float = 0.0

    @classmethod
    def of(cls, rule: str, findings, seconds: float = 0.0) -> "CheckResult":
        findings = tuple(findings)
        return cls(rule, worst(f.status for f in findings), findings, seconds)

    @property
    def passed(self) -> bool:
        return self.status == CheckStatus.PASSED

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status.value, "seconds": round(self.seconds, 3),
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckResult":
        return cls(data["rule"], CheckStatus(data["status"]),
                   tuple(Finding.from_dict(f) for f in data.get("findings", ())),
                   float(data.get("seconds", 0.0)))


def cannot_decide(rule: str, why: str, fix: str | None = None, seconds: float = 0.0) -> CheckResult:
    """The fail-closed result of a rule that could not decide."""
    return CheckResult.of(rule, [Finding(f"{rule}.undecided", f"cannot decide: {why}", fix=fix)], seconds)


@dataclass(frozen=True)
class Product:
    """A product inside the domain, as submitted for export."""

    kind: ProductKind
    path: Path
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Limits:
    rule_seconds: float = 300.0          # a rule running longer fails
    preview_rows: int = 20
    sample_values: int = 2000            # distinct product values sampled per column
    mia_repetitions: int = 100             # SACRO-ML uses 10; see models/membership.py
    mia_max_rows: int = 5000             # members (and as many non-members) per repetition


class CheckContext:
    """What a rule sees: the product, the domain's protocols, limits and a deadline."""

    def __init__(self, product: Product, *, raw=None, grants=None, grant_id: str | None = None,
                 scenario: str | None = None, org: str | None = None, limits: Limits = Limits(),
                 policy=None):
        self.product = product
        self.raw = raw
        self.grants = grants
        self.grant_id = grant_id
        self.scenario = scenario
        self.org = org
        self.limits = limits
        self.policy = policy
        self.cache: dict[str, Any] = {}   # shared between rules of one run (parsed product, …)
        self.deadline = float("inf")

    def start_rule(self) -> None:
        self.deadline = time.monotonic() + self.limits.rule_seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RuleTimeout(f"the rule ran longer than {self.limits.rule_seconds:g} s")

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


class RuleTimeout(ExportReviewError):
    """A rule ran out of time."""


Rule = Callable[[CheckContext], CheckResult]
