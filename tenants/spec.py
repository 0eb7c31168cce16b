"""What a tenant and a production job are: frozen, validated specifications and results.

A tenant sees exactly four things, at fixed paths inside its sandbox:

| inside            | host                          | mode       |
|-------------------|-------------------------------|------------|
| `/data/samples`   | `spec.samples_dir`            | read-only  |
| `/workspace`      | `spec.workspace_dir` (the decrypted view of its encrypted workspace) | read-write |
| `/run/aod`        | `spec.gateway_dir` (holds `gateway.sock`, its only channel out) | read-only |
| `/run/jupyter`    | `spec.jupyter_dir` (JupyterLab creates `jupyter.sock` here) | read-write |

plus a private `/tmp`. No network: not even a loopback address reaches the host.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tenants.errors import InvalidSpec

SAMPLES_MOUNT = "/data/samples"
WORKSPACE_MOUNT = "/workspace"
GATEWAY_MOUNT = "/run/aod"
GATEWAY_SOCKET_NAME = "gateway.sock"
GATEWAY_SOCKET = f"{GATEWAY_MOUNT}/{GATEWAY_SOCKET_NAME}"
JUPYTER_MOUNT = "/run/jupyter"
JUPYTER_SOCKET_NAME = "jupyter.sock"
JOB_CODE_MOUNT = "/job/code"
JOB_DATA_MOUNT = "/data/raw"
JOB_OUTPUTS_MOUNT = "/job/outputs"

TENANT_UID = 65534  # "nobody" in Debian, inside both backends
TENANT_GID = 65534

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
_ENTRY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,200}\.py$")
_BASE_URL = re.compile(r"^/([A-Za-z0-9_.~-]+/)*$")
MAX_PARAMS_BYTES = 64 * 1024


def check_id(value: str, what: str = "tenant id") -> str:
    """Raise `InvalidSpec` unless `value` is a safe identifier (lowercase, digits, dashes)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidSpec(f"{what} must be 1-48 characters of a-z, 0-9 and '-', starting alphanumeric")
    return value


