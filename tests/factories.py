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


# -- a small world: three agencies' datasets, two operators, an active grant ------------------

GRANT_COLUMNS = {
    "population": ("id_number", "sex", "birth_date", "district", "education"),
    "enterprise": ("credit_code", "industry", "district", "registered_capital_wan", "status"),
    "social_insurance": ("id_number", "credit_code", "period", "contribution_base"),
}
PRIVACY_UNIT = {"population": "id_number", "enterprise": "credit_code", "social_insurance": "id_number"}
PROVIDER_OF = {"population": "zj-gongan", "enterprise": "zj-scjg", "social_insurance": "zj-rlsb"}


class World:
    """A domain with demo data registered and confirmed, operators op-hz (staff alice) and
    op-other (staff bob), and an active grant for each operator. Build once per module."""

    def __init__(self, home: Path, people: int = 300, clock: MovableClock | None = None):
        from domain import demo_data

        self.home = Path(home)
        self.clock = clock or MovableClock()
        self.domain = d = new_domain(self.home / "domain", self.clock)
        self.data = demo_data.generate(people=people, firms=max(30, people // 10))
        self.files = demo_data.write_files(self.data, self.home / "input")
        self.providers = {}
        for name, provider in PROVIDER_OF.items():
            clerk = add_person(d, f"{provider}-clerk", "provider", provider)
            self.providers[name] = clerk
            d.catalog.ingest(clerk, self.files[name], name=name, title=f"{name} register",
                             provider=provider, open_attribute="restricted")
            d.catalog.confirm(clerk, name, privacy_unit=PRIVACY_UNIT[name])
        add_operator(d, "op-hz", "91330106MA2KXXXX1")
        add_operator(d, "op-other", "91330106MA2KYYYY1")
        self.alice = add_staff(d, "alice", "op-hz")
        self.bob = add_staff(d, "bob", "op-other")
        self.grant = self.new_grant("op-hz")
        self.other_grant = self.new_grant("op-other")

    @property
    def admin(self):
        return admin(self.domain)

    def new_grant(self, operator_id: str = "op-hz", columns=None, activate: bool = True):
        d = self.domain
        starts, ends = term(d)
        grant = d.grants.create(self.admin, operator_id=operator_id, scenario="labour market study",
                                columns=columns or GRANT_COLUMNS, emergency_plan="EP-2026-017",
                                starts_on=starts, expires_on=ends)
        return d.grants.activate(self.admin, grant.id, "approved") if activate else grant

    def an_id_number(self, row: int = 0) -> str:
        return self.data.population.column("id_number")[row].as_py()

    def audit_bodies(self) -> list[str]:
        """Every logged event's canonical JSON."""
        return [entry.body for entry in self.domain.audit_log.entries()]

    def audit_files_contain(self, needle: str) -> bool:
        """Does any file of the audit folder hold `needle` (UTF-8 bytes)?"""
        return _any_file_contains(self.domain.home / "audit", needle.encode())


def _any_file_contains(folder: Path, needle: bytes) -> bool:
    return any(path.is_file() and needle in path.read_bytes() for path in Path(folder).rglob("*"))


def any_file_contains(folder: Path, needle: str) -> bool:
    return _any_file_contains(folder, needle.encode())
