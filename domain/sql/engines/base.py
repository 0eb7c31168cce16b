"""The engine interface: run a policy-approved plan on raw data, under limits.

Engines get the plan (never the user's SQL), the opened raw datasets and the limits. They
expose only the plan's columns of each dataset, run under a time and memory limit, and check
the result again before returning it (column names exactly as planned, no hidden column left,
row cap). Engine error messages can quote data values, so they are reduced to their kind.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from domain.errors import DomainError
from domain.rawstore import RawDataset
from domain.sql.decision import Decision, Plan, is_sealed

DROPPED = "__aod_dropped"
UNDECIDED = "__aod_undecided"


class SqlEngineError(DomainError):
    """Base of the query engines' errors."""


class PlanRejected(SqlEngineError):
    http_status = 403


class QueryInterrupted(SqlEngineError):
    """The query hit its time or memory limit and was stopped."""

    http_status = 408

    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit  # "time" or "memory"


class ResultTooLarge(SqlEngineError):
    http_status = 413


class EngineFailed(SqlEngineError):
    http_status = 500


class EngineUnavailable(SqlEngineError):
    http_status = 503


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 60.0
    memory_limit: str = "4GB"
    max_result_rows: int = 100_000
    threads: int = 2

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.max_result_rows < 1 or self.threads < 1:
            raise SqlEngineError("limits must be positive")
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", self.memory_limit.strip()):
            raise SqlEngineError("memory_limit looks like '4GB' or '512MiB'")


@dataclass(frozen=True)
class Timings:
    prepare_s: float
    execute_s: float
    total_s: float


@dataclass(frozen=True)
class QueryResult:
    table: pa.Table = field(repr=False)
    rows: int
    rows_suppressed: int        # final groups dropped by the k rule
    sha256: str                 # of the returned table (Arrow IPC stream)
    engine: str
    timings: Timings
    plan_fingerprint: str


class Engine(ABC):
    name: str = "engine"

    @abstractmethod
    def execute(self, decision: Decision, sources: Mapping[str, RawDataset], limits: Limits) -> QueryResult:
        """Run an allowed decision's plan on the opened raw datasets named by SQL table."""

    def close(self) -> None:  # pragma: no cover - engines without resources
        pass


def require_plan(decision: Decision, sources: Mapping[str, RawDataset]) -> Plan:
    if not isinstance(decision, Decision) or not decision.allowed or decision.plan is None:
        raise PlanRejected("only a query allowed by the policy can run")
    plan = decision.plan
    if not is_sealed(plan):
        raise PlanRejected("the plan was not produced by the policy in this process")
    for table, columns in plan.views:
        source = sources.get(table)
        if not isinstance(source, RawDataset):
            raise PlanRejected(f"no raw data was opened for table {table}")
        missing = [c for c in columns if c.lower() not in {x.lower() for x in source.columns}]
        if missing:
            raise PlanRejected(f"the raw data of {table} lacks column(s) {', '.join(missing)}")
    return plan


def run_plan(plan: Plan, run: Callable[[str], pa.Table]) -> tuple[pa.Table, Callable[[], int]]:
    """Run the plan with `run(sql)`: the result (hidden __aod_dropped last, if reported) and a
    function counting the suppressed groups when the result is empty.

    A plan whose SQL certifies the k rule (`exact_sql` set) carries the number of groups its
    bounds could not decide; if there is any, the exact SQL runs instead and its result is the
    answer. Certified rows are exactly the rows the exact SQL keeps, so both ways agree. A plan
    that needed the exact SQL once (same fingerprint) goes straight to it afterwards."""
    if plan.exact_sql and _needed_exact(plan.fingerprint):  # undecided last time: likely again
        table = _without_undecided(run(plan.exact_sql))
        return table, lambda: _first(run(plan.exact_dropped_sql), 0)
    table = run(plan.sql)
    if not plan.exact_sql:
        return table, lambda: _first(run(plan.dropped_sql), 0)
    names = list(table.column_names)
    if not names or names[-1] != UNDECIDED:
        raise EngineFailed("the engine's result lacks the k-rule certification column")
    if table.num_rows:
        undecided, counts = _first(table, len(names) - 1), None
    else:
        counts = run(plan.dropped_sql)
        undecided = _first(counts, 1)
    if undecided:
        _remember_exact(plan.fingerprint)
        table = _without_undecided(run(plan.exact_sql))
        return table, lambda: _first(run(plan.exact_dropped_sql), 0)
    table = _without_undecided(table)
    return table, lambda: _first(counts if counts is not None else run(plan.dropped_sql), 0)


_EXACT_PLANS: "OrderedDict[str, None]" = OrderedDict()  # plans whose bounds left groups undecided
_EXACT_LOCK = threading.Lock()
EXACT_MEMORY = 1024


def _needed_exact(fingerprint: str) -> bool:
    with _EXACT_LOCK:
        return fingerprint in _EXACT_PLANS


def _remember_exact(fingerprint: str) -> None:
    with _EXACT_LOCK:
        _EXACT_PLANS[fingerprint] = None
        _EXACT_PLANS.move_to_end(fingerprint)
        while len(_EXACT_PLANS) > EXACT_MEMORY:
            _EXACT_PLANS.popitem(last=False)


def _without_undecided(table: pa.Table) -> pa.Table:
    if not table.column_names or table.column_names[-1] != UNDECIDED:
        raise EngineFailed("the engine's result lacks the k-rule certification column")
    return table.remove_column(table.num_columns - 1)


def _first(table: pa.Table, column: int) -> int:
    """The integer in the first row of `column` (0 when empty or NULL)."""
    if not table.num_rows:
        return 0
    return int(table.column(column)[0].as_py() or 0)


def finish(table: pa.Table, plan: Plan, engine: str, timings: Timings,
           dropped_fallback) -> QueryResult:
    """Check the result against the plan, take out the hidden column, hash."""
    dropped = 0
    names = list(table.column_names)
    if plan.reports_dropped:
        if not names or names[-1] != DROPPED:
            raise EngineFailed("the engine's result lacks the k-rule accounting column")
        column = table.column(len(names) - 1)
        dropped = int(column[0].as_py() or 0) if table.num_rows else int(dropped_fallback())
        table = table.remove_column(len(names) - 1)
    if tuple(table.column_names) != plan.output_columns:
        raise EngineFailed("the engine's result columns differ from the plan")
    if any(n.lower().startswith("__aod") for n in table.column_names):
        raise EngineFailed("a hidden column reached the result")
    table = table.combine_chunks()
    return QueryResult(table=table, rows=table.num_rows, rows_suppressed=dropped,
                       sha256=table_sha256(table), engine=engine, timings=timings,
                       plan_fingerprint=plan.fingerprint)


def table_sha256(table: pa.Table) -> str:
    digest = hashlib.sha256()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_DIGITS = re.compile(r"\d{3,}")


def safe_message(error: BaseException) -> str:
    """An engine error reduced to a line without data values (quoted text and numbers go)."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    first = _DIGITS.sub("?", _QUOTED.sub("?", first))
    return first[:200]
