"""An in-memory backend for other packages' unit tests (like job-runner's `StubExecutorAPI`).

It follows the same transition table as the real backends and records every call, so a
lifecycle service can be tested without sandboxes. `fail_next(op, error)` injects a failure;
`crash(tenant)` simulates a sandbox that died by itself (state ERROR). `run_job` runs nothing:
it returns `job_results[job_id]` if set, else a successful result with no outputs (cancelled
if `cancel_job` named it first).
"""

from __future__ import annotations

import threading

from tenants.errors import TenantError, TenantNotFound
from tenants.isolation.base import IsolationBackend, Op, State, Status, check_transition
from tenants.spec import JobOutcome, JobResult, JobSpec, TenantSpec


class StubBackend(IsolationBackend):
    name = "stub"
    host_uid = 0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, TenantSpec] = {}
        self._states: dict[str, State] = {}
        self._failures: dict[Op, TenantError] = {}
        self.calls: list[tuple[str, str]] = []
        self.job_results: dict[str, JobResult] = {}
        self.jobs: list[JobSpec] = []
        self.cancelled: list[str] = []

    def check_available(self) -> None:
        return None

    def fail_next(self, op: Op, error: TenantError) -> None:
        self._failures[op] = error

    def crash(self, tenant_id: str) -> None:
        with self._lock:
            self._states[tenant_id] = State.ERROR

    def _apply(self, op: Op, tenant_id: str) -> Status:
        with self._lock:
            self.calls.append((op.value, tenant_id))
            if op in self._failures:
                raise self._failures.pop(op)
            before = self._states.get(tenant_id, State.UNKNOWN)
            if op is Op.START and before is State.UNKNOWN:
                raise TenantNotFound(f"tenant {tenant_id} was never created")
            after = check_transition(op, before, tenant_id)
            if after is State.UNKNOWN:
                self._states.pop(tenant_id, None)
                self._specs.pop(tenant_id, None)
            else:
                self._states[tenant_id] = after
            return Status(tenant_id, after)

    def create(self, spec: TenantSpec) -> Status:
        with self._lock:
            self._specs.setdefault(spec.tenant_id, spec)
        return self._apply(Op.CREATE, spec.tenant_id)

    def start(self, tenant_id: str) -> Status:
        return self._apply(Op.START, tenant_id)

    def stop(self, tenant_id: str, timeout_s: float = 10.0) -> Status:
        return self._apply(Op.STOP, tenant_id)

    def remove(self, tenant_id: str) -> Status:
        return self._apply(Op.REMOVE, tenant_id)

    def status(self, tenant_id: str) -> Status:
        with self._lock:
            return Status(tenant_id, self._states.get(tenant_id, State.UNKNOWN))

    def tenants(self) -> list[str]:
        with self._lock:
            return sorted(self._states)

    def spec_of(self, tenant_id: str) -> TenantSpec:
        with self._lock:
            if tenant_id not in self._specs:
                raise TenantNotFound(f"tenant {tenant_id} is not known to the stub backend")
            return self._specs[tenant_id]

    def cancel_job(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    def run_job(self, spec: JobSpec) -> JobResult:
        self.jobs.append(spec)
        if spec.job_id in self.cancelled:
            return JobResult(spec.job_id, JobOutcome.CANCELLED, None, 0.0, "", False, ())
        if spec.job_id in self.job_results:
            return self.job_results[spec.job_id]
        return JobResult(spec.job_id, JobOutcome.SUCCEEDED, 0, 0.0, "", False, ())
