"""Query engines behind one ABC, chosen by a provider (like Presidio's NlpEngineProvider)."""

from __future__ import annotations

from domain.sql.engines.base import (
    Engine, EngineFailed, EngineUnavailable, Limits, PlanRejected, QueryInterrupted, QueryResult,
    ResultTooLarge, SqlEngineError, Timings,
)
from domain.sql.engines.provider import EngineProvider

__all__ = [
    "Engine", "EngineFailed", "EngineProvider", "EngineUnavailable", "Limits", "PlanRejected",
    "QueryInterrupted", "QueryResult", "ResultTooLarge", "SqlEngineError", "Timings",
]
