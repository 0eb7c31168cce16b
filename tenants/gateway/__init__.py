"""The gateway: each tenant's only channel out, one Unix socket per tenant (the socket is the identity).

    gateway = Gateway(handler, spool_dir=home / "tenants" / "_spool")
    gateway.open("acme", layout.gateway_dir, owner_uid=backend.host_uid)
    gateway.close("acme")          # suspension: refused at once
"""

from tenants.gateway.protocol import (
    BadRequest,
    ExportInfo,
    ExportRequest,
    GatewayContext,
    GatewayHandler,
    ImportInfo,
    ImportUpload,
    JobInfo,
    JobSubmission,
    Missing,
    OutputInfo,
    Refused,
    SampleInfo,
)
from tenants.gateway.server import Gateway, GatewayLimits

__all__ = [
    "BadRequest", "ExportInfo", "ExportRequest", "Gateway", "GatewayContext", "GatewayHandler",
    "GatewayLimits", "ImportInfo", "ImportUpload", "JobInfo", "JobSubmission", "Missing",
    "OutputInfo", "Refused", "SampleInfo",
]
