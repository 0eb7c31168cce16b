"""JupyterLab inside a tenant: how it is launched, and how the domain reaches it (its socket)."""

from tenants.jupyter.client import ExecutionResult, JupyterEndpoint
from tenants.jupyter.launch import jupyter_argv, tenant_env

__all__ = ["ExecutionResult", "JupyterEndpoint", "jupyter_argv", "tenant_env"]
