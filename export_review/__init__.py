"""export_review: nothing leaves the domain without automatic checks and two reviewers.

    from export_review import ExportService, SqliteStore, MIGRATIONS, create_router
    from export_review.checks import run_checks, CheckContext, Product, ProductKind
    from export_review.protocols import RawAccess, RawDataset, RawColumn, GrantDirectory, GrantInfo

Names are loaded lazily so that importing the package stays cheap."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ExportService": "export_review.workflow.service",
    "RequestStatus": "export_review.workflow.status",
    "VALID_STATE_TRANSITIONS": "export_review.workflow.status",
    "STATUS_OWNERS": "export_review.workflow.status",
    "STATUS_AUDIT_EVENT": "export_review.workflow.status",
    "MIGRATIONS": "export_review.store",
    "SqliteStore": "export_review.store",
    "create_router": "export_review.web.router",
    "ApiGateway": "export_review.api.gateway",
    "QueryTemplate": "export_review.api.template",
    "ExportReviewError": "export_review.errors",
    "DuckDBRawAccess": "export_review.engine",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'export_review' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
