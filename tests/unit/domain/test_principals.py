from datetime import timedelta

import pytest

from domain.authz import ORG_SCOPED_FOR, ROLE_PERMISSIONS, Perm, Resource, can
from domain.errors import (
    AuthenticationFailed, Conflict, InvalidInput, NotCompliant, NotFound, PermissionDenied,
)
from domain.principals import Role
from tests.factories import ADMIN_PASSWORD, STAFF_PASSWORD, MovableClock, add_operator, add_staff, admin, new_domain


def test_every_role_has_a_permission_set():
    assert set(Role) - ROLE_PERMISSIONS.keys() == set()
    for role, perms in ORG_SCOPED_FOR.items():
        assert perms <= ROLE_PERMISSIONS[role]


def test_staff_must_be_verified_bound_and_trained_to_act(home):
    d = new_domain(home)
    add_operator(d)
    alice = add_staff(d, compliant=False)
    gaps = alice.compliance_gaps(d.today())
    assert gaps == ["real-name verification missing", "confidentiality agreement not signed",
                    "pre-job training not passed"]
    with pytest.raises(NotCompliant, match="cannot act"):
        d.check(alice, Perm.QUERY_RUN, Resource("grant", "g-1", org="op-hz"))


def test_an_expired_confidentiality_agreement_stops_staff(home):
    clock = MovableClock()
    d = new_domain(home, clock)
    add_operator(d)
    alice = add_staff(d)
    assert alice.can_act(d.today())
    clock.advance(days=731)
    assert "expired" in d.principals.get("alice").compliance_gaps(d.today())[0]


def test_staff_act_only_inside_their_own_organisation(home):
    d = new_domain(home)
    add_operator(d)
    add_operator(d, "op-nb", "91330200MA2KYYYY1")
    alice = add_staff(d)
    assert can(alice, Perm.QUERY_RUN, Resource("grant", "g", org="op-hz"))
    assert not can(alice, Perm.QUERY_RUN, Resource("grant", "g", org="op-nb"))
    assert not can(alice, Perm.QUERY_RUN, None)
    assert not can(alice, Perm.GRANT_MANAGE)
    with pytest.raises(PermissionDenied, match="only within organisation op-hz"):
        d.check(alice, Perm.QUERY_RUN, Resource("grant", "g", org="op-nb"))


def test_refusals_are_audited(home):
    d = new_domain(home)
    add_operator(d)
    alice = add_staff(d)
    with pytest.raises(PermissionDenied):
        d.grants.create(alice, operator_id="op-hz", scenario="x", columns={"t": ("a",)},
                        emergency_plan="p", starts_on=d.today(), expires_on=d.today())
    events = d.audit_log.query(action="auth.denied")
    assert any(e.event.actor.id == "alice" and e.event.outcome.value == "refused" for e in events)


def test_login_issues_expiring_hashed_tokens(home):
    clock = MovableClock()
    d = new_domain(home, clock)
    issued = d.auth.login("admin", ADMIN_PASSWORD)
    assert d.auth.authenticate(issued.token).id == "admin"
    stored = d.store.all("SELECT token_hash FROM tokens")
    assert all(issued.token not in row["token_hash"] for row in stored)
    assert (home / "control.db").read_bytes().find(issued.token.encode()) == -1
    clock.advance(hours=d.config.token_ttl_hours, seconds=1)
    with pytest.raises(AuthenticationFailed, match="expired"):
        d.auth.authenticate(issued.token)


@pytest.mark.parametrize("user,password", [("admin", "wrong-password-1"), ("nobody", ADMIN_PASSWORD)])
def test_failed_logins_are_refused_and_audited_without_saying_which_part_was_wrong(home, user, password):
    d = new_domain(home)
    with pytest.raises(AuthenticationFailed) as info:
        d.auth.login(user, password)
    assert info.value.diagnostics() == "authentication failed"
    assert d.audit_log.query(action="auth.denied")


def test_disabling_revokes_tokens(home):
    d = new_domain(home)
    add_operator(d)
    add_staff(d)
    token = d.auth.login("alice", STAFF_PASSWORD).token
    d.principals.disable(admin(d), "alice", reason="left the company")
    with pytest.raises(AuthenticationFailed):
        d.auth.authenticate(token)


def test_bad_principal_input(home):
    d = new_domain(home)
    with pytest.raises(InvalidInput):
        d.principals.create(admin(d), principal_id="Bad Id", display_name="x", role="reviewer", org="o")
    with pytest.raises(InvalidInput, match="unknown role"):
        d.principals.create(admin(d), principal_id="bob", display_name="Bob", role="king")
    with pytest.raises(InvalidInput, match="organisation"):
        d.principals.create(admin(d), principal_id="bob", display_name="Bob", role="operator_staff")
    with pytest.raises(NotFound, match="register it first"):
        d.principals.create(admin(d), principal_id="bob", display_name="Bob", role="operator_staff", org="op-x")
    with pytest.raises(InvalidInput, match="at least"):
        d.principals.create(admin(d), principal_id="bob", display_name="Bob", role="regulator", password="short")
    d.principals.create(admin(d), principal_id="reg", display_name="Reg", role="regulator")
    with pytest.raises(Conflict):
        d.principals.create(admin(d), principal_id="reg", display_name="Reg", role="regulator")


def test_nda_needs_a_term_that_ends_after_signing(home):
    d = new_domain(home)
    add_operator(d)
    add_staff(d, compliant=False)
    with pytest.raises(InvalidInput, match="term"):
        d.principals.set_compliance(admin(d), "alice", nda_signed_on=d.today())
    with pytest.raises(InvalidInput, match="signed before"):
        d.principals.set_compliance(admin(d), "alice", nda_signed_on=d.today(),
                                    nda_expires_on=d.today() - timedelta(days=1))


def test_invalid_credit_code_is_refused(home):
    d = new_domain(home)
    with pytest.raises(InvalidInput, match="credit code"):
        d.operators.register(admin(d), operator_id="op-x", name="X", credit_code="91330106MA2KXXXX10")
