"""Errors of the desensitize package.

One base class, `DesensitizeError`, with `diagnostics()`: one line for a person, free of raw
data values (a value is described by its column, row number, entity type or a keyed hash,
never quoted). Subclasses are one-liners so callers can tell the cases apart.
"""

from __future__ import annotations


class DesensitizeError(Exception):
    """Base class of every error raised on purpose by `desensitize`."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
        self.message = " ".join(str(message).split())

    def diagnostics(self) -> str:
        return self.message


class InputError(DesensitizeError):
    """A file or table cannot be read (missing, unreadable, malformed, wrong encoding)."""


class PlanError(DesensitizeError):
    """A transform plan is invalid, unsafe, or does not fit the data."""


class ClassificationError(DesensitizeError):
    """A classification file is invalid or does not fit the data."""


class CannotCertify(DesensitizeError):
    """A check could not decide (regex timeout, entity without recognizer): treated as a block."""


class SampleCheckFailed(DesensitizeError):
    """A sample did not pass its privacy checks; nothing was written."""


class SecretError(DesensitizeError):
    """The pseudonymization secret is missing or too weak."""
