"""People and their roles (R7, R8).

Operator staff carry a real-name verification, a confidentiality agreement with a term, and a
pre-job training record; without all three, valid today, they cannot act.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import InvalidInput, NotCompliant


class Role(StrEnum):
    AUTHORITY = "authority"
    PROVIDER = "provider"
    OPERATOR_STAFF = "operator_staff"
    REVIEWER = "reviewer"
    REGULATOR = "regulator"
    SYSTEM = "system"


class PrincipalStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


# Roles that act for an organisation must name it.
ROLES_WITH_ORG = {Role.PROVIDER, Role.OPERATOR_STAFF, Role.REVIEWER}
ID_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")


def check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidInput(
            f"{what} must be 2-63 characters of lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    return value


@dataclass(frozen=True)
class Principal:
    id: str
    display_name: str
    role: Role
    org: str | None = None
    status: PrincipalStatus = PrincipalStatus.ACTIVE
    realname_verified_on: date | None = None
    realname_method: str | None = None
    nda_signed_on: date | None = None
    nda_expires_on: date | None = None
    training_passed_on: date | None = None

    def compliance_gaps(self, today: date) -> list[str]:
        """What keeps this person from acting today (empty when nothing does)."""
        gaps: list[str] = []
        if self.status != PrincipalStatus.ACTIVE:
            gaps.append("account is disabled")
        if self.role != Role.OPERATOR_STAFF:
            return gaps
        if self.realname_verified_on is None:
            gaps.append("real-name verification missing")
        if self.nda_signed_on is None:
            gaps.append("confidentiality agreement not signed")
        elif self.nda_expires_on is not None and self.nda_expires_on < today:
            gaps.append(f"confidentiality agreement expired on {self.nda_expires_on}")
        if self.training_passed_on is None:
            gaps.append("pre-job training not passed")
        return gaps

    def can_act(self, today: date) -> bool:
        return not self.compliance_gaps(today)

    def check_can_act(self, today: date) -> None:
        gaps = self.compliance_gaps(today)
        if gaps:
            raise NotCompliant(f"{self.id} cannot act: " + "; ".join(gaps))


SYSTEM = Principal(id="system", display_name="aod system", role=Role.SYSTEM)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def principal_from_row(row) -> Principal:
    return Principal(
        id=row["id"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        org=row["org"],
        status=PrincipalStatus(row["status"]),
        realname_verified_on=_date(row["realname_verified_on"]),
        realname_method=row["realname_method"],
        nda_signed_on=_date(row["nda_signed_on"]),
        nda_expires_on=_date(row["nda_expires_on"]),
        training_passed_on=_date(row["training_passed_on"]),
    )
