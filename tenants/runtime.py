"""`TenantRuntime`: one tenant's workspace, sandbox and gateway socket, in the right order.

The domain's lifecycle service (state table, audit events, keys) calls these; each step is
idempotent, so a service that crashed half-way repeats the call.

    provision  make the folders and the encrypted workspace, create the sandbox
    start      mount the workspace, open the gateway socket, start the sandbox, wait for Jupyter
    stop       close the gateway socket FIRST (access ends at once), stop the sandbox, unmount
    destroy    stop, remove the sandbox, delete the ciphertext and every folder of the tenant
               (the caller destroys the key, which alone makes any leftover copy unreadable)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tenants.errors import TenantError
from tenants.gateway import Gateway
from tenants.isolation.base import IsolationBackend, State, Status
from tenants.jupyter import JupyterEndpoint
from tenants.spec import Limits, TenantLayout, TenantSpec
from tenants.workspace import Workspace


class TenantRuntime:
    def __init__(self, home: Path, backend: IsolationBackend, gateway: Gateway):
        self.home = Path(home).absolute()
        self.backend = backend
        self.gateway = gateway

    def layout(self, tenant_id: str) -> TenantLayout:
        return TenantLayout.for_home(self.home, tenant_id)

    def workspace(self, tenant_id: str, limits: Limits | None = None) -> Workspace:
        return Workspace.for_layout(self.layout(tenant_id), limits.workspace_mb if limits else None)

    def provision(self, tenant_id: str, key: bytes, *, samples_dir: Path | None = None,
                  limits: Limits | None = None, jupyter_base_url: str = "/") -> TenantSpec:
        """Folders, encrypted workspace and a created (not started) sandbox; returns the spec."""
        layout = self.layout(tenant_id)
        if self.backend.status(tenant_id).state is not State.UNKNOWN:
            return self.backend.spec_of(tenant_id)
        for d in (layout.root, layout.state_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        layout.root.chmod(0o711)  # the sandbox's uid must traverse it to reach its bind sources
        layout.samples_dir.mkdir(exist_ok=True, mode=0o755)
        for d in (layout.workspace_dir, layout.jupyter_dir):  # bind sources exist before create
            d.mkdir(exist_ok=True, mode=0o700)
        layout.gateway_dir.mkdir(exist_ok=True, mode=0o711)
        self.workspace(tenant_id, limits).init(key)
        spec = layout.spec(samples_dir=samples_dir, limits=limits, jupyter_base_url=jupyter_base_url)
        self.backend.create(spec)
        return spec

    def start(self, tenant_id: str, key: bytes, *, wait_s: float | None = 60.0) -> Status:
        """Run the tenant; with `wait_s`, return only once JupyterLab answers on its socket."""
        spec = self.backend.spec_of(tenant_id)
        self.workspace(tenant_id).mount(key, self.backend.host_uid)
        self.gateway.open(tenant_id, spec.gateway_dir, self.backend.host_uid)
        status = self.backend.start(tenant_id)
        if wait_s:
            self.endpoint(tenant_id).wait_ready(wait_s)
        return status

    def stop(self, tenant_id: str, timeout_s: float = 10.0) -> Status:
        """Close access at once, then stop the sandbox and hide the workspace. Data is kept."""
        self.gateway.close(tenant_id)
        status = self.backend.stop(tenant_id, timeout_s)
        self.workspace(tenant_id).unmount()
        return status

    def destroy(self, tenant_id: str) -> None:
        """Remove the sandbox and delete all of the tenant's files (idempotent)."""
        self.gateway.close(tenant_id)
        self.backend.remove(tenant_id)
        layout = self.layout(tenant_id)
        self.workspace(tenant_id).destroy()
        shutil.rmtree(layout.root, ignore_errors=True)
        if layout.root.exists():
            raise TenantError(f"the folders of tenant {tenant_id} could not all be deleted")

    def status(self, tenant_id: str) -> Status:
        return self.backend.status(tenant_id)

    def endpoint(self, tenant_id: str) -> JupyterEndpoint:
        return JupyterEndpoint.for_spec(self.backend.spec_of(tenant_id))
