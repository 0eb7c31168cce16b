"""audit: the domain's tamper-evident operations log.

    from audit import AuditLog, AuditEvent, Action, Outcome, Actor, Ref, outbox

Every package records its operations here (`AuditLog.append`, or `outbox.enqueue` inside a
control-plane transaction). Regulators query, verify, prove and trace through the same
object. See docs/api/audit.md.
"""

from audit.errors import (
    AuditConfigError,
    AuditCorrupted,
    AuditError,
    AuditVerificationError,
    InvalidEvent,
    ProofError,
    QueryError,
    RawValueInEvent,
    ReadOnlyLog,
    RetentionError,
)
from audit.events import Action, Actor, AuditEvent, Outcome, Ref, Role
from audit.log import AuditLog
from audit.reader import Entry
from audit.store import Receipt
from audit import outbox  # noqa: E402  (re-exported module)

__all__ = [
    "Action", "Actor", "AuditConfigError", "AuditCorrupted", "AuditError", "AuditEvent",
    "AuditLog", "AuditVerificationError", "Entry", "InvalidEvent", "Outcome", "ProofError",
    "QueryError", "RawValueInEvent", "ReadOnlyLog", "Receipt", "Ref", "RetentionError", "Role",
    "outbox",
]
