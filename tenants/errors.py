"""Errors of the tenants package.

One base class with `diagnostics()` (one line for a person, never a raw data value) and typed
one-line subclasses. `retry` marks a transient failure that the caller may try again later
(modelled on job-runner's `ExecutorRetry`).
"""

from __future__ import annotations


class TenantError(Exception):
    """Base of every error the tenants package reports."""

    retry = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = " ".join(str(message).split())

    def diagnostics(self) -> str:
        return self.message


class InvalidSpec(TenantError):
    """A tenant or job specification that cannot be run as given."""


class BackendUnavailable(TenantError):
    """The isolation backend's engine or tool is missing or does not answer."""


class BackendRetry(TenantError):
    """A transient failure (engine busy, timeout): the same call may succeed later."""

    retry = True


class ImageMissing(BackendUnavailable):
    """The image built from docker/ is not in the engine: run docker/build.sh."""


class LimitsUnavailable(TenantError):
    """Resource limits cannot be enforced on this machine, so the sandbox is not started."""


class TenantNotFound(TenantError):
    """No such tenant in this backend."""


class WorkspaceError(TenantError):
    """The encrypted workspace cannot be created, mounted, unmounted or destroyed."""


class WrongKey(WorkspaceError):
    """The key given does not open this workspace."""


class JobFailed(TenantError):
    """A production job could not be run (not: ran and exited non-zero)."""


class JupyterUnavailable(TenantError):
    """JupyterLab does not answer on the tenant's socket."""


class UnsafeSocket(TenantError):
    """A socket path is not a socket, or is a symbolic link the tenant could have planted."""


class GatewayError(TenantError):
    """The gateway cannot open or close a tenant's socket."""
