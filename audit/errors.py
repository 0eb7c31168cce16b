"""The audit package's errors: one base class, typed one-line subclasses.

Every message is written for a person and never carries a data value: an error names the
field, segment, record number or tree head that is wrong, not what it holds.
"""

from __future__ import annotations


class AuditError(Exception):
    """Base class of every error raised by `audit`."""

    def diagnostics(self) -> str:
        """One line for a person, free of data values."""
        text = " ".join(str(self).split())
        return text or type(self).__name__


class InvalidEvent(AuditError):
    """An event is malformed (wrong type, empty id, unknown role, oversized, naive time, ...)."""


class RawValueInEvent(InvalidEvent):
    """An event holds a value shaped like a resident ID number or a mobile number."""


class AuditConfigError(AuditError):
    """The log's settings are invalid (for example a retention below the legal floor)."""


class AuditCorrupted(AuditError):
    """The stored log is damaged in a way the writer will not repair by itself (fail closed)."""


class ReadOnlyLog(AuditError):
    """A write was asked of a log opened without its signing key."""


class QueryError(AuditError):
    """A regulator's filter or SQL is malformed or not allowed."""


class ProofError(AuditError):
    """A proof cannot be produced (unknown event, size beyond the log, pruned range) or
    does not verify."""


class RetentionError(AuditError):
    """Pruning was refused (nothing old enough, or the retention rules forbid it)."""


class AuditVerificationError(AuditError):
    """The log does not verify. Names the exact record, segment or tree head that is wrong.

    `problems` holds every problem found (each a `Problem`); the message is the first one.
    """

    def __init__(self, problems):
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else None
        more = len(self.problems) - 1
        text = first.describe() if first else "verification failed"
        if more > 0:
            text += f" (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(text)

    @property
    def first(self):
        return self.problems[0] if self.problems else None
