"""Builders for domain objects in tests (Airlock's factories.py idea)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ADMIN_PASSWORD = "admin-password-123"
STAFF_PASSWORD = "staff-password-123"




class MovableClock:
    """A clock tests can move: `clock.advance(days=400)`."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now = self.now + timedelta(**delta)


def uscc(prefix17: str) -> str:
    from domain.operators import _USCC_ALPHABET, _USCC_WEIGHTS

    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(prefix17, _USCC_WEIGHTS))
    return prefix17 + _USCC_ALPHABET[(31 - total % 31) % 31]


def new_domain(home: Path, clock=None):
    from domain.core import Domain

    return Domain.init(home, admin_id="admin", admin_password=ADMIN_PASSWORD, clock=clock or MovableClock())


def admin(domain):
    return domain.principals.get("admin")


def add_operator(domain, operator_id: str = "op-hz", code17: str = "91330106MA2KXXXX1"):
    return domain.operators.register(admin(domain), operator_id=operator_id, name=f"{operator_id} Ltd",
                                     credit_code=uscc(code17))


def add_staff(domain, principal_id: str = "alice", org: str = "op-hz", compliant: bool = True):
    p = domain.principals.create(admin(domain), principal_id=principal_id, display_name="Alice",
                                 role="operator_staff", org=org, password=STAFF_PASSWORD)
    if compliant:
        today = domain.today()
        p = domain.principals.set_compliance(
            admin(domain), principal_id, realname_verified_on=today, realname_method="in person",
            nda_signed_on=today, nda_expires_on=today + timedelta(days=730), training_passed_on=today,
        )
    return p


def add_person(domain, principal_id: str, role: str, org: str | None = None):
    return domain.principals.create(admin(domain), principal_id=principal_id, display_name=principal_id.title(),
                                    role=role, org=org, password=STAFF_PASSWORD)


def term(domain, days: int = 365) -> tuple[date, date]:
    today = domain.today()
    return today, today + timedelta(days=days)
