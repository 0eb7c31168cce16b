"""Failed-login throttling across every process that shares the control plane.

After `login_max_failures` failed logins in a row for one user id, logins for that id are
refused for `login_lockout_minutes`, even with the right password, and without spending a
password hash on them. Unknown ids are throttled exactly like known ones, so the answer never
tells whether an account exists. The typed id is attacker-controlled text: only a SHA-256 of
it is stored. A successful login clears the count; the authority can clear a lock early;
failures older than a day are forgotten.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.clock import iso, parse_iso

FORGET_AFTER = timedelta(days=1)

if TYPE_CHECKING:
    from domain.core import Domain


def _key(principal_id: str) -> str:
    return hashlib.sha256(("login\0" + principal_id).encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle:
    def __init__(self, domain: "Domain"):
        self.d = domain

    def locked_until(self, principal_id: str) -> datetime | None:
        row = self.d.store.one("SELECT locked_until FROM login_failures WHERE key=?", (_key(principal_id),))
        if row is None or row["locked_until"] is None:
            return None
        until = parse_iso(row["locked_until"])
        return until if until > self.d.clock() else None

    def failed(self, principal_id: str) -> datetime | None:
        """Count a failure; returns the end of the lock if this failure started one."""
        cfg, key = self.d.config, _key(principal_id)
        with self.d.store.transaction() as tx:
            now = tx.now()
            # Counts older than a day are forgotten (and locks long over), so sprayed user ids
            # cannot grow the table without bound.
            stale = iso(now - FORGET_AFTER)
            tx.execute("DELETE FROM login_failures WHERE last_failed_at < ? "
                       "AND (locked_until IS NULL OR locked_until < ?)", (stale, stale))
            tx.execute(
                "INSERT INTO login_failures (key, failures, last_failed_at) VALUES (?, 1, ?) "
                "ON CONFLICT(key) DO UPDATE SET failures = failures + 1, last_failed_at = excluded.last_failed_at",
                (key, iso(now)))
            failures = tx.one("SELECT failures FROM login_failures WHERE key=?", (key,))["failures"]
            if failures < cfg.login_max_failures:
                return None
            until = now + timedelta(minutes=cfg.login_lockout_minutes)
            tx.execute("UPDATE login_failures SET failures = 0, locked_until = ? WHERE key = ?",
                       (iso(until), key))
            return until

    def clear(self, tx, principal_id: str) -> bool:
        """Inside the caller's transaction: drop the count and any lock; True if there was one."""
        return tx.execute("DELETE FROM login_failures WHERE key=?", (_key(principal_id),)).rowcount > 0
