"""`BwrapBackend`: tenants and jobs in bubblewrap sandboxes, for machines without Docker.

Limits come from one cgroup per sandbox (see `_cgroups`); if they cannot be enforced the
sandbox does not start (`LimitsUnavailable`). State lives in `state_dir/<tenant>/` (the spec,
the phase, the pid and its start time), so a new backend object finds running tenants again.

`--die-with-parent` ties a sandbox to the thread that started it, so every sandbox is
spawned from one long-lived launcher thread: a sandbox lives as long as the process that owns
the backend (the domain server), never shorter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from queue import Queue

from tenants.errors import BackendUnavailable, TenantNotFound
from tenants.isolation import _bwrap_argv as argv_
from tenants.isolation import _folders
from tenants.isolation._cgroups import Cgroups, join_script
from tenants.isolation._jobs import (
    BoundedLog, Cancellations, OutputStage, cancelled_result, check_job_inputs, collect_outputs, job_env,
)
from tenants.isolation.base import IsolationBackend, Op, State, Status, backend_scope, check_transition
from tenants.jupyter.launch import jupyter_argv, tenant_env
from tenants.isolation._visible import check_traversable
from tenants.spec import (
    JOB_CODE_MOUNT,
    TENANT_GID,
    TENANT_UID,
    JobOutcome,
    JobResult,
    JobSpec,
    TenantSpec,
    check_id,
)

LOG_KEEP_BYTES = 1 << 20


class _Launcher:
    """One daemon thread that runs every `Popen`, so parent-death signals never fire early."""

    def __init__(self) -> None:
        self._queue: Queue = Queue()
        threading.Thread(target=self._loop, name="aod-bwrap-launcher", daemon=True).start()

    def _loop(self) -> None:
        while True:
            future, args, kwargs = self._queue.get()
            try:
                future.set_result(subprocess.Popen(args, **kwargs))
            except BaseException as exc:  # handed back to the caller
                future.set_exception(exc)

    def popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        future: Future = Future()
        self._queue.put((future, args, kwargs))
        return future.result()


_LAUNCHER: _Launcher | None = None
_LAUNCHER_LOCK = threading.Lock()


def _launcher() -> _Launcher:
    global _LAUNCHER
    with _LAUNCHER_LOCK:
        if _LAUNCHER is None:
            _LAUNCHER = _Launcher()
        return _LAUNCHER


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid`, or None if it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


class BwrapBackend(IsolationBackend):
    name = "bwrap"
    host_uid = TENANT_UID  # bwrap runs as 65534: the sandbox is 65534 inside and outside

    def __init__(self, state_dir: Path, cgroups: Cgroups | None = None):
        self.state_dir = Path(state_dir)
        self.cgroups = cgroups or Cgroups()
        self._cg_scope = backend_scope(self.state_dir)  # cgroups are machine-wide: see backend_scope
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.RLock()
        self._cancelled = Cancellations()

    # -- availability and state files -------------------------------------------------------
    def check_available(self) -> None:
        if shutil.which("bwrap") is None:
            raise BackendUnavailable("bubblewrap is not installed (apt-get install bubblewrap)")
        self.cgroups.check_available()

    def _cgroup_name(self, tenant_id: str) -> str:
        return f"tenant-{self._cg_scope}-{check_id(tenant_id)}"

    def _job_cgroup(self, job_id: str) -> str:
        return f"job-{self._cg_scope}-{check_id(job_id, 'job id')}"

    def _dir(self, tenant_id: str) -> Path:
        return self.state_dir / check_id(tenant_id)

    def _read(self, tenant_id: str, name: str) -> str | None:
        try:
            return (self._dir(tenant_id) / name).read_text()
        except FileNotFoundError:
            return None

    def _write(self, tenant_id: str, name: str, text: str) -> None:
        path = self._dir(tenant_id) / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def spec_of(self, tenant_id: str) -> TenantSpec:
        text = self._read(tenant_id, "spec.json")
        if text is None:
            raise TenantNotFound(f"tenant {tenant_id} is not known to the bwrap backend")
        return TenantSpec.from_json(text)

    def tenants(self) -> list[str]:
        if not self.state_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.state_dir.glob("*/spec.json"))

    # -- status -------------------------------------------------------------------------------
    def _run_info(self, tenant_id: str) -> dict | None:
        text = self._read(tenant_id, "run.json")
        return json.loads(text) if text else None

    def _alive(self, info: dict | None) -> bool:
        if not info:
            return False
        with self._lock:
            proc = self._procs.get(info["pid"])
            if proc is not None and proc.poll() is not None:
                self._procs.pop(info["pid"], None)
                return False
        return _start_time(info["pid"]) == info["start"]

    def status(self, tenant_id: str) -> Status:
        phase = self._read(tenant_id, "phase")
        if phase is None or self._read(tenant_id, "spec.json") is None:
            return Status(tenant_id, State.UNKNOWN)
        if phase != "running":
            return Status(tenant_id, State(phase))
        if self._alive(self._run_info(tenant_id)):
            return Status(tenant_id, State.RUNNING)
        return Status(tenant_id, State.ERROR, "the sandbox exited without being stopped")

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self, spec: TenantSpec) -> Status:
        with self._lock:
            current = self.status(spec.tenant_id)
            after = check_transition(Op.CREATE, current.state, spec.tenant_id)
            if current.state is not State.UNKNOWN:
                return Status(spec.tenant_id, after)
            self.check_available()
            d = self._dir(spec.tenant_id)
            d.mkdir(parents=True, exist_ok=True, mode=0o711)
            d.chmod(0o711)
            self.state_dir.chmod(0o711)
            argv_.write_etc(d / "etc")
            self._write(spec.tenant_id, "spec.json", spec.to_json())
            self._write(spec.tenant_id, "phase", State.CREATED.value)
            return Status(spec.tenant_id, State.CREATED)

    def _check_folders(self, spec: TenantSpec) -> None:
        for name in ("samples_dir", "workspace_dir", "gateway_dir"):
            if getattr(spec, name).is_dir():
                check_traversable(getattr(spec, name), TENANT_UID, TENANT_GID, f"tenant {spec.tenant_id}: {name}")
        check_traversable(self._dir(spec.tenant_id), TENANT_UID, TENANT_GID, "the bwrap state folder")
        _folders.prepare(spec, TENANT_UID, TENANT_GID)

    def start(self, tenant_id: str) -> Status:
        with self._lock:
            current = self.status(tenant_id)
            if current.state is State.UNKNOWN:
                raise TenantNotFound(f"tenant {tenant_id} was never created")
            after = check_transition(Op.START, current.state, tenant_id)
            if current.state is State.RUNNING:
                return current
            self.check_available()
            spec = self.spec_of(tenant_id)
            self._check_folders(spec)
            self._spawn(spec)
            self._write(tenant_id, "phase", State.RUNNING.value)
            return Status(tenant_id, after)

    def _spawn(self, spec: TenantSpec) -> None:
        cg = self.cgroups.create(self._cgroup_name(spec.tenant_id), spec.limits)
        python = argv_.python_executable()
        argv_.write_etc(self._dir(spec.tenant_id) / "etc")  # current files, whenever it was created
        env = tenant_env(spec, f"{os.path.dirname(python)}:/usr/bin:/bin")
        env["PYTHONPATH"] = argv_.SDK_MOUNT
        args = (join_script(cg.procs_files) + argv_.unprivileged()
                + argv_.tenant_args(spec, self._dir(spec.tenant_id) / "etc", env)
                + jupyter_argv(python, spec))
        log_path = self._dir(spec.tenant_id) / "jupyter.log"
        if log_path.exists() and log_path.stat().st_size > LOG_KEEP_BYTES:
            log_path.unlink()
        with open(log_path, "ab") as log:
            proc = _launcher().popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     close_fds=True, start_new_session=True, env={"PATH": "/usr/bin:/bin"})
        with self._lock:
            self._procs[proc.pid] = proc
        start = _start_time(proc.pid) or ""
        self._write(spec.tenant_id, "run.json", json.dumps({"pid": proc.pid, "start": start,
                                                            "cgroup": cg.name}))

    def stop(self, tenant_id: str, timeout_s: float = 10.0) -> Status:
        with self._lock:
            current = self.status(tenant_id)
            after = check_transition(Op.STOP, current.state, tenant_id)
            if current.state in (State.RUNNING, State.ERROR):
                self._terminate(tenant_id, timeout_s)
                self._write(tenant_id, "phase", State.STOPPED.value)
            return Status(tenant_id, after)

    def _terminate(self, tenant_id: str, timeout_s: float) -> None:
        info = self._run_info(tenant_id) or {}
        cg = self.cgroups.handle(info.get("cgroup", self._cgroup_name(tenant_id)))
        self.cgroups.kill_all(cg, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self._alive(info) and time.monotonic() < deadline:
            time.sleep(0.05)
        if info and self._alive(info):
            os.kill(info["pid"], signal.SIGKILL)
        self.cgroups.remove(cg)
        with self._lock:
            proc = self._procs.pop(info.get("pid", -1), None)
        if proc is not None:
            proc.wait(timeout=5)
        _folders.release(self.spec_of(tenant_id))
        (self._dir(tenant_id) / "run.json").unlink(missing_ok=True)

    def remove(self, tenant_id: str) -> Status:
        with self._lock:
            current = self.status(tenant_id)
            after = check_transition(Op.REMOVE, current.state, tenant_id)
            if current.state in (State.RUNNING, State.ERROR):
                self._terminate(tenant_id, timeout_s=5.0)
            shutil.rmtree(self._dir(tenant_id), ignore_errors=True)
            return Status(tenant_id, after)

    # -- production jobs ----------------------------------------------------------------------
    def run_job(self, spec: JobSpec) -> JobResult:
        self.check_available()
        check_job_inputs(spec)
        for name in ("code_dir", "data_dir", "outputs_dir"):
            check_traversable(getattr(spec, name), TENANT_UID, TENANT_GID, f"job {spec.job_id}: {name}")
        if spec.job_id in self._cancelled:  # cancelled before it began: nothing is made
            self._cancelled.discard(spec.job_id)
            return cancelled_result(spec)
        work = self.state_dir / "_jobs" / spec.job_id
        work.mkdir(parents=True, exist_ok=False, mode=0o711)
        for d in (self.state_dir, work.parent):
            d.chmod(0o711)
        try:
            argv_.write_etc(work / "etc")
            with OutputStage(spec, self.host_uid, self.host_uid) as stage:
                result = self._run_job_in(spec, stage.path, work / "etc")
                if result[0] == JobOutcome.CANCELLED:
                    return cancelled_result(spec, result[2])  # outputs dropped with the stage
                outputs, rejected = collect_outputs(stage.path, spec.outputs_dir, spec.limits)
            return JobResult(spec.job_id, result[0], result[1], result[2], result[3], result[4],
                             outputs, rejected)
        finally:
            self._cancelled.discard(spec.job_id)
            shutil.rmtree(work, ignore_errors=True)

    def cancel_job(self, job_id: str) -> None:
        self._cancelled.add(job_id)  # this process's run_job sees it; the cgroup reaches any other
        self.cgroups.kill_all(self.cgroups.handle(self._job_cgroup(job_id)))

    def _run_job_in(self, spec: JobSpec, stage: Path, etc_dir: Path):
        cg = self.cgroups.create(self._job_cgroup(spec.job_id), spec.limits.as_limits())
        python = argv_.python_executable()
        env = job_env(spec, f"{os.path.dirname(python)}:/usr/bin:/bin")
        args = (join_script(cg.procs_files) + argv_.unprivileged() + argv_.job_args(spec, stage, etc_dir, env)
                + [python, f"{JOB_CODE_MOUNT}/{spec.entrypoint}"])
        started = time.monotonic()
        proc = _launcher().popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, close_fds=True, start_new_session=True,
                                 env={"PATH": "/usr/bin:/bin"})
        log = BoundedLog(proc.stdout, spec.limits.max_log_bytes)
        code, timed_out = self._wait_job(spec, proc, cg, started + spec.limits.timeout_s)
        duration = time.monotonic() - started
        oom = self.cgroups.oom_killed(cg)
        self.cgroups.remove(cg)
        text = log.text()
        cancelled = spec.job_id in self._cancelled
        outcome = (JobOutcome.CANCELLED if cancelled else JobOutcome.TIMED_OUT if timed_out
                   else JobOutcome.OUT_OF_MEMORY if oom else JobOutcome.SUCCEEDED if code == 0 else JobOutcome.FAILED)
        return outcome, (None if timed_out or cancelled else code), round(duration, 3), text, log.truncated

    def _wait_job(self, spec: JobSpec, proc, cg, deadline: float) -> tuple[int, bool]:
        """Wait for the job's exit, killing it when cancelled or out of time: (code, timed out)."""
        while True:
            try:
                return proc.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic()))), False
            except subprocess.TimeoutExpired:
                cancelled = spec.job_id in self._cancelled
                if cancelled or time.monotonic() >= deadline:
                    self.cgroups.kill_all(cg)
                    proc.kill()
                    return proc.wait(timeout=10), not cancelled
