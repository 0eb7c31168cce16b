"""Local accounts: login, hashed expiring tokens, revocation, audited failures, disabled people."""

from __future__ import annotations

import pytest

from audit import Action, Outcome
from domain.auth import TOKEN_PREFIX, token_hash
from domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from tests.factories import ADMIN_PASSWORD, STAFF_PASSWORD, MovableClock, add_operator, add_staff, admin, new_domain


@pytest.fixture
def auth_domain(home):
    clock = MovableClock()
    d = new_domain(home, clock)
    add_operator(d)
    add_staff(d)
    return d, clock


def _denials(d):
    return [e.event for e in d.audit_log.query(action=Action.AUTH_DENIED.value)]


def test_login_issues_a_token_that_names_the_principal(auth_domain):
    d, _ = auth_domain
    issued = d.auth.login("alice", STAFF_PASSWORD)
    assert issued.token.startswith(TOKEN_PREFIX) and len(issued.token) > 40
    me = d.auth.authenticate(issued.token)
    assert (me.id, me.role.value, me.org) == ("alice", "operator_staff", "op-hz")
    logins = d.audit_log.query(action=Action.AUTH_LOGIN.value)
    assert logins[-1].event.actor.id == "alice"


def test_tokens_are_stored_only_as_hashes(auth_domain):
    d, _ = auth_domain
    issued = d.auth.login("alice", STAFF_PASSWORD)
    rows = [dict(r) for r in d.store.all("SELECT * FROM tokens")]
    assert [r["token_hash"] for r in rows] == [token_hash(issued.token)]
    assert issued.token not in repr(rows)
    assert issued.token.encode() not in (d.home / "control.db").read_bytes()
    assert all(issued.token not in body for body in (e.body for e in d.audit_log.entries()))


def test_a_token_expires(auth_domain):
    d, clock = auth_domain
    issued = d.auth.login("alice", STAFF_PASSWORD)
    clock.advance(hours=d.config.token_ttl_hours - 1)
    assert d.auth.authenticate(issued.token).id == "alice"
    clock.advance(hours=1)
    with pytest.raises(AuthenticationFailed, match="expired"):
        d.auth.authenticate(issued.token)


def test_a_revoked_token_is_dead(auth_domain):
    d, _ = auth_domain
    first, second = d.auth.login("alice", STAFF_PASSWORD), d.auth.login("alice", STAFF_PASSWORD)
    d.auth.revoke(first.token)
    with pytest.raises(AuthenticationFailed):
        d.auth.authenticate(first.token)
    with pytest.raises(AuthenticationFailed):
        d.auth.revoke(first.token)
    assert d.auth.authenticate(second.token).id == "alice"  # only that token
    assert d.audit_log.query(action=Action.AUTH_LOGOUT.value)[-1].event.actor.id == "alice"


@pytest.mark.parametrize("user, password", [
    ("alice", "wrong-password-123"), ("nobody", STAFF_PASSWORD), ("alice", ""), ("", ""),
])
def test_a_failed_login_is_vague_and_audited_with_role_unknown(auth_domain, user, password):
    d, _ = auth_domain
    with pytest.raises(AuthenticationFailed) as info:
        d.auth.login(user, password)
    assert info.value.diagnostics() == "authentication failed"  # same for unknown user and bad password
    event = _denials(d)[-1]
    assert event.actor.role == "unknown" and event.outcome == Outcome.REFUSED
    assert event.actor.id == ("alice" if user == "alice" else "unknown")
    if password:
        assert password not in event.canonical_json()
    assert d.store.one("SELECT count(*) AS n FROM tokens")["n"] == 0


def test_a_disabled_principal_cannot_log_in_and_loses_its_tokens(auth_domain):
    d, _ = auth_domain
    issued = d.auth.login("alice", STAFF_PASSWORD)
    with pytest.raises(InvalidInput, match="reason"):
        d.principals.disable(admin(d), "alice", "")
    d.principals.disable(admin(d), "alice", "left the company")
    with pytest.raises(AuthenticationFailed):
        d.auth.authenticate(issued.token)
    with pytest.raises(AuthenticationFailed):
        d.auth.login("alice", STAFF_PASSWORD)
    assert d.principals.get("alice").compliance_gaps(d.today()) == ["account is disabled"]
    event = d.audit_log.query(action=Action.PRINCIPAL_DISABLE.value)[-1].event
    assert event.reason == "left the company" and event.targets[0].id == "alice"


def test_passwords_have_a_minimum_length_and_can_be_changed(auth_domain):
    d, _ = auth_domain
    alice = d.principals.get("alice")
    with pytest.raises(InvalidInput, match="at least"):
        d.principals.set_password(alice, "alice", "short")
    d.principals.set_password(alice, "alice", "a-new-password-456")
    with pytest.raises(AuthenticationFailed):
        d.auth.login("alice", STAFF_PASSWORD)
    assert d.auth.login("alice", "a-new-password-456").principal_id == "alice"
    with pytest.raises(PermissionDenied):
        d.principals.set_password(alice, "admin", "taken-over-789")  # not someone else's
    assert d.auth.login("admin", ADMIN_PASSWORD).principal_id == "admin"


@pytest.mark.parametrize("typed", ["330106199001011234", "13912345678", "x-13912345678", "a" * 300])
def test_a_user_id_that_is_a_raw_value_is_still_refused_and_audited(auth_domain, typed):
    d, _ = auth_domain
    with pytest.raises(AuthenticationFailed):
        d.auth.login(typed, STAFF_PASSWORD)
    event = _denials(d)[-1]
    assert event.actor.id == "unknown" and typed not in event.canonical_json()


@pytest.mark.parametrize("forged", ["", "aod_", "aod_" + "A" * 43, "Bearer aod_x", "not-a-token", None, 42])
def test_forged_tokens_fail(auth_domain, forged):
    d, _ = auth_domain
    with pytest.raises(AuthenticationFailed):
        d.auth.authenticate(forged)
