"""`AuditLog`: the one way in (append) and the regulator's way out (query, SQL, verify,
proofs, trace, annual report, prune).

    log = AuditLog.for_home(home)         # home/audit, key in home/keys/audit-signing.pem
    receipt = log.append(event)           # durable when it returns
    log.verify(log.public_key)            # VerificationReport, or AuditVerificationError

A log opened without its signing key (`AuditLog.reader`) can be read, queried and verified,
but not written.
"""

from __future__ import annotations

import dataclasses
import os
import time as _time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from audit import reader
from audit.checkpoint import BadCheckpoint, Signer, SignedCheckpoint, load_public_key, public_pem
from audit.errors import AuditConfigError, AuditCorrupted, AuditError, ProofError, ReadOnlyLog
from audit.events import Action, Actor, AuditEvent, Outcome, Ref, format_time
from audit.layout import Identity, Paths, Settings, write_atomic
from audit.locks import FileLock
from audit.store import Appender, Receipt

KEY_FILE = Path("keys") / "audit-signing.pem"
SYSTEM = Actor(id="system", role="system")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AuditLog:
    def __init__(self, directory: Path | str, signer: Signer | None = None,
                 clock: Callable[[], datetime] | None = None, *,
                 segment_events: int | None = None, max_batch: int | None = None):
        self.paths = Paths(Path(directory))
        self.clock = clock or utc_now
        self.signer = signer
        if not self.paths.identity.exists():
            self._create(segment_events, max_batch)
        self.identity = Identity.load(self.paths.identity)
        if segment_events is not None and segment_events != self.identity.segment_events:
            raise AuditConfigError("segment_events is fixed when a log is created")
        self.public_key = load_public_key(self.paths.public_key)
        if signer is not None and signer.name != self.identity.origin:
            raise AuditConfigError("the signing key does not belong to this log (see log.pub)")
        self._settings_stamp: tuple | None = None
        self._settings = self._load_settings()
        self._settings_checked = _time.monotonic()
        self._appender: Appender | None = None
        if signer is not None:
            self._appender = Appender(self.paths, self.identity, signer, self.clock,
                                      self._writer_settings)
            self._appender.on_repair = self._record_repairs

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def for_home(cls, home: Path | str, clock: Callable[[], datetime] | None = None) -> "AuditLog":
        """The domain's log in `home/audit`, created on first use, signed with the key in
        `home/keys/audit-signing.pem` (0600, created on first use)."""
        home = Path(home)
        signer = Signer.load_or_create(home / KEY_FILE)
        return cls(home / "audit", signer, clock)

    @classmethod
    def reader(cls, home_or_dir: Path | str, clock: Callable[[], datetime] | None = None) -> "AuditLog":
        """Open an existing log read-only (no signing key needed)."""
        path = Path(home_or_dir)
        directory = path / "audit" if (path / "audit" / "log.json").exists() else path
        if not (directory / "log.json").exists():
            raise AuditError(f"no audit log found at {path}")
        return cls(directory, None, clock)

    def _create(self, segment_events: int | None, max_batch: int | None) -> None:
        if self.signer is None:
            raise AuditError(f"no audit log at {self.paths.root}")
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with FileLock(self.paths.lock("write")):
            if self.paths.identity.exists():
                return
            for d in (self.paths.segments, self.paths.checkpoints, self.paths.index):
                d.mkdir(exist_ok=True)
            write_atomic(self.paths.public_key, public_pem(self.signer.public_key))
            if not self.paths.settings.exists():
                Settings().save(self.paths.settings)
            fields = {"origin": self.signer.name}
            if segment_events is not None:
                fields["segment_events"] = segment_events
            if max_batch is not None:
                fields["max_batch"] = max_batch
            Identity(**fields).save(self.paths.identity)

    @property
    def writable(self) -> bool:
        return self._appender is not None

    @property
    def public_key_pem(self) -> bytes:
        return public_pem(self.public_key)

    # -- settings -----------------------------------------------------------------------
    def _load_settings(self) -> Settings:
        try:
            st = os.stat(self.paths.settings)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp != self._settings_stamp:
            self._settings = Settings.load(self.paths.settings)
            self._settings_stamp = stamp
        return self._settings

    def _writer_settings(self) -> Settings:
        """Settings for the writer's per-commit checks: settings.json is looked at no more
        than once a second (a change by another process takes effect within a second)."""
        now = _time.monotonic()
        if now - self._settings_checked >= 1.0:
            self._settings_checked = now
            return self._load_settings()
        return self._settings

    @property
    def settings(self) -> Settings:
        """Current settings (re-read when settings.json changes; an invalid file raises)."""
        return self._load_settings()

    def update_settings(self, actor: Actor = SYSTEM, **changes: int) -> Settings:
        """Change settings (validated: retention never below 180 days); audited."""
        self._writer()
        old = self.settings
        new = dataclasses.replace(old, **changes)  # Settings validates in __post_init__
        new.save(self.paths.settings)
        self._settings_checked = 0.0  # this process's writer sees the change at once
        self.append(AuditEvent(
            action=Action.CONFIG_CHANGE, actor=actor, targets=(Ref("config", "audit.settings"),),
            details={"changed": {k: {"from": getattr(old, k), "to": v} for k, v in changes.items()}},
        ))
        return self.settings

    # -- appending ----------------------------------------------------------------------
    def _writer(self) -> Appender:
        if self._appender is None:
            raise ReadOnlyLog("this audit log was opened without its signing key (read-only)")
        return self._appender

    def prepare(self, event: AuditEvent, at_text: str | None = None) -> str:
        """Set a missing time (the log's clock, or `at_text`), run the raw-value guard,
        return the canonical JSON."""
        if not isinstance(event, AuditEvent):
            raise AuditError("append takes an AuditEvent")
        if at_text is None and event.time is None:
            at_text = format_time(self.clock())
        text = event.canonical_json(at_text=at_text)
        event.check_no_raw_values(text)
        return text

    def append(self, event: AuditEvent) -> Receipt:
        """Append one event; durable (fsynced) when it returns."""
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[AuditEvent]) -> list[Receipt]:
        """Append events in order; all are durable when it returns. Refuses all of them
        (RawValueInEvent, InvalidEvent) before writing any if one is bad."""
        writer = self._writer()
        now = format_time(self.clock())  # one time for every event of the call without one
        bodies = [self.prepare(e, now) for e in events]
        out: list[Receipt] = []
        step = self.identity.max_batch
        for i in range(0, len(bodies), step):
            out += writer.commit(bodies[i:i + step])
        return out

    def _record_repairs(self, repairs: list[dict]) -> None:
        self.append_many([AuditEvent(
            action=Action.AUDIT_REPAIR, actor=SYSTEM, outcome=Outcome.OK,
            targets=(Ref("segment", f"{r['segment']:012d}"),),
            reason="a torn or damaged last record left by an interrupted writer was removed "
                   "and kept in quarantine",
            details=r,
        ) for r in repairs])

    def sync(self) -> int:
        return self._writer().sync()

    def checkpoint(self) -> SignedCheckpoint:
        """Sign a tree head at the current size now (returns the latest tree head)."""
        self._writer().checkpoint(force=True)
        return self.latest_checkpoint()

    def maybe_checkpoint(self) -> None:
        """Write tree heads that are due (call it from a timer in long-running servers)."""
        self._writer().checkpoint(force=False)

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()

    # -- reading ------------------------------------------------------------------------
    def size(self) -> int:
        """Number of leaves (including pruned ones)."""
        if self._appender is not None:
            return self._appender.size()
        return reader.stored_size(self.paths, self.identity.segment_events)[1]

    def first_index(self) -> int:
        """Index of the oldest stored event (0 unless the log was pruned)."""
        from audit.retention import load_anchor

        anchor = load_anchor(self.paths)
        return anchor.size if anchor else 0

    def entries(self, start: int = 0, end: int | None = None) -> list[reader.Entry]:
        end = self.size() if end is None else end
        return reader.read_entries(self.paths, self.identity.segment_events, start, end)

    def entry(self, index: int) -> reader.Entry:
        entry = reader.entry_from_line(self.entry_line(index))
        if entry is None or entry.index != index:
            raise ProofError(f"event #{index} is not in the stored log")
        return entry

    def entry_line(self, index: int) -> bytes:
        line = reader.line_at(self.paths, self.identity.segment_events, index)
        if line is None:
            raise ProofError(f"event #{index} is not in the stored log")
        return line

    def find_event_ids(self, ids: Iterable[str], start: int = 0) -> dict[str, int]:
        return reader.find_event_ids(self.paths, self.identity.segment_events, set(ids), start)

    def last_logged_in_segment(self, first: int) -> datetime:
        found = reader.last_logged(self.paths, first)
        if found is None:
            raise AuditCorrupted(f"segment {first:012d} holds no readable record")
        return found

    def checkpoint_sizes(self) -> list[int]:
        return self.paths.checkpoint_sizes()

    def checkpoint_at(self, size: int) -> SignedCheckpoint:
        path = self.paths.checkpoint(size)
        try:
            cp = SignedCheckpoint.from_text(path.read_bytes())
        except FileNotFoundError:
            raise ProofError(f"there is no tree head at size {size}") from None
        except BadCheckpoint as exc:
            raise AuditCorrupted(f"{path.name}: {exc.diagnostics()}") from None
        cp.check_signature(self.public_key)
        return cp

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        size = self.paths.latest_checkpoint_size()
        return self.checkpoint_at(size) if size is not None else None

    def verified_segment_root(self, first: int) -> bytes:
        """Root of a sealed segment recomputed from its records."""
        from audit.merkle import perfect_root

        lines = reader.complete_lines(reader.read_segment(self.paths, first))
        if len(lines) != self.identity.segment_events:
            raise AuditCorrupted(f"segment {first:012d} is not a full sealed segment")
        from audit.merkle import hash_leaf

        return perfect_root([hash_leaf(line) for line in lines])

    # -- regulators ---------------------------------------------------------------------
    def verify(self, public_key=None, *, trusted: Sequence[SignedCheckpoint | str] = (),
               deep: bool = False, workers: int | None = None):
        """Recompute everything from the stored events; see `audit.verify`."""
        from audit.verify import verify_log

        return verify_log(self, public_key or self.public_key, trusted=trusted, deep=deep,
                          workers=workers)

    def prove_inclusion(self, event: int | str, size: int | None = None):
        from audit.proofs import prove_inclusion

        return prove_inclusion(self, event, size)

    def prove_consistency(self, old_size: int, new_size: int | None = None):
        from audit.proofs import prove_consistency

        return prove_consistency(self, old_size, new_size)

    def query(self, since=None, until=None, actor=None, org=None, dataset=None, action=None,
              outcome=None, limit=None) -> list[reader.Entry]:
        from audit.query import Filters, run_query

        return run_query(self, Filters.build(since=since, until=until, actor=actor, org=org,
                                             dataset=dataset, action=action, outcome=outcome,
                                             limit=limit))

    def sql(self, sql: str, *, limit: int = 10_000, timeout: float = 30.0):
        from audit.query import run_sql

        return run_sql(self, sql, limit=limit, timeout=timeout)

    def trace(self, ref: Ref | str, *, depth: int = 8):
        from audit.trace import trace

        return trace(self, ref if isinstance(ref, Ref) else Ref.parse(ref), depth=depth)

    def annual_report(self, org: str, year: int):
        from audit.report import annual_report

        return annual_report(self, org, year)

    def prune(self, actor: Actor = SYSTEM) -> dict:
        """Prune whole sealed segments older than the retention (never under 180 days)."""
        from audit.retention import prune

        self._writer()
        return prune(self, self.clock(), actor)

    def prune_plan(self):
        from audit.retention import plan

        return plan(self, self.clock())
