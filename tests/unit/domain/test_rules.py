"""Pure rules of the control plane: who may do what, grant transitions and terms, credit codes."""

from __future__ import annotations

from datetime import date

import pytest

from audit import Action
from domain.authz import Perm, Resource, can, refusal_reason
from domain.grants import GrantStatus, _years_after, transition_action
from domain.operators import uscc_is_valid
from domain.principals import Principal, Role
from tests.factories import uscc

# (role, permission) pairs that must hold, and those that must never.
MUST = [
    (Role.AUTHORITY, Perm.GRANT_MANAGE), (Role.AUTHORITY, Perm.OPERATOR_MANAGE), (Role.PROVIDER, Perm.DATASET_INGEST),
    (Role.OPERATOR_STAFF, Perm.QUERY_RUN), (Role.REVIEWER, Perm.EXPORT_REVIEW), (Role.REGULATOR, Perm.AUDIT_READ),
]
NEVER = [
    (Role.AUTHORITY, Perm.QUERY_RUN), (Role.REGULATOR, Perm.QUERY_RUN), (Role.REVIEWER, Perm.QUERY_RUN),
    (Role.PROVIDER, Perm.QUERY_RUN), (Role.OPERATOR_STAFF, Perm.GRANT_MANAGE),
    (Role.OPERATOR_STAFF, Perm.PRINCIPAL_MANAGE), (Role.OPERATOR_STAFF, Perm.DATASET_INGEST),
    (Role.OPERATOR_STAFF, Perm.EXPORT_REVIEW), (Role.REVIEWER, Perm.DATASET_INGEST),
    (Role.REGULATOR, Perm.GRANT_MANAGE), (Role.PROVIDER, Perm.GRANT_MANAGE), (Role.OPERATOR_STAFF, Perm.AUDIT_READ),
]


def _who(role: Role, org: str | None = "org-a") -> Principal:
    return Principal(id="p", display_name="P", role=role, org=org)


@pytest.mark.parametrize("role, perm", MUST)
def test_roles_have_what_their_job_needs(role, perm):
    assert can(_who(role), perm, Resource("x", "1", org="org-a"))


@pytest.mark.parametrize("role, perm", NEVER)
def test_roles_never_have_what_would_break_separation(role, perm):
    assert not can(_who(role), perm, Resource("x", "1", org="org-a"))
    assert "may not" in refusal_reason(_who(role), perm, None)


@pytest.mark.parametrize("resource", [None, Resource("grant", "g", org=None), Resource("grant", "g", org="org-b")])
def test_org_scoped_permissions_fail_closed(resource):
    assert not can(_who(Role.OPERATOR_STAFF), Perm.QUERY_RUN, resource)
    assert not can(_who(Role.OPERATOR_STAFF, org=None), Perm.QUERY_RUN, Resource("grant", "g", org=None))
    assert "only within organisation" in refusal_reason(_who(Role.OPERATOR_STAFF), Perm.QUERY_RUN, resource)


@pytest.mark.parametrize("old, new, action", [
    (GrantStatus.PENDING, GrantStatus.ACTIVE, Action.GRANT_ACTIVATE),
    (GrantStatus.SUSPENDED, GrantStatus.ACTIVE, Action.GRANT_RESUME),
    (GrantStatus.ACTIVE, GrantStatus.SUSPENDED, Action.GRANT_SUSPEND),
    (GrantStatus.ACTIVE, GrantStatus.TERMINATED, Action.GRANT_TERMINATE),
    (GrantStatus.SUSPENDED, GrantStatus.EXPIRED, Action.GRANT_EXPIRE),
])
def test_each_transition_has_its_audit_action(old, new, action):
    assert transition_action(old, new) == action


@pytest.mark.parametrize("day, later", [
    (date(2026, 11, 23), date(2029, 11, 23)), (date(2028, 2, 29), date(2031, 2, 28)), (date(2025, 1, 1), date(2028, 1, 1)),
])
def test_years_are_calendar_years(day, later):
    assert _years_after(day, 3) == later


def test_credit_codes_are_checked():
    code = uscc("91330106MA2KXXXX1")
    assert uscc_is_valid(code) and uscc_is_valid(code.lower())
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    for bad in (wrong, code[:17], code + "0", "91330106MA2KXXXXI" + "1", None, 913301):
        assert not uscc_is_valid(bad)
