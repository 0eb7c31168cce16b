"""The registry of rules per product kind, and the runner.

Built-in rules register the same way an extension would (`register(name, kinds)(fn)`).
`run_checks` opens the domain's engine connection once, registers the product in it, runs
each rule under a deadline (a timer interrupts the engine) and turns any failure to decide
(unreadable product, timeout, missing protocol, engine error) into a `failed` result."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Callable, Iterable

from export_review.checks.base import (
    CheckContext, CheckResult, CheckStatus, ProductKind, Rule, cannot_decide, worst,
)
from export_review.errors import ExportReviewError

log = logging.getLogger("aod.export_review.checks")


@dataclass(frozen=True)
class RuleSpec:
    name: str
    kinds: frozenset[ProductKind]
    fn: Rule
    needs_raw: bool = False       # runs inside the engine, with the product registered
    title: str = ""


RULES: dict[str, RuleSpec] = {}


def register(name: str, kinds: Iterable[ProductKind], *, needs_raw: bool = False,
             title: str = "") -> Callable[[Rule], Rule]:
    def wrap(fn: Rule) -> Rule:
        if name in RULES:
            raise ValueError(f"rule {name!r} is already registered")
        RULES[name] = RuleSpec(name, frozenset(kinds), fn, needs_raw, title or name)
        return fn
    return wrap


def rules_for(kind: ProductKind) -> list[RuleSpec]:
    _load_builtins()
    return [spec for spec in RULES.values() if kind in spec.kinds]


@dataclass(frozen=True)
class CheckReport:
    results: tuple[CheckResult, ...]

    @property
    def status(self) -> CheckStatus:
        return worst(r.status for r in self.results) if self.results else CheckStatus.FAILED

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status == CheckStatus.FAILED)

    def to_dict(self) -> dict:
        return {"status": self.status.value, "results": [r.to_dict() for r in self.results]}


def run_checks(ctx: CheckContext, only: Iterable[str] | None = None) -> CheckReport:
    specs = [s for s in rules_for(ctx.product.kind) if only is None or s.name in set(only)]
    results: list[CheckResult] = []
    with ExitStack() as stack:
        engine_error = _open_engine(ctx, stack) if any(s.needs_raw for s in specs) else None
        for spec in specs:
            if spec.needs_raw and engine_error:
                results.append(cannot_decide(spec.name, engine_error))
                continue
            results.append(_run_one(ctx, spec))
    return CheckReport(tuple(results))


def _open_engine(ctx: CheckContext, stack: ExitStack) -> str | None:
    from export_review.checks._sql import register_product
    from export_review.checks.product import product_table

    from export_review.checks.base import ProductKind

    if ctx.raw is None:
        return "the domain gave no raw-data access to compare the product with"
    try:
        tabular = ctx.product.kind in (ProductKind.DATA_PACKAGE, ProductKind.REPORT)
        table = product_table(ctx) if tabular else None
        con = stack.enter_context(ctx.raw.connect())
        if table is not None:
            register_product(con, table)
    except ExportReviewError as exc:
        return exc.message
    except Exception as exc:  # engine or parser failure: cannot decide, say only its type
        log.warning("check engine failed: %s", type(exc).__name__)
        return f"the engine could not load the product ({type(exc).__name__})"
    ctx.cache["con"] = con
    return None


def _run_one(ctx: CheckContext, spec: RuleSpec) -> CheckResult:
    ctx.start_rule()
    started = time.monotonic()
    timer = _watchdog(ctx)
    try:
        result = spec.fn(ctx)
    except ExportReviewError as exc:
        result = cannot_decide(spec.name, exc.message)
    except Exception as exc:
        timed_out = time.monotonic() > ctx.deadline
        why = (f"it ran longer than {ctx.limits.rule_seconds:g} s" if timed_out
               else f"it stopped with an internal error ({type(exc).__name__})")
        log.warning("rule %s could not decide: %s", spec.name, type(exc).__name__)
        result = cannot_decide(spec.name, why)
    finally:
        if timer:
            timer.cancel()
    return CheckResult(result.rule, result.status, result.findings, time.monotonic() - started)


def _watchdog(ctx: CheckContext) -> threading.Timer | None:
    con = ctx.cache.get("con")
    if con is None:
        return None
    timer = threading.Timer(ctx.limits.rule_seconds, con.interrupt)
    timer.daemon = True
    timer.start()
    return timer


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from export_review.checks import builtin  # noqa: F401  (registers the rules)
