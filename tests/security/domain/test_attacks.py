"""Attacks on the control plane that must fail. One world per module; the last test checks
that the audit log still verifies after all of them."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from audit import Action, Outcome
from domain.auth import token_hash
from domain.errors import (
    AuthenticationFailed, DomainError, GrantNotActive, InvalidInput, LoginLocked, NotFound, PermissionDenied,
    QueryRefused,
)
from domain.grants import GrantStatus
from domain.server import create_app
from tests.factories import (
    GRANT_COLUMNS, STAFF_PASSWORD, MovableClock, add_operator, add_person, add_staff, admin, any_file_contains,
    new_domain, term, uscc,
)

AGG = "SELECT district, count(*) AS n FROM population GROUP BY district"


@pytest.fixture(scope="module")
def people(world):
    d = world.domain
    return {
        "reviewer": add_person(d, "rita", "reviewer", "zj-dsj"),
        "regulator": add_person(d, "reg", "regulator"),
        "provider": world.providers["population"],
        "staff": world.alice,
    }


def _denials_since(world, size):
    return [e.event for e in world.domain.audit_log.entries(size) if e.event.action == Action.AUTH_DENIED]


# -- cross-operator use -------------------------------------------------------------------------

def test_staff_cannot_use_another_operators_grant(world):
    d, theirs = world.domain, world.other_grant
    size = d.audit_log.size()
    attempts = [
        lambda: d.queries.run(world.alice, theirs.id, AGG),
        lambda: d.queries.check(world.alice, theirs.id, AGG),
        lambda: d.grants.view(world.alice, theirs.id),
        lambda: d.grants.list(world.alice, "op-other"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert len(_denials_since(world, size)) == len(attempts)
    assert world.domain.queries.run(world.bob, theirs.id, AGG).rows > 0  # the owner still can


def test_a_principal_forged_with_another_org_is_still_bound_to_the_grant(world):
    """Even a Principal object naming op-other (not from a token) cannot pass org scoping
    for a grant of op-hz, and an org-less staff member matches nothing."""
    from dataclasses import replace

    orphan = replace(world.alice, org=None)
    with pytest.raises(PermissionDenied):
        world.domain.queries.run(orphan, world.grant.id, AGG)


# -- privilege escalation ---------------------------------------------------------------------

def test_staff_cannot_grant_license_or_promote(world, people):
    d, alice = world.domain, world.alice
    starts, ends = term(d)
    escalations = {
        "create a grant": lambda: d.grants.create(alice, operator_id="op-hz", scenario="mine", columns=GRANT_COLUMNS,
                                                  emergency_plan="EP", starts_on=starts, expires_on=ends),
        "activate a grant": lambda: d.grants.activate(alice, world.new_grant(activate=False).id, "self-approved"),
        "resume a grant": lambda: d.grants.resume(alice, world.grant.id, "x"),
        "create an authority": lambda: d.principals.create(alice, principal_id="mallory", display_name="M",
                                                           role="authority", password="mallory-pass-1"),
        "register an operator": lambda: d.operators.register(alice, operator_id="op-shadow", name="Shadow",
                                                             credit_code=uscc("91330106MA2KHDWX1")),
        "certify themselves": lambda: d.principals.set_compliance(alice, "alice", training_passed_on=d.today()),
        "disable the admin": lambda: d.principals.disable(alice, "admin", "coup"),
        "reset the admin password": lambda: d.principals.set_password(alice, "admin", "owned-password-1"),
        "list all people": lambda: d.principals.list(alice),
        "confirm a dataset": lambda: d.catalog.confirm(alice, "population"),
    }
    for what, attempt in escalations.items():
        with pytest.raises(PermissionDenied):
            attempt()
    assert d.principals.get("admin").status.value == "active"
    assert all(p.id != "mallory" for p in d.principals.list(world.admin))
    assert all(o.id != "op-shadow" for o in d.operators.list())


def test_reviewers_regulators_and_providers_stay_in_their_lane(world, people):
    d = world.domain
    src = world.files["enterprise"]
    for role in ("reviewer", "regulator"):
        actor = people[role]
        with pytest.raises(PermissionDenied):
            d.catalog.ingest(actor, src, name=f"by_{role}", title="t", provider=actor.org or "zj-dsj",
                             open_attribute="unconditional")
        with pytest.raises(PermissionDenied):
            d.grants.suspend(actor, world.grant.id, "x")
        with pytest.raises(PermissionDenied):
            d.queries.run(actor, world.grant.id, AGG)
    provider = people["provider"]  # zj-gongan
    with pytest.raises(PermissionDenied):
        d.catalog.ingest(provider, src, name="not_mine", title="t", provider="zj-scjg", open_attribute="restricted")
    with pytest.raises(PermissionDenied):
        d.catalog.confirm(provider, "enterprise")
    starts, ends = term(d)
    with pytest.raises(PermissionDenied):
        d.grants.create(provider, operator_id="op-hz", scenario="s", columns={"population": ("district",)},
                        emergency_plan="EP", starts_on=starts, expires_on=ends)
    assert not [p for p in (d.home / "raw").iterdir() if p.name.startswith(("by_", "not_mine"))]
    assert d.grants.get(world.grant.id).status == GrantStatus.ACTIVE


def test_a_provider_sees_only_the_grants_over_its_own_datasets(world, people):
    d = world.domain
    provider = people["provider"]  # zj-gongan provides population
    only_enterprise = world.new_grant("op-other", columns={"enterprise": ("industry", "district")})
    listed = {g.id for g in d.grants.list(provider)}
    assert world.grant.id in listed and only_enterprise.id not in listed
    assert d.grants.view(provider, world.grant.id).id == world.grant.id
    with pytest.raises(PermissionDenied, match="its own datasets"):
        d.grants.view(provider, only_enterprise.id)
    assert only_enterprise.id in {g.id for g in d.grants.list(people["regulator"])}


def test_nobody_becomes_the_system(world):
    with pytest.raises(InvalidInput):
        world.domain.principals.create(world.admin, principal_id="sys2", display_name="S", role="system")
    with pytest.raises(InvalidInput):
        world.domain.principals.create(world.admin, principal_id="system", display_name="S", role="authority")
    with pytest.raises(InvalidInput):
        world.domain.principals.create(world.admin, principal_id="unknown", display_name="U", role="regulator")


# -- tokens -------------------------------------------------------------------------------------

@pytest.fixture
def small(home):
    clock = MovableClock()
    d = new_domain(home, clock)
    add_operator(d)
    add_staff(d)
    return d, clock


def test_expired_revoked_forged_and_stolen_tokens_fail(small, tmp_path):
    d, clock = small
    expired, revoked, good = (d.auth.login("alice", STAFF_PASSWORD) for _ in range(3))
    d.auth.revoke(revoked.token)
    clock.advance(hours=d.config.token_ttl_hours)
    good = d.auth.login("alice", STAFF_PASSWORD)
    stored_hash = d.store.one("SELECT token_hash FROM tokens LIMIT 1")["token_hash"]
    other = new_domain(tmp_path / "other-domain")
    foreign = other.auth.login("admin", "admin-password-123").token
    forged = [expired.token, revoked.token, stored_hash, "aod_" + stored_hash, foreign,
              good.token[:-1] + ("A" if good.token[-1] != "A" else "B"), good.token + "x", good.token.upper(),
              " " + good.token]
    for token in forged:
        with pytest.raises(AuthenticationFailed):
            d.auth.authenticate(token)
    assert d.auth.authenticate(good.token).id == "alice"
    client = TestClient(create_app(d))
    for token in forged[:-1]:  # (HTTP strips the header's surrounding whitespace, as it should)
        assert client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {good.token}"}).status_code == 200


def test_a_disabled_persons_token_dies_at_once(small):
    d, _ = small
    issued = d.auth.login("alice", STAFF_PASSWORD)
    d.principals.disable(admin(d), "alice", "suspected leak")
    with pytest.raises(AuthenticationFailed):
        d.auth.authenticate(issued.token)
    row = d.store.one("SELECT revoked_at FROM tokens WHERE token_hash=?", (token_hash(issued.token),))
    assert row["revoked_at"] is not None


def test_password_guessing_is_recorded_every_time(small):
    d, _ = small
    for guess in ("password1234", "alice-12345678", "staff-password-12"):
        with pytest.raises(AuthenticationFailed):
            d.auth.login("alice", guess)
    refusals = [e.event for e in d.audit_log.query(action=Action.AUTH_DENIED.value)]
    assert len(refusals) == 3 and all(e.actor.role == "unknown" and e.outcome == Outcome.REFUSED for e in refusals)
    assert not any(g in e.canonical_json() for e in refusals for g in ("password1234", "alice-12345678"))


def test_password_guessing_locks_the_user_id_for_a_while_even_for_the_right_password(small):
    d, clock = small
    for guess in ("password1234", "alice-12345678", "staff-password-12", "hunter2hunter2"):
        with pytest.raises(AuthenticationFailed) as exc:
            d.auth.login("alice", guess)
        assert not isinstance(exc.value, LoginLocked)
    with pytest.raises(LoginLocked) as locked:
        d.auth.login("alice", "letmein-letmein")  # the fifth failure in a row locks
    assert locked.value.http_status == 429 and "letmein" not in locked.value.diagnostics()
    with pytest.raises(LoginLocked):
        d.auth.login("alice", STAFF_PASSWORD)  # the right password does not get through a lock
    refusals = [e.event for e in d.audit_log.query(action=Action.AUTH_DENIED.value)]
    assert "locked for 15 minutes" in refusals[-2].reason and "locked after" in refusals[-1].reason
    clock.advance(minutes=16)
    assert d.auth.login("alice", STAFF_PASSWORD).principal_id == "alice"


def test_a_successful_login_clears_the_count_so_typos_never_add_up(small):
    d, _ = small
    for _ in range(3):
        for _ in range(4):
            with pytest.raises(AuthenticationFailed):
                d.auth.login("alice", "a-typo-in-the-password")
        d.auth.login("alice", STAFF_PASSWORD)


def test_unknown_user_ids_are_locked_the_same_way_and_stored_only_hashed(small):
    d, _ = small
    guessed = "330102199001011234"  # attacker-controlled id text, shaped like an ID number
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            d.auth.login(guessed, "whatever-password")
    with pytest.raises(LoginLocked):
        d.auth.login(guessed, "whatever-password")  # same answer as for a real account
    assert not any_file_contains(d.home, guessed)


def test_sprayed_user_ids_are_forgotten_after_a_day(small):
    d, clock = small
    for i in range(30):
        with pytest.raises(AuthenticationFailed):
            d.auth.login(f"sprayed-{i}", "whatever-password")
    assert d.store.one("SELECT count(*) AS n FROM login_failures")["n"] == 30
    clock.advance(days=2)
    with pytest.raises(AuthenticationFailed):
        d.auth.login("one-more", "whatever-password")
    assert d.store.one("SELECT count(*) AS n FROM login_failures")["n"] == 1


def test_the_authority_can_clear_a_lock_and_it_is_audited(small):
    d, _ = small
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            d.auth.login("alice", "wrong-password-xx")
    with pytest.raises(PermissionDenied):
        d.principals.unlock_login(d.principals.get("alice"), "alice", "let me in")
    assert d.principals.unlock_login(admin(d), "alice", "verified by phone") is True
    assert d.auth.login("alice", STAFF_PASSWORD).principal_id == "alice"
    last = [e.event for e in d.audit_log.query(action=Action.PRINCIPAL_UPDATE.value)][-1]
    assert last.details == {"login_lock": "cleared"} and last.reason == "verified by phone"


def test_the_web_sign_in_page_answers_429_when_locked(small):
    d, _ = small
    client = TestClient(create_app(d))
    codes = [client.post("/login", data={"user": "alice", "password": f"wrong-password-{i}"},
                         follow_redirects=False).status_code for i in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]


# -- path traversal -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../evil", "..", "a/b", "population/../x", "/abs", "x\x00y", "raw/../../etc",
                                  ".staging-x", "Population", "人口", "a" * 80, ""])
def test_dataset_names_cannot_escape_raw(world, name):
    home = world.domain.home
    before = sorted(p.relative_to(home.parent) for p in home.parent.rglob("*"))
    with pytest.raises(InvalidInput):
        world.domain.catalog.ingest(world.providers["population"], world.files["population"], name=name, title="t",
                                    provider="zj-gongan", open_attribute="restricted")
    assert sorted(p.relative_to(home.parent) for p in home.parent.rglob("*")) == before


@pytest.mark.parametrize("source", ["../../../../etc/passwd", "/etc/shadow", "/proc/self/environ", "/etc",
                                    "/nonexistent/../../etc/hosts.csv", "/dev/zero.csv"])
def test_ingest_reads_only_csv_or_parquet_files(world, source):
    with pytest.raises(InvalidInput) as info:
        world.domain.catalog.ingest(world.providers["population"], source, name="traversal", title="t",
                                    provider="zj-gongan", open_attribute="restricted")
    assert "\n" not in info.value.diagnostics()
    assert not (world.domain.home / "raw" / "traversal").exists()


@pytest.mark.parametrize("bad_id", ["../admin", "admin/..", "Admin", "a", "x" * 70, "alice;drop", "ali ce"])
def test_ids_are_plain_names(world, bad_id):
    with pytest.raises(InvalidInput):
        world.domain.principals.create(world.admin, principal_id=bad_id, display_name="X", role="regulator")
    with pytest.raises(InvalidInput):
        world.domain.operators.register(world.admin, operator_id=bad_id, name="X",
                                        credit_code=uscc("91330106MA2KPATH1"))


def test_http_paths_cannot_reach_outside(world):
    client = TestClient(create_app(world.domain))
    token = world.domain.auth.login("alice", STAFF_PASSWORD).token
    h = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/datasets/..%2F..%2Fcontrol.db", "/api/v1/datasets/%2E%2E", "/api/v1/grants/..%2Fx",
                 "/api/v1/datasets/population%00"):
        r = client.get(path, headers=h)
        assert r.status_code in (403, 404, 405), (path, r.status_code)
        assert "SQLite" not in r.text


# -- literal values never reach audit events or error messages ----------------------------------

def _literal_attacks(world):
    sec = world.an_id_number(11)
    mob = world.data.population.column("mobile")[11].as_py()
    return sec, mob, [
        f"SELECT count(*) FROM population WHERE id_number = '{sec}'",
        f"SELECT count(*) FROM population WHERE id_number IN ('{sec}', '{world.an_id_number(12)}')",
        f"SELECT district, count(*) AS n FROM population WHERE sex = '{sec}' GROUP BY 1",
        f"SELECT district, count(*) AS n FROM population WHERE sex = {sec[:17]} GROUP BY 1",
        f"SELECT district, count(*) AS n FROM population WHERE education = '{mob}' GROUP BY 1",
        f"SELECT district, count(*) AS n FROM population GROUP BY 1 -- {sec}",
        f"/* {sec} {mob} */ SELECT district, count(*) AS n FROM population GROUP BY 1",
        f"SELECT count(*) FROM population WHERE id_number LIKE '{sec[:14]}%'",
        f"SELECT count(*) FROM population WHERE substr(id_number, 1, 18) = '{sec}'",
        f"WITH t AS (SELECT id_number FROM population WHERE id_number = '{sec}') SELECT count(*) FROM t",
        f"SELECT district, count(*) AS n FROM population GROUP BY 1 HAVING max(id_number) = '{sec}'",
        f"SELECT count(*) FROM population WHERE id_number = '{sec}'; SELECT 1",
        f"SELECT district, sum(CAST('{sec}' AS BIGINT)) FROM population GROUP BY 1",
        f"SELECT CAST(id_number AS BIGINT) FROM population WHERE id_number = '{sec}'",
        "SELECT count(*) FROM population WHERE id_number = '" + sec.translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "'",
        f"SELECT district, count(*) AS n FROM population WHERE sex = '{sec}' AND 1/0 = 1 GROUP BY 1",
        f"SELECT count(*) FROM read_csv('/tmp/{sec}.csv')",
        f"{sec}",
    ]


def test_literals_stay_out_of_errors_and_the_audit_log(world):
    sec, mob, attacks = _literal_attacks(world)
    d = world.domain
    size = d.audit_log.size()
    for sql in attacks:
        try:
            d.queries.run(world.alice, world.grant.id, sql)
        except DomainError as exc:
            message = exc.diagnostics()
            assert sec not in message and mob not in message and sec[:17] not in message, sql
    new = d.audit_log.entries(size)
    assert len([e for e in new if e.event.action == Action.QUERY_RUN]) == len(attacks)  # every one recorded
    for entry in new:
        assert sec not in entry.body and mob not in entry.body and sec[:17] not in entry.body
    assert not any_file_contains(d.home / "audit", sec) and not any_file_contains(d.home / "audit", mob)


def test_id_numbers_are_never_looked_up(world):
    sec = world.an_id_number(5)
    for sql in (f"SELECT count(*) FROM population WHERE id_number = '{sec}'",
                f"SELECT district, count(*) FROM population WHERE id_number <> '{sec}' GROUP BY 1",
                "SELECT district, count(*) FROM population GROUP BY district HAVING count(*) = 1"):
        try:
            out = world.domain.queries.run(world.alice, world.grant.id, sql)
        except QueryRefused:
            continue
        assert all(v is None or v >= 10 for v in out.table.column(out.table.column_names[-1]).to_pylist())


def test_free_text_carrying_an_id_number_changes_nothing(world):
    """Reasons and names are free text; one holding an ID number is refused whole (the audit
    event would carry it), and the refusal does not repeat it."""
    d, sec = world.domain, world.an_id_number(9)
    grant = world.new_grant()
    size = d.audit_log.size()
    attempts = [
        lambda: d.grants.suspend(world.admin, grant.id, f"complaint by {sec}"),
        lambda: d.grants.create(world.admin, operator_id="op-hz", scenario=f"study of {sec}",
                                columns={"population": ("district",)}, emergency_plan="EP",
                                starts_on=term(d)[0], expires_on=term(d)[1]),
        lambda: d.principals.disable(world.admin, "bob", f"shared the record of {sec}"),
    ]
    for attempt in attempts:
        with pytest.raises(Exception) as info:
            attempt()
        assert sec not in str(info.value) and sec not in getattr(info.value, "diagnostics", str)()
    assert d.grants.get(grant.id).status == GrantStatus.ACTIVE
    assert d.principals.get("bob").status.value == "active"
    assert d.audit_log.size() == size
    assert not any_file_contains(d.home, sec)


# -- data at rest -------------------------------------------------------------------------------

def test_the_master_key_is_private(world):
    keys = world.domain.home / "keys"
    assert stat.S_IMODE(os.stat(keys / "master.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(world.domain.home / "raw").st_mode) == 0o700
    assert len((keys / "master.key").read_bytes()) == 32


def test_a_master_key_others_can_read_is_refused(small):
    from domain.keys import KeyStoreError

    d, _ = small
    path = d.home / "keys" / "master.key"
    os.chmod(path, 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        d.keys.generate("dataset", "x")
    os.chmod(path, 0o600)
    assert len(d.keys.generate("dataset", "x")[0]) == 32


def test_raw_files_hold_no_plaintext(world):
    raw = world.domain.home / "raw"
    pop, ent = world.data.population, world.data.enterprise
    needles = [pop.column("id_number")[i].as_py() for i in (0, 1, 50, 199)]
    needles += [pop.column("mobile")[i].as_py() for i in (0, 7)]
    needles += [pop.column("name")[i].as_py() for i in (3,)] + [pop.column("address")[i].as_py() for i in (4,)]
    needles += [ent.column("credit_code")[i].as_py() for i in (0, 5)]
    needles += ["西湖区", "本科"]  # dictionary values and statistics are encrypted too
    files = [p for p in raw.rglob("*") if p.is_file()]
    assert len([p for p in files if p.suffix == ".parquet"]) >= 3
    for needle in needles:
        assert not any_file_contains(raw, needle), needle
    for needle in needles[:4]:  # nor in the control plane (classification evidence holds no values)
        assert not any_file_contains(world.domain.home, needle)


def test_a_dataset_key_is_bound_to_its_dataset(world):
    d = world.domain
    from domain.keys import KeyStoreError

    wrapped = d.store.one("SELECT wrapped FROM data_keys WHERE owner='enterprise'")["wrapped"]
    with d.store.transaction() as tx:  # enterprise's wrapped key replayed under another dataset's name
        tx.execute("INSERT INTO data_keys (purpose, owner, wrapped, created_at) VALUES ('dataset', 'people_swap', ?, 'x')",
                   (wrapped,))
    with pytest.raises(KeyStoreError):
        d.keys.get("dataset", "people_swap")
    with d.store.transaction() as tx:
        tx.execute("DELETE FROM data_keys WHERE owner='people_swap'")


def test_a_session_cookie_cannot_change_state_from_another_site(world):
    client = TestClient(create_app(world.domain))
    token = world.domain.auth.login("admin", "admin-password-123").token
    grant = world.new_grant()
    url = f"/api/v1/grants/{grant.id}/suspend"
    client.cookies.set("aod_session", token)
    try:
        assert client.get("/api/v1/whoami").status_code == 200  # reading with the cookie is fine
        for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/form"},
                        {"Origin": "http://testserver.evil.example"}):
            r = client.post(url, json={"reason": "csrf"}, headers=headers)
            assert r.status_code == 403 and "bearer token" in r.json()["error"], headers
        assert world.domain.grants.get(grant.id).status == GrantStatus.ACTIVE
        r = client.post(url, json={"reason": "from our own page"}, headers={"Origin": "http://testserver"})
        assert r.status_code == 200 and r.json()["status"] == "suspended"
    finally:
        client.cookies.clear()
    r = client.post(f"/api/v1/grants/{grant.id}/resume", json={"reason": "api client"},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


# -- finally --------------------------------------------------------------------------------------

def test_zz_the_audit_log_verifies_after_every_attack(world):
    log = world.domain.audit_log
    report = log.verify()
    assert report.to_json()["ok"] is True and report.size == log.size() > 50
    refused = log.query(outcome="refused")
    assert len(refused) >= 20
    sec = world.an_id_number(11)
    assert not any_file_contains(world.domain.home / "audit", sec)

