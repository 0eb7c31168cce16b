"""`DockerBackend`: tenants and jobs in hardened containers, through the `docker` SDK.

Every container: no network (`network_mode=none`), read-only root, all capabilities dropped,
`no-new-privileges`, uid/gid 65534, pids/memory/CPU limits, a size-limited private /tmp, the
image built by docker/build.sh pinned by id and never pulled. The tenant's folders are bind
mounts (samples and the gateway folder read-only). The engine holds the containers; the
phase the domain asked for (`running` or `stopped`) is kept in `state_dir/<tenant>/phase`, so a
container that exited on its own reads as ERROR, not STOPPED.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tenants.errors import BackendRetry, BackendUnavailable, InvalidSpec, TenantNotFound
from tenants.isolation import _folders, images
from tenants.isolation._jobs import (
    BoundedLog, Cancellations, OutputStage, cancelled_result, check_job_inputs, collect_outputs, job_env,
)
from tenants.isolation.base import IsolationBackend, Op, State, Status, backend_scope, check_transition
from tenants.jupyter.launch import jupyter_argv, tenant_env
from tenants.spec import (
    GATEWAY_MOUNT,
    JOB_CODE_MOUNT,
    JOB_DATA_MOUNT,
    JOB_OUTPUTS_MOUNT,
    JUPYTER_MOUNT,
    SAMPLES_MOUNT,
    TENANT_GID,
    TENANT_UID,
    WORKSPACE_MOUNT,
    JobOutcome,
    JobResult,
    JobSpec,
    Limits,
    TenantSpec,
    check_id,
)

PYTHON = "/opt/aod/venv/bin/python"
PATH = "/opt/aod/venv/bin:/usr/bin:/bin"
SPEC_LABEL = "org.aod.spec"
KIND_LABEL = "org.aod.kind"
TENANT_LABEL = "org.aod.tenant"
_STATES = {"created": State.CREATED, "running": State.RUNNING, "restarting": State.RUNNING,
           "paused": State.ERROR, "removing": State.UNKNOWN, "dead": State.ERROR}


def container_name(tenant_id: str, scope: str) -> str:
    return f"aod-{scope}-tenant-{check_id(tenant_id)}"


def job_container_name(job_id: str, scope: str) -> str:
    return f"aod-{scope}-job-{check_id(job_id, 'job id')}"


class DockerBackend(IsolationBackend):
    name = "docker"
    host_uid = TENANT_UID  # no user-namespace remapping: uid 65534 inside is 65534 outside

    def __init__(self, state_dir: Path, client=None, image: str | None = None):
        self.state_dir = Path(state_dir)
        self.scope = backend_scope(self.state_dir)
        self._client = client
        self._image = image
        self._cancelled = Cancellations()

    # -- engine -------------------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            import docker

            try:
                self._client = docker.from_env(timeout=60)
                self._client.ping()
            except docker.errors.DockerException as exc:
                self._client = None
                raise BackendUnavailable(f"the Docker engine does not answer ({type(exc).__name__}); "
                                         "run docker/engine.sh start") from None
        return self._client

    def image_id(self) -> str:
        if self._image is None:
            self._image = images.resolve(self.client, "tenant")
        return self._image

    def check_available(self) -> None:
        self.image_id()

    def _call(self, fn, *args, **kwargs):
        """Call the engine, mapping its failures to typed errors (5xx and timeouts: retry)."""
        import docker
        import requests

        try:
            return fn(*args, **kwargs)
        except docker.errors.NotFound:
            raise
        except docker.errors.APIError as exc:
            if exc.is_server_error():
                raise BackendRetry(f"the Docker engine failed ({exc.status_code}); try again") from None
            raise BackendUnavailable(f"the Docker engine refused ({exc.status_code}: {exc.explanation})") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
            raise BackendRetry("the Docker engine did not answer in time; try again") from None

    # -- state --------------------------------------------------------------------------------
    def _phase_path(self, tenant_id: str) -> Path:
        return self.state_dir / check_id(tenant_id) / "phase"

    def _set_phase(self, tenant_id: str, phase: str) -> None:
        path = self._phase_path(tenant_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(phase)

    def _inspect(self, tenant_id: str) -> dict | None:
        import docker

        try:
            return self._call(self.client.api.inspect_container, container_name(tenant_id, self.scope))
        except docker.errors.NotFound:
            return None

    def status(self, tenant_id: str) -> Status:
        info = self._inspect(tenant_id)
        if info is None:
            return Status(tenant_id, State.UNKNOWN)
        engine_state = info["State"]["Status"]
        if engine_state == "exited":
            phase = self._phase_path(tenant_id).read_text() if self._phase_path(tenant_id).exists() else ""
            if phase == "stopped":
                return Status(tenant_id, State.STOPPED)
            return Status(tenant_id, State.ERROR, f"the container exited with code {info['State']['ExitCode']}")
        state = _STATES.get(engine_state, State.ERROR)
        detail = "out of memory" if info["State"].get("OOMKilled") else ""
        return Status(tenant_id, state, detail)

    def spec_of(self, tenant_id: str) -> TenantSpec:
        info = self._inspect(tenant_id)
        if info is None:
            raise TenantNotFound(f"tenant {tenant_id} is not known to the Docker backend")
        return TenantSpec.from_json(info["Config"]["Labels"][SPEC_LABEL])

    def tenants(self) -> list[str]:
        found = self._call(self.client.api.containers, all=True,
                           filters={"label": f"{KIND_LABEL}=tenant"})
        return sorted(c["Labels"][TENANT_LABEL] for c in found)

    # -- lifecycle ----------------------------------------------------------------------------
    def _host_config(self, limits: Limits, mounts: list):
        return self.client.api.create_host_config(
            network_mode="none", read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], pids_limit=limits.pids,
            mem_limit=limits.memory_mb * 1024 * 1024, memswap_limit=limits.memory_mb * 1024 * 1024,
            nano_cpus=int(limits.cpus * 1e9), ipc_mode="private", shm_size=64 * 1024 * 1024,
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777"},
            mounts=mounts, log_config={"type": "json-file", "config": {"max-size": "1m", "max-file": "2"}},
        )

    @staticmethod
    def _bind(source: Path, target: str, read_only: bool):
        from docker.types import Mount

        return Mount(target=target, source=str(source), type="bind", read_only=read_only)

    def create(self, spec: TenantSpec) -> Status:
        current = self.status(spec.tenant_id)
        after = check_transition(Op.CREATE, current.state, spec.tenant_id)
        if current.state is not State.UNKNOWN:
            return Status(spec.tenant_id, after)
        mounts = [
            self._bind(spec.samples_dir, SAMPLES_MOUNT, True),
            self._bind(spec.workspace_dir, WORKSPACE_MOUNT, False),
            self._bind(spec.gateway_dir, GATEWAY_MOUNT, True),
            self._bind(spec.jupyter_dir, JUPYTER_MOUNT, False),
        ]
        self._call(self.client.api.create_container,
                   image=self.image_id(), name=container_name(spec.tenant_id, self.scope),
                   command=jupyter_argv(PYTHON, spec), environment=tenant_env(spec, PATH),
                   user=f"{TENANT_UID}:{TENANT_GID}", working_dir=WORKSPACE_MOUNT,
                   hostname=f"tenant-{spec.tenant_id}"[:63], network_disabled=True,
                   labels={KIND_LABEL: "tenant", TENANT_LABEL: spec.tenant_id, SPEC_LABEL: spec.to_json()},
                   host_config=self._host_config(spec.limits, mounts))
        self._set_phase(spec.tenant_id, "created")
        return Status(spec.tenant_id, State.CREATED)

    def start(self, tenant_id: str) -> Status:
        current = self.status(tenant_id)
        if current.state is State.UNKNOWN:
            raise TenantNotFound(f"tenant {tenant_id} was never created")
        after = check_transition(Op.START, current.state, tenant_id)
        if current.state is State.RUNNING:
            return current
        _folders.prepare(self.spec_of(tenant_id), TENANT_UID, TENANT_GID)
        self._call(self.client.api.start, container_name(tenant_id, self.scope))
        self._set_phase(tenant_id, "running")
        return Status(tenant_id, after)

    def stop(self, tenant_id: str, timeout_s: float = 10.0) -> Status:
        current = self.status(tenant_id)
        after = check_transition(Op.STOP, current.state, tenant_id)
        if current.state in (State.RUNNING, State.ERROR):
            self._set_phase(tenant_id, "stopped")
            self._call(self.client.api.stop, container_name(tenant_id, self.scope), timeout=max(1, int(timeout_s)))
        if current.state is not State.UNKNOWN:
            _folders.release(self.spec_of(tenant_id))
        return Status(tenant_id, after)

    def remove(self, tenant_id: str) -> Status:
        import docker

        current = self.status(tenant_id)
        after = check_transition(Op.REMOVE, current.state, tenant_id)
        if current.state is not State.UNKNOWN:
            _folders.release(self.spec_of(tenant_id))
        try:
            self._call(self.client.api.remove_container, container_name(tenant_id, self.scope), force=True, v=True)
        except docker.errors.NotFound:
            pass
        shutil.rmtree(self.state_dir / tenant_id, ignore_errors=True)
        return Status(tenant_id, after)

    # -- production jobs ----------------------------------------------------------------------
    def run_job(self, spec: JobSpec) -> JobResult:
        check_job_inputs(spec)
        for name in ("code_dir", "data_dir"):
            st = getattr(spec, name).stat()
            if not (st.st_mode & 0o005 == 0o005 or st.st_uid == TENANT_UID):
                raise InvalidSpec(f"job {spec.job_id}: {name} must be readable by uid {TENANT_UID}")
        try:
            if spec.job_id in self._cancelled:  # cancelled before it began: nothing is made
                return cancelled_result(spec)
            with OutputStage(spec, TENANT_UID, TENANT_GID) as stage:
                outcome, code, duration, logs, truncated = self._run_job_in(spec, stage.path)
                if outcome == JobOutcome.CANCELLED:
                    return cancelled_result(spec, duration)  # outputs dropped with the stage
                outputs, rejected = collect_outputs(stage.path, spec.outputs_dir, spec.limits)
            return JobResult(spec.job_id, outcome, code, duration, logs, truncated, outputs, rejected)
        finally:
            self._cancelled.discard(spec.job_id)

    def cancel_job(self, job_id: str) -> None:
        import docker

        self._cancelled.add(job_id)  # this process's run_job sees it; the engine reaches any other
        try:
            self._call(self.client.api.kill, job_container_name(job_id, self.scope))
        except (docker.errors.NotFound, BackendUnavailable):  # 404, or 409: it is not running
            pass  # not yet, or no more: nothing to kill (an unreachable engine raises BackendRetry)

    def _run_job_in(self, spec: JobSpec, stage: Path):
        import docker
        import requests

        name = job_container_name(spec.job_id, self.scope)
        mounts = [self._bind(spec.code_dir, JOB_CODE_MOUNT, True),
                  self._bind(spec.data_dir, JOB_DATA_MOUNT, True),
                  self._bind(stage, JOB_OUTPUTS_MOUNT, False)]
        api = self.client.api
        self._call(api.create_container, image=self.image_id(), name=name,
                   command=[PYTHON, f"{JOB_CODE_MOUNT}/{spec.entrypoint}"],
                   environment=job_env(spec, PATH), user=f"{TENANT_UID}:{TENANT_GID}",
                   working_dir=JOB_OUTPUTS_MOUNT, network_disabled=True,
                   labels={KIND_LABEL: "job", TENANT_LABEL: spec.tenant_id},
                   host_config=self._host_config(spec.limits.as_limits(), mounts))
        try:
            started = time.monotonic()
            self._call(api.start, name)
            if spec.job_id in self._cancelled:  # cancelled while its container was made
                self._call(api.kill, name)
            log = BoundedLog(api.logs(name, stream=True, follow=True), spec.limits.max_log_bytes)
            timed_out = False
            try:
                code = api.wait(name, timeout=spec.limits.timeout_s)["StatusCode"]
            except requests.exceptions.RequestException:  # read timeout: out of time
                timed_out = True
                self._call(api.kill, name)
                code = None
            duration = round(time.monotonic() - started, 3)
            oom = bool(self._call(api.inspect_container, name)["State"].get("OOMKilled"))
            text = log.text()
        finally:
            try:
                api.remove_container(name, force=True)
            except docker.errors.DockerException:
                pass
        cancelled = spec.job_id in self._cancelled
        outcome = (JobOutcome.CANCELLED if cancelled else JobOutcome.TIMED_OUT if timed_out
                   else JobOutcome.OUT_OF_MEMORY if oom else JobOutcome.SUCCEEDED if code == 0 else JobOutcome.FAILED)
        return outcome, code, duration, text, log.truncated
