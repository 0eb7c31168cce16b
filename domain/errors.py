"""Errors of the domain package.

One base class with `diagnostics()` (one line for a person, never a raw data value), typed
one-line subclasses, and an HTTP status that only the server edge uses.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain reports to a person."""

    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = " ".join(str(message).split())

    def diagnostics(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """Bad arguments, malformed files, wrong encodings."""


class NotFound(DomainError):
    http_status = 404


class Conflict(DomainError):
    http_status = 409


class InvalidTransition(Conflict):
    """A state change that the transition table does not allow."""


class AuthenticationFailed(DomainError):
    """Unknown user, wrong password, expired or revoked token. Deliberately vague."""

    http_status = 401

    def __init__(self, message: str = "authentication failed"):
        super().__init__(message)


class LoginLocked(AuthenticationFailed):
    """Too many failed logins in a row for this user id (known or not: no oracle)."""

    http_status = 429


class PermissionDenied(DomainError):
    http_status = 403


class NotCompliant(PermissionDenied):
    """Staff without real-name check, confidentiality agreement or training cannot act (R7)."""


class GrantNotActive(PermissionDenied):
    """The grant is pending, suspended, expired or terminated."""


class QueryRefused(PermissionDenied):
    """The SQL policy refused a query; the message says why."""


class NotInitialised(DomainError):
    def __init__(self, home: object):
        super().__init__(f"{home} is not a domain home; run 'aod init --home {home}' first")
