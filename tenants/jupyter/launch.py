"""How JupyterLab is started inside a tenant: the same command and environment on both backends.

JupyterLab listens on a Unix socket in /run/jupyter (a host folder bound for that purpose),
never on a TCP port; kernels talk to it over IPC sockets in /tmp. The extension manager is
read-only and hidden, terminals are off, nothing checks for updates or news.
"""

from __future__ import annotations

from tenants.spec import (
    GATEWAY_SOCKET,
    JUPYTER_MOUNT,
    JUPYTER_SOCKET_NAME,
    WORKSPACE_MOUNT,
    TenantSpec,
)

CONFIG_MOUNT = "/opt/aod/etc/jupyter"
SDK_MOUNT = "/opt/aod/lib"


def jupyter_argv(python: str, spec: TenantSpec) -> list[str]:
    """The command line of JupyterLab inside the sandbox (`python` is the sandbox's interpreter)."""
    return [
        python, "-m", "jupyterlab",
        "--no-browser",
        f"--ServerApp.sock={JUPYTER_MOUNT}/{JUPYTER_SOCKET_NAME}",
        "--ServerApp.sock_mode=0600",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={WORKSPACE_MOUNT}",
        f"--ServerApp.base_url={spec.jupyter_base_url}",
        # Reached only through its socket by the domain's authenticated proxy, which forwards
        # the browser's Host and Origin: the remote-access check has nothing to protect here.
        "--ServerApp.allow_remote_access=True",
        "--ServerApp.terminals_enabled=False",
        "--ServerApp.jpserver_extensions=jupyter_server_terminals=False",
        "--ServerApp.jpserver_extensions=jupyter_lsp=False",
        "--KernelManager.transport=ipc",
        "--LabApp.extension_manager=readonly",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]


def tenant_env(spec: TenantSpec, path: str) -> dict[str, str]:
    """The whole environment of the tenant's processes (nothing is inherited from the host)."""
    return {
        "PATH": path,
        "HOME": WORKSPACE_MOUNT,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_TOKEN": spec.jupyter_token,
        "JUPYTER_CONFIG_PATH": CONFIG_MOUNT,
        "JUPYTER_CONFIG_DIR": "/tmp/jupyter/config",
        "JUPYTER_DATA_DIR": "/tmp/jupyter/data",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter/runtime",
        "IPYTHONDIR": "/tmp/ipython",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "AOD_TENANT": spec.tenant_id,
        "AOD_GATEWAY_SOCKET": GATEWAY_SOCKET,
    }
