"""Isolation backends: one interface, Docker and bubblewrap implementations, a stub for tests.

    backend = get_backend("bwrap", state_dir=home / "tenants" / "_bwrap")
    backend.create(spec); backend.start(spec.tenant_id); backend.status(spec.tenant_id)
"""

from __future__ import annotations

from pathlib import Path

from tenants.errors import InvalidSpec
from tenants.isolation.base import (
    TRANSITIONS,
    InvalidTransition,
    IsolationBackend,
    Op,
    State,
    Status,
    can_transition,
    check_transition,
)
from tenants.isolation.stub import StubBackend

BACKENDS = ("bwrap", "docker", "stub")


def get_backend(name: str, state_dir: Path, **options) -> IsolationBackend:
    """The backend called `name` ("bwrap", "docker" or "stub"), keeping its state in `state_dir`."""
    if name == "bwrap":
        from tenants.isolation.bwrap import BwrapBackend

        return BwrapBackend(state_dir, **options)
    if name == "docker":
        from tenants.isolation.docker_backend import DockerBackend

        return DockerBackend(state_dir, **options)
    if name == "stub":
        return StubBackend()
    raise InvalidSpec(f"unknown isolation backend {name!r} (one of: {', '.join(BACKENDS)})")


__all__ = [
    "BACKENDS", "TRANSITIONS", "InvalidTransition", "IsolationBackend", "Op", "State", "Status",
    "StubBackend", "can_transition", "check_transition", "get_backend",
]
