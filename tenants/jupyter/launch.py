"""How JupyterLab is started inside a tenant: the same command and environment on both backends.

JupyterLab listens on a Unix socket in /run/jupyter (a host folder bound for that purpose),
never on a TCP port; kernels talk to it over IPC sockets in /tmp. The extension manager is
read-only and hidden, terminals are off, nothing checks for updates or news.

Start-up is trimmed to what a tenant uses (measured with `-X importtime` and cProfile on this
machine, bare on the host: 6.0 s before, about 2.5 s after):
- `rfc3987_syntax` is never imported (`SERVE`): jsonschema would import it to check the `iri`
  string format, and it compiles a Lark grammar at import (3.5 s). Jupyter's event schemas
  use no such format, and no security check depends on it (jsonschema skips an unknown format).
- `notebook_shim` is off: it maps the classic Notebook's configuration onto the server and
  scans IPython's classes while linking (1.0 s); the tenant has neither that configuration
  nor the classic Notebook.
- `jupyter_lsp` and `jupyter_server_terminals` are off (no language servers, no terminal).
- Node.js is hidden from the sandbox (bwrap, `_bwrap_argv.MASKED_TOOLS`; the image has none):
  JupyterLab otherwise asks yarn for its package registry at import (1.3 s), which only
  matters for building lab extensions, which a tenant cannot do.
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
# `python -c SERVE ARGS…` is `jupyter lab ARGS…` with the `iri` format checker's module blocked.
SERVE = ('import sys; sys.modules["rfc3987_syntax"] = None; '
         'from jupyterlab.labapp import main; sys.argv[0] = "jupyter-lab"; sys.exit(main())')
SERVER_EXTENSIONS_OFF = ("jupyter_server_terminals", "jupyter_lsp", "notebook_shim")


def jupyter_argv(python: str, spec: TenantSpec) -> list[str]:
    """The command line of JupyterLab inside the sandbox (`python` is the sandbox's interpreter)."""
    return [
        python, "-c", SERVE,
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
        *(f"--ServerApp.jpserver_extensions={name}=False" for name in SERVER_EXTENSIONS_OFF),
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
