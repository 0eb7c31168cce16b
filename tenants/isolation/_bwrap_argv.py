"""The bubblewrap command lines of a tenant and of a production job.

bubblewrap itself runs as uid/gid 65534 (`unprivileged()`), so the sandbox's user is 65534 on
the host too, never a root in disguise. Everything is unshared (user, pid, network, ipc, uts, cgroup namespaces; only `lo` exists
inside, and it reaches nothing of the host), all capabilities are dropped, the sandbox runs as
uid/gid 65534, cannot make further user namespaces, dies with its parent, and starts with an
empty environment. The root is a read-only tmpfs holding only: /usr (and the /bin, /lib links),
the Python installation, a few generated /etc files, the SDK, and the tenant's own folders.
Node.js is hidden (`MASKED_TOOLS`): a sandbox builds no lab extensions, and JupyterLab spends
1.3 s at start-up asking Node's yarn for a package registry whenever it finds `node`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tenants.isolation._visible import visible
from tenants.jupyter.launch import CONFIG_MOUNT, SDK_MOUNT
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
)

TENANTS_PKG = Path(__file__).resolve().parents[1]
ETC_FILES = {
    "passwd": f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
              f"tenant:x:{TENANT_UID}:{TENANT_GID}:aod tenant:/workspace:/usr/sbin/nologin\n",
    "group": f"root:x:0:\ntenant:x:{TENANT_GID}:\n",
    "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
}
MASKED_TOOLS = ("node", "nodejs")
MASK_FILE = "masked"  # an empty, non-executable file bound over each masked tool


def python_prefixes() -> list[str]:
    """Folders of this Python installation that must be visible (read-only) in the sandbox."""
    found = []
    for prefix in {sys.base_prefix, sys.prefix}:
        if not prefix.startswith("/usr/") and prefix != "/usr":
            found.append(prefix)
    return sorted(found)


def python_executable() -> str:
    return os.path.realpath(sys.executable)


def _root_links() -> list[str]:
    args: list[str] = []
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
    return args


def _masked_tools(etc_dir: Path) -> list[str]:
    """Bind an empty non-executable file over each of `MASKED_TOOLS` found in the shown /usr."""
    args: list[str] = []
    for name in MASKED_TOOLS:
        for folder in ("/usr/bin", "/usr/local/bin"):
            real = os.path.realpath(Path(folder, name))
            if real.startswith("/usr/") and os.path.isfile(real) and real not in args:
                args += ["--ro-bind", str(etc_dir / MASK_FILE), real]
    return args


def base_args(hostname: str, etc_dir: Path, tmp_mb: int) -> list[str]:
    """Namespaces, credentials and the read-only system part of the sandbox."""
    args = [
        "bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
        "--cap-drop", "ALL", "--uid", str(TENANT_UID), "--gid", str(TENANT_GID),
        "--hostname", hostname, "--clearenv",
        "--ro-bind", "/usr", "/usr", *_root_links(), *_masked_tools(etc_dir),
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp",
        "--dir", "/etc",
    ]
    for prefix in python_prefixes():
        args += ["--ro-bind", _shown(prefix), prefix]
    for name in ETC_FILES:
        args += ["--ro-bind", str(etc_dir / name), f"/etc/{name}"]
    for name in ("ld.so.cache", "localtime"):
        if Path("/etc", name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    sdk_init = etc_dir / "sdk__init__.py"
    args += [
        "--ro-bind", str(sdk_init), f"{SDK_MOUNT}/tenants/__init__.py",
        "--ro-bind", _shown(TENANTS_PKG / "sdk"), f"{SDK_MOUNT}/tenants/sdk",
        "--ro-bind", _shown(TENANTS_PKG / "jupyter" / "config"), CONFIG_MOUNT,
    ]
    return args


def _shown(path) -> str:
    return str(visible(Path(path), TENANT_UID, TENANT_GID))


def unprivileged() -> list[str]:
    """Run what follows as uid/gid 65534 with no supplementary groups (before exec'ing bwrap)."""
    return ["/usr/bin/setpriv", f"--reuid={TENANT_UID}", f"--regid={TENANT_GID}", "--clear-groups", "--"]


def write_etc(etc_dir: Path) -> None:
    """The generated /etc files (and the SDK's empty package file) in `etc_dir`."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(etc_dir, 0o755)
    for name, text in ETC_FILES.items():
        (etc_dir / name).write_text(text)
        os.chmod(etc_dir / name, 0o644)
    for name in ("sdk__init__.py", MASK_FILE):
        (etc_dir / name).write_text("")
        os.chmod(etc_dir / name, 0o644)


def _env_args(env: dict[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args


def tenant_args(spec, etc_dir: Path, env: dict[str, str]) -> list[str]:
    """The bwrap arguments of a tenant, up to (not including) the command."""
    return [
        *base_args(f"tenant-{spec.tenant_id}"[:63], etc_dir, spec.limits.tmp_mb),
        "--ro-bind", str(spec.samples_dir), SAMPLES_MOUNT,
        "--bind", str(spec.workspace_dir), WORKSPACE_MOUNT,
        "--ro-bind", str(spec.gateway_dir), GATEWAY_MOUNT,
        "--bind", str(spec.jupyter_dir), JUPYTER_MOUNT,
        "--remount-ro", "/",
        *_env_args(env),
        "--chdir", WORKSPACE_MOUNT,
    ]


def job_args(spec, outputs_dir: Path, etc_dir: Path, env: dict[str, str]) -> list[str]:
    """The bwrap arguments of a production job, up to (not including) the command."""
    return [
        *base_args(f"job-{spec.job_id}"[:63], etc_dir, spec.limits.tmp_mb),
        "--ro-bind", str(spec.code_dir), JOB_CODE_MOUNT,
        "--ro-bind", str(spec.data_dir), JOB_DATA_MOUNT,
        "--bind", str(outputs_dir), JOB_OUTPUTS_MOUNT,
        "--remount-ro", "/",
        *_env_args(env),
        "--chdir", JOB_OUTPUTS_MOUNT,
    ]