def _check_dir(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_absolute():
        raise InvalidSpec(f"{what} must be an absolute path")
    return path


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox. Enforced by cgroups (bwrap) or the engine (Docker)."""

    memory_mb: int = 2048
    cpus: float = 1.0
    pids: int = 256
    tmp_mb: int = 512
    workspace_mb: int | None = None  # disk quota of /workspace (None: no quota)

    def __post_init__(self) -> None:
        if self.workspace_mb is not None and not (8 <= self.workspace_mb <= 1 << 24):
            raise InvalidSpec("workspace_mb must be between 8 and 16777216 (or None)")
        if not (64 <= self.memory_mb <= 1 << 20):
            raise InvalidSpec("memory_mb must be between 64 and 1048576")
        if not (0.05 <= self.cpus <= 256):
            raise InvalidSpec("cpus must be between 0.05 and 256")
        if not (16 <= self.pids <= 100_000):
            raise InvalidSpec("pids must be between 16 and 100000")
        if not (8 <= self.tmp_mb <= 1 << 20):
            raise InvalidSpec("tmp_mb must be between 8 and 1048576")


@dataclass(frozen=True)
class TenantSpec:
    """One tenant's sandbox: who it is, what it sees, how much it may use."""

    tenant_id: str
    samples_dir: Path
    workspace_dir: Path
    gateway_dir: Path
    jupyter_dir: Path
    limits: Limits = field(default_factory=Limits)
    jupyter_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    jupyter_base_url: str = "/"

    def __post_init__(self) -> None:
        check_id(self.tenant_id)
        for name in ("samples_dir", "workspace_dir", "gateway_dir", "jupyter_dir"):
            object.__setattr__(self, name, _check_dir(getattr(self, name), name))
        if not isinstance(self.limits, Limits):
            raise InvalidSpec("limits must be a Limits")
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", self.jupyter_token):
            raise InvalidSpec("jupyter_token must be 16-128 URL-safe characters")
        if not _BASE_URL.fullmatch(self.jupyter_base_url) or "/../" in self.jupyter_base_url \
                or "/./" in self.jupyter_base_url:
            raise InvalidSpec("jupyter_base_url must look like /a/b/ (slashes around, no dots-only parts)")

    @property
    def jupyter_socket(self) -> Path:
        return self.jupyter_dir / JUPYTER_SOCKET_NAME

    @property
    def gateway_socket(self) -> Path:
        return self.gateway_dir / GATEWAY_SOCKET_NAME

    def to_json(self) -> str:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TenantSpec":
        try:
            data = json.loads(text)
            data["limits"] = Limits(**data["limits"])
            for key in ("samples_dir", "workspace_dir", "gateway_dir", "jupyter_dir"):
                data[key] = Path(data[key])
            return cls(**data)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSpec(f"stored tenant spec is damaged ({type(exc).__name__})") from None


@dataclass(frozen=True)
class TenantLayout:
    """The standard folders of one tenant under `<home>/tenants/<tenant>/`."""

    root: Path

    @classmethod
    def for_home(cls, home: Path, tenant_id: str) -> "TenantLayout":
        return cls(Path(home).absolute() / "tenants" / check_id(tenant_id))

    @property
    def tenant_id(self) -> str:
        return self.root.name

    @property
    def cipher_dir(self) -> Path:
        return self.root / "workspace.enc"

    @property
    def workspace_dir(self) -> Path:
        return self.root / "workspace"

    @property
    def gateway_dir(self) -> Path:
        return self.root / "gateway"

    @property
    def jupyter_dir(self) -> Path:
        return self.root / "jupyter"

    @property
    def samples_dir(self) -> Path:
        return self.root / "samples"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"


    def spec(self, *, samples_dir: Path | None = None, limits: Limits | None = None,
             jupyter_token: str | None = None, jupyter_base_url: str = "/") -> TenantSpec:
        return TenantSpec(
            tenant_id=self.tenant_id,
            samples_dir=samples_dir or self.samples_dir,
            workspace_dir=self.workspace_dir,
            gateway_dir=self.gateway_dir,
            jupyter_dir=self.jupyter_dir,
            limits=limits or Limits(),
            jupyter_token=jupyter_token or secrets.token_urlsafe(32),
            jupyter_base_url=jupyter_base_url,
        )


@dataclass(frozen=True)
class JobLimits:
    """Limits of one production job."""

    timeout_s: float = 600.0
    memory_mb: int = 2048
    cpus: float = 1.0
    pids: int = 128
    tmp_mb: int = 512
    max_log_bytes: int = 256 * 1024
    max_output_bytes: int = 1 << 30
    max_output_files: int = 100

    def __post_init__(self) -> None:
        if not (0.5 <= self.timeout_s <= 7 * 24 * 3600):
            raise InvalidSpec("timeout_s must be between 0.5 s and 7 days")
        Limits(memory_mb=self.memory_mb, cpus=self.cpus, pids=self.pids, tmp_mb=self.tmp_mb)
        if self.max_log_bytes < 1024 or self.max_output_bytes < 1 or self.max_output_files < 1:
            raise InvalidSpec("log and output bounds must be positive (logs at least 1 KiB)")

    def as_limits(self) -> Limits:
        return Limits(memory_mb=self.memory_mb, cpus=self.cpus, pids=self.pids, tmp_mb=self.tmp_mb)


@dataclass(frozen=True)
class JobSpec:
    """A production job: the tenant's code run once next to the grant's raw data.

    `code_dir` is mounted read-only at /job/code, `data_dir` (a decrypted view made by the
    caller, e.g. in a tmpfs) read-only at /data/raw, and `outputs_dir` (empty, made by the
    caller) read-write at /job/outputs. Parameters reach the code as JSON in `AOD_JOB_PARAMS`.
    """

    job_id: str
    tenant_id: str
    code_dir: Path
    entrypoint: str
    data_dir: Path
    outputs_dir: Path
    params: Mapping[str, Any] = field(default_factory=dict)
    limits: JobLimits = field(default_factory=JobLimits)

    def __post_init__(self) -> None:
        check_id(self.job_id, "job id")
        check_id(self.tenant_id)
        for name in ("code_dir", "data_dir", "outputs_dir"):
            object.__setattr__(self, name, _check_dir(getattr(self, name), name))
        if not _ENTRY.fullmatch(self.entrypoint) or ".." in self.entrypoint.split("/"):
            raise InvalidSpec("entrypoint must be a relative path to a .py file inside the code")
        if len(self.params_json()) > MAX_PARAMS_BYTES:
            raise InvalidSpec(f"job parameters exceed {MAX_PARAMS_BYTES} bytes")

    def params_json(self) -> str:
        try:
            return json.dumps(dict(self.params), sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError):
            raise InvalidSpec("job parameters must be JSON (strings, numbers, lists, objects)") from None


@dataclass(frozen=True)
class OutputFile:
    """One file a job left in /job/outputs: relative name, size and content hash."""

    name: str
    size: int
    sha256: str


class JobOutcome:
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    OUT_OF_MEMORY = "out_of_memory"
    CANCELLED = "cancelled"  # `cancel_job`: killed, its outputs dropped unread


@dataclass(frozen=True)
class JobResult:
    """What came of a job. `logs` were written next to raw data: check them before showing."""

    job_id: str
    outcome: str
    exit_code: int | None
    duration_s: float
    logs: str
    logs_truncated: bool
    outputs: tuple[OutputFile, ...]
    rejected: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.outcome == JobOutcome.SUCCEEDED
