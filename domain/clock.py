"""An injectable clock. Services take `now` from here so tests can move time."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds: sorts as text."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_date(text: str, what: str) -> date:
    from domain.errors import InvalidInput

    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be a date as YYYY-MM-DD") from None
