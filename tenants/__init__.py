"""Tenants: an isolated sandbox per licensed operator, JupyterLab inside, code that goes to the data.

Public surface (import from the submodules; this module stays light so that `aod --help` and
the SDK inside a tenant never pay for it):

- `tenants.spec`: `TenantSpec`, `Limits`, `JobSpec`, `JobResult`, `TenantLayout`
- `tenants.isolation`: `IsolationBackend`, `State`, `get_backend`, `DockerBackend`, `BwrapBackend`,
  `StubBackend`
- `tenants.workspace`: `Workspace` (gocryptfs-encrypted `/workspace`)
- `tenants.gateway`: `Gateway`, `GatewayHandler`, `GatewayContext`, `Refused`
- `tenants.jupyter`: `JupyterEndpoint` (HTTP + WebSocket through the tenant's Jupyter socket)
- `tenants.runtime`: `TenantRuntime` (workspace + backend + gateway in the right order)
- `tenants.sdk`: the client used inside notebooks (documented in docs/api/sdk.md)

This package never imports `domain`: the domain passes its implementations in.
"""

from tenants.errors import TenantError

__all__ = ["TenantError"]
