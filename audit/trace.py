"""Provenance: follow `inputs -> event -> outputs` from any object, both ways.

Upstream from X: events that output X, then their inputs, recursively (where X came from).
Downstream from X: events that took X as input, then their outputs, recursively (where X
went). Events that name a reached object as a target (reviewers' votes on an export, a
grant's suspension) are attached to it: "who approved" is part of the trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from audit.errors import QueryError
from audit.events import Ref
from audit.index import connect
from audit.query import events_relation
from audit.reader import Entry

if TYPE_CHECKING:
    from audit.log import AuditLog

MAX_NODES = 5000


@dataclass(frozen=True)
class Edge:
    source: str   # "kind:id" or "event:<index>"
    target: str
    via: str      # "input", "output" or "target"


@dataclass
class Trace:
    root: str
    upstream: set[str] = field(default_factory=set)
    downstream: set[str] = field(default_factory=set)
    events: dict[int, Entry] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    truncated: bool = False

    def ordered_events(self) -> list[Entry]:
        return [self.events[i] for i in sorted(self.events)]

    def to_json(self) -> dict:
        return {
            "root": self.root, "upstream": sorted(self.upstream), "downstream": sorted(self.downstream),
            "events": [{"index": e.index, "time": e.event.time.isoformat() if e.event.time else None,
                        "action": e.event.action.value, "actor": e.event.actor.id,
                        "role": e.event.actor.role, "org": e.event.org,
                        "outcome": e.event.outcome.value,
                        "inputs": [r.key for r in e.event.inputs],
                        "outputs": [r.key for r in e.event.outputs],
                        "targets": [r.key for r in e.event.targets]} for e in self.ordered_events()],
            "edges": [{"from": x.source, "to": x.target, "via": x.via} for x in self.edges],
            "truncated": self.truncated,
        }


def trace(log: "AuditLog", ref: Ref, depth: int = 8) -> Trace:
    if not 1 <= depth <= 32:
        raise QueryError("trace depth must be between 1 and 32")
    result = Trace(ref.key)
    con = connect()
    try:
        events_relation(con, log)
        _walk(con, result, ref.key, depth, upstream=True)
        _walk(con, result, ref.key, depth, upstream=False)
        _attach_targets(con, result)
    finally:
        con.close()
    return result


_SELECT = "SELECT idx, logged, leaf_hash, body, in_refs, out_refs, target_refs FROM events"


def _walk(con, result: Trace, start: str, depth: int, *, upstream: bool) -> None:
    seen = result.upstream if upstream else result.downstream
    frontier = {start}
    column = "out_refs" if upstream else "in_refs"
    for _ in range(depth):
        if not frontier or len(seen) > MAX_NODES:
            result.truncated = result.truncated or bool(frontier)
            return
        rows = con.execute(f"{_SELECT} WHERE list_has_any({column}, ?::VARCHAR[]) ORDER BY idx",
                           [sorted(frontier)]).fetchall()
        seen |= frontier
        nxt: set[str] = set()
        for row in rows:
            entry = _entry(row)
            result.events[entry.index] = entry
            ins, outs = row[4] or [], row[5] or []
            node = f"event:{entry.index}"
            for key in ins:
                result.edges.append(Edge(key, node, "input"))
            for key in outs:
                result.edges.append(Edge(node, key, "output"))
            nxt |= set(ins if upstream else outs)
        frontier = nxt - seen


def _attach_targets(con, result: Trace) -> None:
    nodes = sorted(result.upstream | result.downstream)
    if not nodes:
        return
    rows = con.execute(f"{_SELECT} WHERE list_has_any(target_refs, ?::VARCHAR[]) ORDER BY idx",
                       [nodes]).fetchall()
    wanted = set(nodes)
    for row in rows:
        entry = _entry(row)
        result.events.setdefault(entry.index, entry)
        for key in row[6] or []:
            if key in wanted:
                result.edges.append(Edge(f"event:{entry.index}", key, "target"))


def _entry(row) -> Entry:
    from datetime import timezone

    return Entry(row[0], row[1].replace(tzinfo=timezone.utc), bytes(row[2]), row[3])
