"""The aod client SDK, for notebooks inside a tenant. Documented in docs/api/sdk.md.

    from tenants.sdk import Client, RefusedError
    client = Client.from_environment()
"""

from tenants.sdk.client import Client
from tenants.sdk.errors import (
    BadRequestError,
    GatewayUnavailable,
    NotFoundError,
    RefusedError,
    SDKError,
    ServerError,
)
from tenants.sdk.jobs import Job, JobTimeout
from tenants.sdk.models import ExportTicket, ImportTicket, Output, Sample

__all__ = [
    "BadRequestError", "Client", "ExportTicket", "GatewayUnavailable", "ImportTicket", "Job",
    "JobTimeout", "NotFoundError", "Output", "RefusedError", "SDKError", "Sample", "ServerError",
]
