"""The reviewer web pages: `create_router(...)` returns a FastAPI APIRouter the domain mounts."""

from export_review.web.router import create_router

__all__ = ["create_router"]
