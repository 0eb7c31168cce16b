"""Errors of the raw store: one-line diagnostics, never a raw value."""

from __future__ import annotations

from domain.errors import DomainError, InvalidInput


class RawStoreError(DomainError):
    """Base of the raw store's errors."""


class SourceUnreadable(InvalidInput, RawStoreError):
    """The source is missing, malformed or of an unsupported shape."""


class DatasetExists(RawStoreError):
    http_status = 409


class DatasetDamaged(RawStoreError):
    """The manifest or a file does not verify: wrong key, tampering or a partial copy."""

    http_status = 500
