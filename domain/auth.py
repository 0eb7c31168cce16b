"""Authentication behind an interface, so a unified identity provider (OIDC/JWT) can replace
local accounts later (R8). Local accounts: scrypt password hashes; API tokens are random,
stored only as SHA-256 hashes, and expire.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from domain.clock import iso, parse_iso
from domain.errors import AuthenticationFailed, InvalidInput, LoginLocked
from domain.login_throttle import LoginThrottle
from domain.principals import Principal, PrincipalStatus, principal_from_row

if TYPE_CHECKING:
    from domain.core import Domain

TOKEN_PREFIX = "aod_"
MIN_PASSWORD_LENGTH = 10
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class Authenticator(Protocol):
    def authenticate(self, token: str) -> Principal: ...


@dataclass(frozen=True)
class IssuedToken:
    token: str
    principal_id: str
    expires_at: datetime


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    salt_hex, digest_hex = ("00" * 16, "00" * 32)
    if stored and stored.startswith("scrypt$"):
        _, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return bool(stored) and hmac.compare_digest(digest.hex(), digest_hex)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LocalAuthenticator:
    def __init__(self, domain: "Domain"):
        self.d = domain
        self.throttle = LoginThrottle(domain)

    def login(self, principal_id: str, password: str, purpose: str = "api") -> IssuedToken:
        from audit import Action

        row = self.d.store.one("SELECT * FROM principals WHERE id=?", (principal_id,))
        # The typed user id is attacker-controlled text (empty, an ID number typed by
        # mistake, a password): record it only when it names a known principal.
        actor_id = row["id"] if row else "unknown"
        locked = self.throttle.locked_until(principal_id)
        if locked is not None:  # no password hash is spent on a locked id
            self.d.record_refusal(Action.AUTH_DENIED, actor_id=actor_id, role="unknown",
                                  reason="login refused: locked after repeated failed logins")
            raise LoginLocked(f"too many failed logins; try again after {iso(locked)}")
        ok = verify_password(password, row["password_hash"] if row else None)
        if not ok or row is None or row["status"] != PrincipalStatus.ACTIVE:
            until = self.throttle.failed(principal_id)
            reason = "login failed" if row else "login failed: unknown principal"
            if until is not None:
                reason += (f"; locked for {self.d.config.login_lockout_minutes} minutes after "
                           f"{self.d.config.login_max_failures} failures in a row")
            self.d.record_refusal(Action.AUTH_DENIED, actor_id=actor_id, role="unknown", reason=reason)
            if until is not None:
                raise LoginLocked(f"too many failed logins; try again after {iso(until)}")
            raise AuthenticationFailed()
        principal = principal_from_row(row)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.d.clock()
        expires = now + timedelta(hours=self.d.config.token_ttl_hours)
        with self.d.store.transaction() as tx:
            self.throttle.clear(tx, principal_id)
            tx.execute(
                "INSERT INTO tokens (token_hash, principal_id, purpose, issued_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash(token), principal.id, purpose, iso(now), iso(expires)),
            )
            tx.audit(self.d.event(Action.AUTH_LOGIN, principal, details={"purpose": purpose}))
        return IssuedToken(token=token, principal_id=principal.id, expires_at=expires)

    def authenticate(self, token: str) -> Principal:
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise AuthenticationFailed()
        row = self.d.store.one(
            "SELECT p.*, t.expires_at AS t_expires, t.revoked_at AS t_revoked FROM tokens t"
            " JOIN principals p ON p.id = t.principal_id WHERE t.token_hash=?",
            (token_hash(token),),
        )
        if row is None or row["t_revoked"] is not None:
            raise AuthenticationFailed()
        if parse_iso(row["t_expires"]) <= self.d.clock():
            raise AuthenticationFailed("token expired; log in again")
        principal = principal_from_row(row)
        if principal.status != PrincipalStatus.ACTIVE:
            raise AuthenticationFailed()
        return principal

    def revoke(self, token: str) -> None:
        from audit import Action

        principal = self.authenticate(token)
        with self.d.store.transaction() as tx:
            tx.execute(
                "UPDATE tokens SET revoked_at=? WHERE token_hash=?", (iso(tx.now()), token_hash(token))
            )
            tx.audit(self.d.event(Action.AUTH_LOGOUT, principal))
