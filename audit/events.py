"""What an audit event is: `Action`, `Outcome`, `Role`, `Actor`, `Ref` and the frozen
`AuditEvent`, with its canonical (RFC 8785) encoding.

Adding an action is a one-line change to `Action`. Values are dotted strings.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Iterable, Mapping

from audit import canonical
from audit.errors import InvalidEvent
from audit.guard import check_strings, might_hold_raw_value

MAX_ID = 256
MAX_REASON = 4000
MAX_DETAILS_BYTES = 64 * 1024
MAX_REFS = 256
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # always 27 characters, sorts as text


class Action(StrEnum):
    DOMAIN_INIT = "domain.init"
    CONFIG_CHANGE = "config.change"
    KEY_CREATE = "key.create"
    KEY_ROTATE = "key.rotate"
    KEY_DESTROY = "key.destroy"
    PRINCIPAL_CREATE = "principal.create"
    PRINCIPAL_UPDATE = "principal.update"
    PRINCIPAL_DISABLE = "principal.disable"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGOUT = "auth.logout"
    AUTH_DENIED = "auth.denied"
    AUTH_TOKEN_ISSUE = "auth.token_issue"
    AUTH_TOKEN_REVOKE = "auth.token_revoke"
    OPERATOR_REGISTER = "operator.register"
    OPERATOR_UPDATE = "operator.update"
    DATASET_INGEST = "dataset.ingest"
    DATASET_CLASSIFY = "dataset.classify"
    DATASET_CONFIRM = "dataset.confirm"
    DATASET_UPDATE = "dataset.update"
    DATASET_DESTROY = "dataset.destroy"
    DESENSITIZE_APPLY = "desensitize.apply"
    SAMPLE_CREATE = "sample.create"
    SAMPLE_READ = "sample.read"
    GRANT_CREATE = "grant.create"
    GRANT_UPDATE = "grant.update"
    GRANT_ACTIVATE = "grant.activate"
    GRANT_SUSPEND = "grant.suspend"
    GRANT_RESUME = "grant.resume"
    GRANT_TERMINATE = "grant.terminate"
    GRANT_EXPIRE = "grant.expire"
    QUERY_RUN = "query.run"
    TENANT_CREATE = "tenant.create"
    TENANT_START = "tenant.start"
    TENANT_STOP = "tenant.stop"
    TENANT_SUSPEND = "tenant.suspend"
    TENANT_RESUME = "tenant.resume"
    TENANT_TERMINATE = "tenant.terminate"
    DATA_DESTROY = "data.destroy"
    JUPYTER_SESSION = "jupyter.session"
    JUPYTER_KERNEL_START = "jupyter.kernel_start"
    JOB_SUBMIT = "job.submit"
    JOB_START = "job.start"
    JOB_FINISH = "job.finish"
    JOB_CANCEL = "job.cancel"
    JOB_OUTPUT_RELEASE = "job.output_release"
    IMPORT_REQUEST = "import.request"
    IMPORT_APPROVE = "import.approve"
    IMPORT_REFUSE = "import.refuse"
    RISK_REPORT = "risk.report"
    RISK_CLEAR = "risk.clear"
    EXPORT_CREATE = "export.create"
    EXPORT_SUBMIT = "export.submit"
    EXPORT_CHECK = "export.check"
    EXPORT_REVIEW = "export.review"
    EXPORT_VIEW = "export.view"
    EXPORT_DOWNLOAD = "export.download"
    EXPORT_VOTE = "export.vote"
    EXPORT_CHANGES_REQUEST = "export.changes_request"
    EXPORT_APPROVE = "export.approve"
    EXPORT_REJECT = "export.reject"
    EXPORT_TRANSITION = "export.transition"
    EXPORT_RELEASE = "export.release"
    EXPORT_WITHDRAW = "export.withdraw"
    EXPORT_VERIFY = "export.verify"
    EXPORT_OVERRIDE = "export.override"
    API_PUBLISH = "api.publish"
    API_CALL = "api.call"
    API_REVOKE = "api.revoke"
    AUDIT_QUERY = "audit.query"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_PRUNE = "audit.prune"
    AUDIT_REPORT = "audit.report"
    AUDIT_REPAIR = "audit.repair"


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"   # a rule or a person said no
    FAILED = "failed"     # it was allowed but did not work


class Role(StrEnum):
    AUTHORITY = "authority"
    PROVIDER = "provider"
    OPERATOR_STAFF = "operator_staff"
    REVIEWER = "reviewer"
    REGULATOR = "regulator"
    SYSTEM = "system"
    UNKNOWN = "unknown"   # not authenticated (a failed login names no principal's role)


_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: Any, what: str, limit: int = MAX_ID, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise InvalidEvent(f"{what} is longer than {limit} characters")
    if limit <= MAX_ID and _CONTROL.search(value):
        raise InvalidEvent(f"{what} contains control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent(f"{what} is not valid Unicode text") from None
    return value


@dataclass(frozen=True)
class Actor:
    """Who did it: a principal id and one of the `Role` values."""

    id: str
    role: str

    def __post_init__(self):
        _text(self.id, "actor.id")
        try:
            object.__setattr__(self, "role", Role(self.role).value)
        except ValueError:
            raise InvalidEvent(
                "actor.role must be one of " + ", ".join(r.value for r in Role)
            ) from None


@dataclass(frozen=True)
class Ref:
    """An object an event touched: `kind` (dataset, grant, product, ...), `id`, and the
    SHA-256 of its content when there is one."""

    kind: str
    id: str
    sha256: str | None = None

    def __post_init__(self):
        if not isinstance(self.kind, str) or not _KIND.fullmatch(self.kind):
            raise InvalidEvent("ref kind must be a lowercase name like 'dataset'")
        _text(self.id, f"{self.kind} ref id")
        if self.sha256 is not None:
            digest = self.sha256.lower() if isinstance(self.sha256, str) else None
            if digest is None or not _HEX64.fullmatch(digest):
                raise InvalidEvent(f"{self.kind} ref sha256 must be 64 hex digits")
            object.__setattr__(self, "sha256", digest)

    @property
    def key(self) -> str:
        """`kind:id`, the node name used by provenance traces."""
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> "Ref":
        """`kind:id` -> Ref (for the CLI and regulators' trace requests)."""
        kind, sep, ident = str(text).partition(":")
        if not sep:
            raise InvalidEvent("a reference is written kind:id, for example dataset:population")
        return cls(kind, ident)


def _refs(value: Iterable[Any], what: str) -> tuple[Ref, ...]:
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidEvent(f"{what} must be a sequence of Ref")
    refs = tuple(v if isinstance(v, Ref) else Ref(*v) for v in value)
    if len(refs) > MAX_REFS:
        raise InvalidEvent(f"{what} holds more than {MAX_REFS} refs")
    return refs


def utc(moment: datetime, what: str = "time") -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidEvent(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidEvent(f"{what} must be timezone-aware")
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ (27 characters)."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def parse_time(text: str) -> datetime:
    """Inverse of `format_time` (strict: exactly YYYY-MM-DDTHH:MM:SS.ffffffZ)."""
    if len(text) != 27 or text[-1] != "Z" or text[10] != "T" or text[19] != ".":
        raise ValueError("not a log time")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


def _details(value: Mapping[str, Any]) -> tuple[dict, str]:
    """A private copy of `details` and its canonical JSON text."""
    if not isinstance(value, Mapping):
        raise InvalidEvent("details must be a mapping")
    if not value:
        return {}, "{}"
    try:
        copied = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError):
        raise InvalidEvent("details must hold only JSON values (no NaN, bytes or objects)") from None
    try:
        text = canonical.dumps_str(copied)
        size = len(text.encode("utf-8"))
    except (UnicodeEncodeError, ValueError, TypeError):
        raise InvalidEvent("details hold a value the canonical encoding cannot represent") from None
    if size > MAX_DETAILS_BYTES:
        raise InvalidEvent(f"details are larger than {MAX_DETAILS_BYTES} bytes")
    return copied, text


@dataclass(frozen=True)
class AuditEvent:
    """One operation, as recorded. Frozen; `details` is copied when the event is made."""

    action: Action
    actor: Actor
    outcome: Outcome = Outcome.OK
    org: str | None = None
    targets: tuple[Ref, ...] = ()
    inputs: tuple[Ref, ...] = ()
    outputs: tuple[Ref, ...] = ()
    reason: str | None = None
    request_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    time: datetime | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self):
        set_ = object.__setattr__
        try:
            set_(self, "action", Action(self.action))
        except ValueError:
            raise InvalidEvent("action is not a known audit action") from None
        try:
            set_(self, "outcome", Outcome(self.outcome))
        except ValueError:
            raise InvalidEvent("outcome must be one of " + ", ".join(o.value for o in Outcome)) from None
        if not isinstance(self.actor, Actor):
            raise InvalidEvent("actor must be an Actor(id, role)")
        _text(self.org, "org", optional=True)
        _text(self.reason, "reason", MAX_REASON, optional=True)
        _text(self.request_id, "request_id", optional=True)
        for name in ("targets", "inputs", "outputs"):
            set_(self, name, _refs(getattr(self, name), name))
        details, text = _details(self.details)
        set_(self, "details", details)
        set_(self, "_details_json", text)  # not a field: excluded from eq/repr
        if self.time is not None:
            set_(self, "time", utc(self.time))
        if not isinstance(self.event_id, str) or not _EVENT_ID.fullmatch(self.event_id):
            raise InvalidEvent("event_id must be 1-64 letters, digits or ._:-")

    # -- guard --------------------------------------------------------------------------
    def check_no_raw_values(self, encoded: str | None = None) -> None:
        """Raise `RawValueInEvent` when any string looks like an ID or mobile number.

        With the event's canonical JSON (`encoded`), one scan of that text clears almost every
        event; only a possible match walks the fields to name the one at fault."""
        if encoded is not None and not might_hold_raw_value(encoded):
            return
        fields: list[tuple[str, Any]] = [
            ("actor.id", self.actor.id), ("org", self.org), ("reason", self.reason),
            ("request_id", self.request_id), ("event_id", self.event_id),
            ("details", self.details),
        ]
        for name in ("targets", "inputs", "outputs"):
            for i, ref in enumerate(getattr(self, name)):
                fields.append((f"{name}[{i}].id", ref.id))
        check_strings(fields)

    # -- encoding -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "actor": {"id": self.actor.id, "role": self.actor.role},
            "details": self.details,
            "event_id": self.event_id,
            "inputs": [_ref_dict(r) for r in self.inputs],
            "org": self.org,
            "outcome": self.outcome.value,
            "outputs": [_ref_dict(r) for r in self.outputs],
            "reason": self.reason,
            "request_id": self.request_id,
            "targets": [_ref_dict(r) for r in self.targets],
            "time": format_time(self.time) if self.time else None,
        }

    def canonical_json(self, at: datetime | None = None, at_text: str | None = None) -> str:
        """RFC 8785 text of `to_dict()` (built directly: the keys are fixed and sorted).
        `at` (or its `format_time` text, `at_text`) stands in for a missing time. Enum
        values, ref kinds, digests and event ids are validated to need no escaping."""
        if self.time is not None:
            when = format_time(self.time)
        elif at_text is not None:
            when = at_text
        elif at is not None:
            when = format_time(at)
        else:
            raise InvalidEvent("the event has no time yet")
        q = canonical.quote
        return _EVENT_TEMPLATE % (
            self.action.value, q(self.actor.id), self.actor.role, self._details_json,
            self.event_id, _refs_json(self.inputs), _nq(self.org), self.outcome.value,
            _refs_json(self.outputs), _nq(self.reason), _nq(self.request_id),
            _refs_json(self.targets), when,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AuditEvent":
        """Rebuild (and validate) an event from `to_dict()` output."""
        try:
            return cls(
                action=data["action"],
                actor=Actor(**data["actor"]),
                outcome=data["outcome"],
                org=data.get("org"),
                targets=tuple(Ref(**r) for r in data.get("targets", ())),
                inputs=tuple(Ref(**r) for r in data.get("inputs", ())),
                outputs=tuple(Ref(**r) for r in data.get("outputs", ())),
                reason=data.get("reason"),
                request_id=data.get("request_id"),
                details=data.get("details") or {},
                time=parse_time(data["time"]) if data.get("time") else None,
                event_id=data["event_id"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidEvent):
                raise
            raise InvalidEvent("stored event does not have the event schema") from None

    @classmethod
    def from_json(cls, text: str | bytes, *, trusted: bool = False) -> "AuditEvent":
        """Decode an event. `trusted` skips validation, for events read back from the log
        (validated when appended, and covered by its hashes); `verify --deep` revalidates."""
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidEvent("stored event is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidEvent("stored event is not a JSON object")
        if trusted:
            try:
                return cls._trusted(data)
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # not the shape we write: take the validating path for a clear error
        return cls.from_dict(data)

    @classmethod
    def _trusted(cls, d: Mapping[str, Any]) -> "AuditEvent":
        new, set_ = object.__new__, object.__setattr__
        event = new(cls)
        actor = new(Actor)
        set_(actor, "id", d["actor"]["id"])
        set_(actor, "role", Role(d["actor"]["role"]).value)
        values = {
            "action": Action(d["action"]), "actor": actor, "outcome": Outcome(d["outcome"]),
            "org": d["org"], "reason": d["reason"], "request_id": d["request_id"],
            "details": d["details"], "time": parse_time(d["time"]), "event_id": d["event_id"],
        }
        for name in ("targets", "inputs", "outputs"):
            refs = []
            for r in d[name]:
                ref = new(Ref)
                set_(ref, "kind", r["kind"]), set_(ref, "id", r["id"]), set_(ref, "sha256", r["sha256"])
                refs.append(ref)
            values[name] = tuple(refs)
        for name, value in values.items():
            set_(event, name, value)
        set_(event, "_details_json", canonical.dumps_str(d["details"]) if d["details"] else "{}")
        return event


def _ref_dict(ref: Ref) -> dict[str, Any]:
    return {"id": ref.id, "kind": ref.kind, "sha256": ref.sha256}


def _nq(value: str | None) -> str:
    return "null" if value is None else canonical.quote(value)


_EVENT_TEMPLATE = (
    '{"action":"%s","actor":{"id":%s,"role":"%s"},"details":%s,"event_id":"%s","inputs":%s,'
    '"org":%s,"outcome":"%s","outputs":%s,"reason":%s,"request_id":%s,"targets":%s,"time":"%s"}'
)


def _refs_json(refs: tuple[Ref, ...]) -> str:
    if not refs:
        return "[]"
    q = canonical.quote
    return "[" + ",".join([
        '{"id":%s,"kind":"%s","sha256":%s}' % (
            q(r.id), r.kind, "null" if r.sha256 is None else '"' + r.sha256 + '"')
        for r in refs
    ]) + "]"
