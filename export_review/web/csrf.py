"""CSRF tokens bound to the principal and a time: `issue(secret, principal_id)` and
`check(secret, principal_id, token)` (raises CsrfError). Forms carry the token; the router
also refuses cross-site Origin headers."""

from __future__ import annotations

import hashlib
import hmac
import time

from export_review.errors import CsrfError

TTL_SECONDS = 2 * 3600


def _mac(secret: bytes, principal_id: str, stamp: str) -> str:
    return hmac.new(secret, f"{principal_id}|{stamp}".encode(), hashlib.sha256).hexdigest()


def issue(secret: bytes, principal_id: str, now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    return f"{stamp}.{_mac(secret, principal_id, stamp)}"


def check(secret: bytes, principal_id: str, token: str | None, now: float | None = None) -> None:
    stamp, _, mac = (token or "").partition(".")
    if not stamp.isdigit() or not hmac.compare_digest(mac, _mac(secret, principal_id, stamp)):
        raise CsrfError()
    age = (now if now is not None else time.time()) - int(stamp)
    if age < -60 or age > TTL_SECONDS:
        raise CsrfError()
