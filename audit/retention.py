"""Retention: only whole sealed segments older than the retention period (never under 180
days) may be pruned, oldest first. Pruning is itself an audit event, and the pruned prefix
stays anchored: `anchor.json` keeps its signed tree head and the root of every pruned segment,
so the remaining log verifies from there, and any tree head a regulator kept still checks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from audit.checkpoint import BadCheckpoint, SignedCheckpoint
from audit.errors import AuditCorrupted, RetentionError
from audit.layout import RETENTION_FLOOR_DAYS, Paths, write_atomic
from audit.merkle import CompactRange, perfect_root

if TYPE_CHECKING:
    from audit.log import AuditLog


@dataclass(frozen=True)
class Anchor:
    size: int                           # leaves [0, size) are pruned
    segment_roots: tuple[bytes, ...]    # one per pruned segment
    checkpoint: SignedCheckpoint        # the signed tree head at `size`
    prune_event: int | None             # leaf index of the audit.prune event that made it

    @property
    def root(self) -> bytes:
        return self.checkpoint.root

    def computed_root(self, segment_events: int) -> bytes:
        bits = segment_events.bit_length() - 1
        nodes = []
        for level, index in CompactRange.positions(self.size):
            span = 1 << (level - bits)
            nodes.append(perfect_root(self.segment_roots[index * span:(index + 1) * span]))
        return CompactRange(self.size, nodes).root()

    def to_json(self) -> bytes:
        return json.dumps({
            "format": 1, "size": self.size,
            "segment_roots": [r.hex() for r in self.segment_roots],
            "checkpoint": self.checkpoint.to_text(), "prune_event": self.prune_event,
        }, indent=1).encode() + b"\n"


def load_anchor(paths: Paths) -> Anchor | None:
    try:
        data = json.loads(paths.anchor.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        raise AuditCorrupted("anchor.json is not valid JSON") from None
    try:
        roots = tuple(bytes.fromhex(r) for r in data["segment_roots"])
        anchor = Anchor(int(data["size"]), roots, SignedCheckpoint.from_text(data["checkpoint"]),
                        data.get("prune_event"))
    except (KeyError, TypeError, ValueError, BadCheckpoint):
        raise AuditCorrupted("anchor.json does not have the anchor schema") from None
    if any(len(r) != 32 for r in roots) or anchor.checkpoint.size != anchor.size:
        raise AuditCorrupted("anchor.json is inconsistent (roots or tree head size)")
    return anchor


@dataclass(frozen=True)
class PrunePlan:
    upto: int                 # prune leaves [base, upto)
    segments: tuple[int, ...]  # first leaf of each segment to delete
    cutoff: datetime           # segments whose last event was logged before this may go


def plan(log: "AuditLog", now: datetime) -> PrunePlan:
    """Which segments may be pruned at `now` (a prefix of old, sealed segments)."""
    days = log.settings.retention_days
    if days < RETENTION_FLOOR_DAYS:  # Settings refuses this already; never trust one check
        raise RetentionError(f"retention of {days} days is below the {RETENTION_FLOOR_DAYS}-day floor")
    cutoff = now - timedelta(days=days)
    size, s = log.size(), log.identity.segment_events
    chosen = []
    for first in log.paths.segment_firsts():
        if first + s > size:  # the open segment is never pruned
            break
        if log.last_logged_in_segment(first) >= cutoff:
            break
        chosen.append(first)
    upto = chosen[-1] + s if chosen else 0
    return PrunePlan(upto, tuple(chosen), cutoff)


def prune(log: "AuditLog", now: datetime, actor) -> dict:
    """Prune what `plan` allows: record the event, write the anchor, delete the files."""
    from audit.events import Action, AuditEvent, Outcome, Ref

    p = plan(log, now)
    if not p.segments:
        raise RetentionError(
            f"nothing to prune: no sealed segment's events are all older than "
            f"{log.settings.retention_days} days"
        )
    old = load_anchor(log.paths)
    base = old.size if old else 0
    roots = list(old.segment_roots) if old else []
    roots += [log.verified_segment_root(first) for first in p.segments]
    head = log.checkpoint_at(p.upto)
    anchor = Anchor(p.upto, tuple(roots), head, None)
    if anchor.computed_root(log.identity.segment_events) != head.root:
        raise AuditCorrupted(f"the segments to prune do not match the tree head at size {p.upto}")
    receipt = log.append(AuditEvent(
        action=Action.AUDIT_PRUNE, actor=actor, outcome=Outcome.OK,
        targets=(Ref("segment", f"{base}-{p.upto - 1}"),),
        reason=f"retention of {log.settings.retention_days} days",
        details={"pruned_from": base, "pruned_upto": p.upto, "segments": len(p.segments),
                 "anchor_root": head.root.hex(), "retention_days": log.settings.retention_days,
                 "cutoff": p.cutoff.isoformat()},
    ))
    anchor = Anchor(p.upto, tuple(roots), head, receipt.index)
    write_atomic(log.paths.anchor, anchor.to_json())
    _delete_pruned(log, anchor)
    return {"pruned_upto": p.upto, "segments": len(p.segments), "event": receipt.index}


def _delete_pruned(log: "AuditLog", anchor: Anchor) -> None:
    """Remove files below the anchor (also finishes an interrupted prune)."""
    paths = log.paths
    for first in paths.segment_firsts():
        if first + log.identity.segment_events <= anchor.size:
            for path in (paths.segment(first), paths.tree(first)):
                path.unlink(missing_ok=True)
    for size in paths.checkpoint_sizes():
        if size < anchor.size:
            paths.checkpoint(size).unlink(missing_ok=True)
    from audit.index import remove_index_below

    remove_index_below(paths, anchor.size)
    os.sync()
