"""What the gateway tells a tenant about its samples, exports and imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Sample:
    """A desensitized sample of a granted dataset (also readable under /data/samples)."""

    name: str
    rows: int
    columns: tuple[str, ...]
    description: str = ""

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> "Sample":
        return cls(data["name"], int(data["rows"]), tuple(data["columns"]), data.get("description", ""))


@dataclass(frozen=True)
class Output:
    """One output of a job. Only `released` tables can be fetched; models never leave."""

    name: str
    kind: str
    state: str
    reason: str = ""
    sha256: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def released(self) -> bool:
        return self.state == "released"

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> "Output":
        return cls(data["name"], data["kind"], data["state"], data.get("reason", ""),
                   data.get("sha256", ""), dict(data.get("metrics") or {}))


@dataclass(frozen=True)
class ExportTicket:
    """An export request in the reviewers' queue."""

    request_id: str
    state: str
    detail: str = ""


@dataclass(frozen=True)
class ImportTicket:
    """An import waiting for (or decided by) the competent authority."""

    import_id: str
    state: str
    detail: str = ""
