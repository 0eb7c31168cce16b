"""The isolation backend interface, modelled on job-runner's `ExecutorAPI`.

Every operation is idempotent (calling it twice has the effect of calling it once) and returns
the `Status` reached; `status()` is polled. A transient failure raises `BackendRetry`
(`error.retry` is true); a call the table does not allow raises `InvalidTransition`.
"""

from __future__ import annotations


import enum
import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tenants.errors import TenantError
from tenants.spec import JobResult, JobSpec, TenantSpec


class State(enum.Enum):
    UNKNOWN = "unknown"      # the backend holds nothing for this tenant (never created, or removed)
    CREATED = "created"      # prepared, not running
    RUNNING = "running"      # the sandbox runs (JupyterLab may still be starting)
    STOPPED = "stopped"      # stopped on request; everything kept
    ERROR = "error"          # exited or broke without being asked to


class Op(enum.Enum):
    CREATE = "create"
    START = "start"
    STOP = "stop"
    REMOVE = "remove"


# (operation, state before) -> state after. A missing pair is not allowed.
TRANSITIONS: dict[tuple[Op, State], State] = {
    (Op.CREATE, State.UNKNOWN): State.CREATED,
    (Op.CREATE, State.CREATED): State.CREATED,
    (Op.CREATE, State.RUNNING): State.RUNNING,
    (Op.CREATE, State.STOPPED): State.STOPPED,
    (Op.CREATE, State.ERROR): State.ERROR,
    (Op.START, State.CREATED): State.RUNNING,
    (Op.START, State.RUNNING): State.RUNNING,
    (Op.START, State.STOPPED): State.RUNNING,
    (Op.START, State.ERROR): State.RUNNING,
    (Op.STOP, State.CREATED): State.CREATED,
    (Op.STOP, State.RUNNING): State.STOPPED,
    (Op.STOP, State.STOPPED): State.STOPPED,
    (Op.STOP, State.ERROR): State.STOPPED,
    (Op.STOP, State.UNKNOWN): State.UNKNOWN,
    (Op.REMOVE, State.UNKNOWN): State.UNKNOWN,
    (Op.REMOVE, State.CREATED): State.UNKNOWN,
    (Op.REMOVE, State.RUNNING): State.UNKNOWN,
    (Op.REMOVE, State.STOPPED): State.UNKNOWN,
    (Op.REMOVE, State.ERROR): State.UNKNOWN,
}


class InvalidTransition(TenantError):
    """An operation the transition table does not allow from the current state."""


def check_transition(op: Op, state: State, tenant_id: str) -> State:
    """The state `op` leads to from `state`; raises `InvalidTransition` if not allowed."""
    try:
        return TRANSITIONS[(op, state)]
    except KeyError:
        raise InvalidTransition(f"cannot {op.value} tenant {tenant_id} while it is {state.value}") from None


def can_transition(op: Op, state: State) -> bool:
    return (op, state) in TRANSITIONS


@dataclass(frozen=True)
class Status:
    tenant_id: str
    state: State
    detail: str = ""  # one line for a person; never data

    @property
    def running(self) -> bool:
        return self.state is State.RUNNING


class IsolationBackend(ABC):
    """One way of isolating tenants (Docker, bubblewrap, or a stub for tests)."""

    name: ClassVar[str]
    host_uid: ClassVar[int]  # the uid, as the host sees it, of the sandbox's processes

    @abstractmethod
    def check_available(self) -> None:
        """Raise `BackendUnavailable` (with how to fix it) unless this backend can run here."""

    @abstractmethod
    def create(self, spec: TenantSpec) -> Status:
        """Prepare the sandbox for `spec` without starting it."""

    @abstractmethod
    def start(self, tenant_id: str) -> Status:
        """Start the prepared sandbox; JupyterLab begins listening on its socket shortly after."""

    @abstractmethod
    def stop(self, tenant_id: str, timeout_s: float = 10.0) -> Status:
        """Stop every process of the sandbox (gracefully, then by force after `timeout_s`)."""

    @abstractmethod
    def remove(self, tenant_id: str) -> Status:
        """Stop if needed and forget the sandbox; the tenant's folders are the caller's."""

    @abstractmethod
    def status(self, tenant_id: str) -> Status:
        """The current state, read from the engine or the process table (never cached)."""

    @abstractmethod
    def tenants(self) -> list[str]:
        """Ids of the tenants this backend holds something for."""

    @abstractmethod
    def run_job(self, spec: JobSpec) -> JobResult:
        """Run one production job to completion in a fresh one-shot sandbox."""

    @abstractmethod
    def cancel_job(self, job_id: str) -> None:
        """Kill the job's sandbox now, whichever process on this machine runs it (idempotent;
        nothing happens for a job that is not running). The `run_job` call of this process
        for it returns `JobOutcome.CANCELLED` with no outputs, also if it has not begun yet."""

    @abstractmethod
    def spec_of(self, tenant_id: str) -> TenantSpec:
        """The spec the tenant was created with; raises `TenantNotFound`."""


def backend_scope(state_dir: Path) -> str:
    """A short tag of a backend's state folder (one per domain home). Names in the engine and in
    /sys/fs/cgroup are machine-wide: the tag keeps two domains' tenants of the same id apart."""
    return hashlib.sha256(str(Path(state_dir).resolve()).encode()).hexdigest()[:10]
