"""The domain's HTTP server (FastAPI). Routes are thin: they authenticate, call one service
function of the `Domain` object and shape its answer. Domain errors map to HTTP statuses here,
at the edge, and nothing else does."""

from domain.server.app import create_app

__all__ = ["create_app"]
