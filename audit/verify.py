"""The verifier: recompute everything from the stored events and check every signature.

Numbered steps (each adds `Problem`s; any problem raises one `AuditVerificationError` that
names the exact segment, record or tree head):

1. keys: the key you trust against the log's `log.pub`;
2. anchor: the pruned prefix's signed tree head and segment roots agree;
3. tree heads: each parses, is signed by the trusted key, sits in the right file, and
   chains to the previous one (`prev`), with non-decreasing times;
4. segments: present and contiguous from the anchor (or 0), every sealed one full;
5. records: every line is a complete record with the next leaf index and a non-decreasing
   log time; leaf hashes are recomputed (in parallel over segments); with `deep`, every event
   is parsed, validated and re-encoded canonically; the Parquet index agrees;
6. roots: the root recomputed at each tree head's size equals the signed root; a mismatch
   is pinned to the altered record when its append-time hash is still on disk;
7. rules: a tree head at every sealed segment boundary and no long unsigned tail;
8. trusted heads: tree heads the regulator kept match the log (nothing rewritten or removed);
9. retention: a pruned prefix was pruned by a recorded `audit.prune`, not before 180 days.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from audit import canonical, records
from audit.checkpoint import BadCheckpoint, SignedCheckpoint, load_public_key, raw_public
from audit.errors import AuditCorrupted, AuditVerificationError, InvalidEvent
from audit.events import AuditEvent, parse_time
from audit.layout import RETENTION_FLOOR_DAYS, segment_name
from audit.merkle import EMPTY_ROOT, CompactRange, hash_children, hash_leaf, level_up
from audit.retention import Anchor, load_anchor

if TYPE_CHECKING:
    from audit.log import AuditLog

FUTURE_SLACK = timedelta(days=1)
STEP_ORDER = ("keys", "anchor", "tree heads", "records", "segments", "roots", "trusted heads",
              "rules", "retention", "index")


@dataclass(frozen=True)
class Problem:
    step: str
    what: str
    segment: str | None = None
    index: int | None = None
    tree_head: int | None = None

    def describe(self) -> str:
        where = []
        if self.segment:
            where.append(f"segment {self.segment}")
        if self.index is not None:
            where.append(f"event #{self.index}")
        if self.tree_head is not None:
            where.append(f"tree head at size {self.tree_head}")
        return f"[{self.step}] " + (", ".join(where) + ": " if where else "") + self.what

    def to_json(self) -> dict:
        return {"step": self.step, "what": self.what, "segment": self.segment,
                "index": self.index, "tree_head": self.tree_head}


@dataclass(frozen=True)
class VerificationReport:
    size: int
    first_index: int
    segments: int
    tree_heads: int
    latest: SignedCheckpoint | None
    key_id: str
    trusted_heads: int
    deep: bool
    seconds: float
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        latest = (f"latest signed tree head at size {self.latest.size}" if self.latest
                  else "no signed tree head yet")
        pruned = f", events before #{self.first_index} pruned under an anchor" if self.first_index else ""
        return (f"verified {self.size} events in {self.segments} segments and {self.tree_heads} "
                f"signed tree heads ({latest}; key {self.key_id}){pruned}")

    def to_json(self) -> dict:
        return {"ok": True, "size": self.size, "first_index": self.first_index,
                "segments": self.segments, "tree_heads": self.tree_heads,
                "latest_tree_head": self.latest.size if self.latest else None,
                "key_id": self.key_id, "trusted_heads": self.trusted_heads, "deep": self.deep,
                "seconds": round(self.seconds, 3), "notes": list(self.notes)}


@dataclass
class _Run:
    log: "AuditLog"
    key: object
    deep: bool
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    anchor: Anchor | None = None
    base: int = 0
    heads: dict[int, SignedCheckpoint] = field(default_factory=dict)
    firsts: list[int] = field(default_factory=list)
    results: list = field(default_factory=list)
    size: int = 0
    computed: dict[int, bytes] = field(default_factory=dict)  # size -> recomputed root

    def add(self, step: str, what: str, **where) -> None:
        self.problems.append(Problem(step, what, **where))


def verify_log(log: "AuditLog", public_key, *, trusted: Sequence = (), deep: bool = False,
               workers: int | None = None) -> VerificationReport:
    started = time.perf_counter()
    run = _Run(log, _as_key(public_key), deep)
    trusted_heads = _parse_trusted(run, trusted)
    _step_keys(run)
    _step_anchor(run)
    _step_heads(run)
    _step_segments(run)
    extra = sorted({h.size for h in trusted_heads})
    _step_records(run, extra, workers)
    _step_roots(run)
    _step_rules(run)
    _step_trusted(run, trusted_heads)
    _step_retention(run)
    if run.problems:  # most fundamental first; the derived index last
        run.problems.sort(key=lambda p: STEP_ORDER.index(p.step))
        raise AuditVerificationError(run.problems)
    latest = run.heads[max(run.heads)] if run.heads else None
    return VerificationReport(run.size, run.base, len(run.firsts), len(run.heads), latest,
                              _key_id(run), len(trusted_heads), deep,
                              time.perf_counter() - started, tuple(run.notes))


def _as_key(public_key):
    if isinstance(public_key, (str, bytes, Path)):
        return load_public_key(public_key)
    return public_key


def _key_id(run: _Run) -> str:
    from audit.checkpoint import key_id

    return key_id(run.log.identity.origin, raw_public(run.key)).hex()


def _parse_trusted(run: _Run, trusted: Sequence) -> list[SignedCheckpoint]:
    out = []
    for i, head in enumerate(trusted):
        try:
            out.append(head if isinstance(head, SignedCheckpoint) else SignedCheckpoint.from_text(head))
        except BadCheckpoint as exc:
            run.add("trusted heads", f"trusted tree head #{i + 1} cannot be read: {exc.diagnostics()}")
    return out


# -- 1. keys -----------------------------------------------------------------------------
def _step_keys(run: _Run) -> None:
    if raw_public(run.key) != raw_public(run.log.public_key):
        run.add("keys", "the log's log.pub is not the key you trust; tree heads are checked "
                        "against the key you gave")


# -- 2. anchor ---------------------------------------------------------------------------
def _step_anchor(run: _Run) -> None:
    try:
        run.anchor = load_anchor(run.log.paths)
    except AuditCorrupted as exc:
        run.add("anchor", exc.diagnostics())
        return
    a = run.anchor
    if a is None:
        return
    run.base = a.size
    if not a.checkpoint.signature_ok(run.key):
        run.add("anchor", "the pruned prefix's tree head is not signed by the trusted key",
                tree_head=a.size)
    if a.computed_root(run.log.identity.segment_events) != a.root:
        run.add("anchor", "the pruned segments' roots do not give the anchored root", tree_head=a.size)
    run.computed[a.size] = a.computed_root(run.log.identity.segment_events)


# -- 3. tree heads -----------------------------------------------------------------------
def _step_heads(run: _Run) -> None:
    paths, prev = run.log.paths, None
    for size in paths.checkpoint_sizes():
        if size < run.base:
            run.notes.append(f"tree head {size} lies in the pruned prefix (interrupted prune)")
            continue
        head = _read_head(run, size)
        if head is None:
            prev = None
            continue
        _check_chain(run, head, prev)
        run.heads[size] = head
        prev = head


def _read_head(run: _Run, size: int) -> SignedCheckpoint | None:
    name = run.log.paths.checkpoint(size).name
    try:
        head = SignedCheckpoint.from_text(run.log.paths.checkpoint(size).read_bytes())
    except BadCheckpoint as exc:
        run.add("tree heads", f"{name} cannot be read: {exc.diagnostics()}", tree_head=size)
        return None
    if head.size != size:
        run.add("tree heads", f"{name} holds the tree head for size {head.size} (file replaced)",
                tree_head=size)
        return None
    try:
        head.check_signature(run.key)
    except BadCheckpoint as exc:
        run.add("tree heads", exc.diagnostics(), tree_head=size)
        return None
    if head.checkpoint.origin != run.log.identity.origin:
        run.add("tree heads", "tree head names another log", tree_head=size)
        return None
    return head


def _check_chain(run: _Run, head: SignedCheckpoint, prev: SignedCheckpoint | None) -> None:
    link = head.checkpoint.prev
    if prev is None:
        first_ok = (run.anchor is not None and head.size == run.anchor.size
                    and head.note_hash() == run.anchor.checkpoint.note_hash())
        if link is not None and not first_ok and not run.heads:
            run.add("tree heads", f"the previous tree head (size {link[0]}) is missing",
                    tree_head=head.size)
        return
    if link is None or link[0] != prev.size or link[1] != prev.note_hash():
        want = link[0] if link else "none"
        run.add("tree heads", f"does not chain to the tree head before it (size {prev.size}); "
                              f"it names size {want}: a tree head was removed or replaced",
                tree_head=head.size)
    if head.time < prev.time:
        run.add("tree heads", "signed earlier than the tree head before it", tree_head=head.size)


# -- 4. segments -------------------------------------------------------------------------
def _step_segments(run: _Run) -> None:
    s = run.log.identity.segment_events
    run.firsts = run.log.paths.segment_firsts()
    expected = run.base
    for first in run.firsts:
        if first < run.base:
            run.notes.append(f"segment {segment_name(first)} lies in the pruned prefix (interrupted prune)")
            continue
        if first % s:
            run.add("segments", "segment file name is not on a segment boundary", segment=segment_name(first))
        elif first != expected:
            run.add("segments", f"segment {segment_name(expected)} is missing (events #{expected}"
                                f" to #{first - 1} are gone)", segment=segment_name(expected))
        expected = first + s
    run.firsts = [f for f in run.firsts if f >= run.base and f % s == 0]
    while len(run.firsts) > 1 and run.log.paths.segment(run.firsts[-1]).stat().st_size == 0:
        run.notes.append(f"segment {segment_name(run.firsts[-1])} is an empty file (a writer died "
                         "before writing to it); the next writer fills it")
        run.firsts.pop()


# -- 5. records (parallel over segments) -------------------------------------------------
@dataclass
class _SegResult:
    first: int
    count: int
    root: bytes | None
    nodes_at: dict[int, list[bytes]]
    first_logged: str
    last_logged: str
    problems: list[tuple]
    notes: list[str]
    altered: list[int]


def _step_records(run: _Run, extra_sizes: list[int], workers: int | None) -> None:
    s = run.log.identity.segment_events
    wanted = sorted(set(run.heads) | set(extra_sizes))
    jobs = []
    covered = max(run.heads) if run.heads else run.base
    for i, first in enumerate(run.firsts):
        offsets = [w - first for w in wanted if first < w <= first + s]
        last = i == len(run.firsts) - 1
        jobs.append((str(run.log.paths.root), first, s, offsets, run.deep, last, covered))
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if workers > 1 and len(jobs) >= 4:
        import pyarrow.parquet  # noqa: F401  (imported once here, inherited by the workers)

        with ProcessPoolExecutor(max_workers=workers) as pool:
            run.results = list(pool.map(_check_segment, jobs, chunksize=1))
    else:
        run.results = [_check_segment(job) for job in jobs]
    prev_logged = ""
    for res in run.results:
        for step, what, seg, index in res.problems:
            run.add(step, what, segment=seg, index=index)
        run.notes += res.notes
        if res.first_logged and res.first_logged < prev_logged:
            run.add("records", "logged earlier than the event before it (records moved)",
                    segment=segment_name(res.first), index=res.first)
        prev_logged = res.last_logged or prev_logged
    last = run.results[-1] if run.results else None
    run.size = last.first + last.count if last else run.base


def _check_segment(job) -> _SegResult:
    root, first, s, offsets, deep, is_last, covered = job
    directory = Path(root)
    name = segment_name(first)
    data = (directory / "segments" / f"{name}.jsonl").read_bytes()
    end = data.rfind(b"\n")
    lines = data[:end].split(b"\n") if end >= 0 else []
    problems, notes = [], []
    if end + 1 < len(data):
        if is_last:
            notes.append(f"segment {name} ends with a torn record (never acknowledged); "
                         "the next writer repairs it")
        else:
            problems.append(("records", "ends with an incomplete record", name, first + len(lines)))
    if len(lines) > s:
        problems.append(("segments", f"holds {len(lines)} records, more than a segment's {s}", name, None))
        lines = lines[:s]
    if not is_last and len(lines) < s:
        problems.append(("segments", f"is sealed but holds {len(lines)} of {s} events (truncated)",
                         name, first + len(lines)))
    first_logged, last_logged = _check_frames(lines, first, name, problems, deep, data)
    sha = hashlib.sha256
    leaves = [sha(b"\x00" + line).digest() for line in lines]
    levels = [leaves]
    while len(levels[-1]) > 1:
        levels.append(level_up(levels[-1][: len(levels[-1]) // 2 * 2]))
    full_root = levels[-1][0] if len(leaves) == s else None
    nodes_at = {o: [levels[lv][ix] for lv, ix in CompactRange.positions(o)] for o in offsets if o <= len(leaves)}
    if first + len(leaves) > covered:  # no signed head covers these: compare append-time hashes
        start = max(covered - first, 0)
        for i in _altered(directory, first, s, leaves, start):
            problems.append(("records", "changed after it was logged (its hash differs from the one "
                             "recorded when it was appended; no signed tree head covers it yet)", name, i))
            break
    _check_index(directory, first, leaves, name, problems)
    if deep and len(leaves) == s:
        _check_index_columns(directory, first, s, name, problems)
    return _SegResult(first, len(lines), full_root, nodes_at, first_logged, last_logged,
                      problems, notes, [])


_TRAILER = re.compile(rb',"i":(\d+),"logged":"([^"\n]{27})","v":1\}\n')


def _frames_fast(data: bytes, lines: list[bytes], first: int) -> tuple[str, str] | None:
    """All frames checked at C speed: one trailer per line (quotes inside JSON strings are
    escaped, so a trailer cannot hide in an event), consecutive indexes, ordered times,
    every line opening with the record head. None when anything is off (then the slow
    path finds and names it)."""
    found = _TRAILER.findall(data, 0, data.rfind(b"\n") + 1)
    if len(found) != len(lines) or not lines:
        return None
    if [int(i) for i, _ in found] != list(range(first, first + len(lines))):
        return None
    logged = [t for _, t in found]
    if logged != sorted(logged) or data.count(b'\n{"event":') + data.startswith(b'{"event":') < len(lines):
        return None
    if any(not line.startswith(records.HEAD) for line in lines):
        return None
    return logged[0].decode("ascii", "replace"), logged[-1].decode("ascii", "replace")


def _check_frames(lines, first, name, problems, deep, data: bytes = b"") -> tuple[str, str]:
    if not deep and data:
        fast = _frames_fast(data, lines, first)
        if fast is not None:
            return fast
    prev, first_logged, reported = "", "", 0
    frame_ok, logged_of = records.frame_ok, records.logged_of
    for offset, line in enumerate(lines):
        index = first + offset
        logged = logged_of(line).decode("ascii", "replace")
        if frame_ok(line, index) and logged >= prev and not deep:
            prev = logged
            continue
        what = _frame_problem(line, index, offset, prev, deep)
        if what:
            reported += 1
            if reported <= 20:
                problems.append(("records", what, name, index))
            continue
        prev = logged
    first_logged = records.logged_of(lines[0]).decode("ascii", "replace") if lines else ""
    return first_logged, prev


def _frame_problem(line: bytes, index: int, offset: int, prev: str, deep: bool) -> str | None:
    fr = records.frame(line)
    if fr is None:
        return f"line {offset + 1} is not a complete record"
    if fr.index != index:
        return (f"line {offset + 1} holds event #{fr.index} where event #{index} belongs "
                "(an event was deleted, duplicated or moved)")
    if fr.logged < prev:
        return f"line {offset + 1} was logged earlier than the event before it (records moved)"
    return _deep_problem(line, fr) if deep else None


def _deep_problem(line: bytes, fr) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return "is not valid JSON"
    if canonical.dumps(value) != line:
        return "is not in canonical (RFC 8785) form"
    try:
        event = AuditEvent.from_dict(value.get("event") or {})
    except InvalidEvent as exc:
        return f"does not hold a valid event ({exc.diagnostics()})"
    if event.canonical_json().encode() != line[fr.event_start:fr.event_end]:
        return "event is not in canonical form"
    return None


def _altered(directory: Path, first: int, s: int, leaves: list[bytes], start: int = 0) -> list[int]:
    """Indexes (from leaf `start` of the segment on) whose recomputed hash differs from the
    one stored in the node file when they were appended."""
    from audit.treefile import TreeFile

    path = directory / "segments" / f"{segment_name(first)}.tree"
    if not path.exists() or len(leaves) <= start:
        return []
    with TreeFile(path, s, writable=False) as tree:
        stored = tree.leaves(len(leaves))
    zero = bytes(32)  # never written (sparse) or lost in a crash: not evidence of change
    stored += [zero] * (len(leaves) - len(stored))
    return [first + i for i in range(start, len(leaves))
            if leaves[i] != stored[i] and stored[i] != zero][:20]


def _altered_in(run: "_Run", res: "_SegResult") -> list[int]:
    """Second pass, only for a segment whose root did not match: which event changed."""
    s = run.log.identity.segment_events
    data = run.log.paths.segment(res.first).read_bytes()
    lines = data[:data.rfind(b"\n")].split(b"\n") if b"\n" in data else []
    return _altered(run.log.paths.root, res.first, s, [hash_leaf(x) for x in lines[:s]])


def _check_index(directory: Path, first: int, leaves: list[bytes], name: str, problems) -> None:
    from audit.index import index_file_for

    path = index_file_for(directory / "index", first)
    if path is None:
        return
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=["idx", "leaf_hash"]).sort_by("idx")
        if _index_matches(table, first, leaves):
            return
    except Exception:  # noqa: BLE001 - any unreadable index file is one problem
        problems.append(("index", f"index file {path.name} cannot be read", name, None))
        return
    idx, got = table.column("idx").to_pylist(), table.column("leaf_hash").to_pylist()
    by_idx = dict(zip(idx, got))
    for i, leaf in enumerate(leaves):
        if by_idx.get(first + i) != leaf:
            problems.append(("index", f"index file {path.name} does not match the log "
                                      "(rebuild it with `aod audit reindex`)", name, first + i))
            return
    problems.append(("index", f"index file {path.name} holds {len(idx)} rows for "
                              f"{len(leaves)} events", name, None))


def _check_index_columns(directory: Path, first: int, s: int, name: str, problems) -> None:
    """Deep: rebuild the segment's index rows from its records and compare every column."""
    from audit.index import COLUMNS, connect, index_file_for, materialize, quote
    from audit.layout import Paths

    path = index_file_for(directory / "index", first)
    if path is None:
        return
    con = connect()
    try:
        materialize(con, "fresh", Paths(directory).segment(first), 0, s)
        cols = ", ".join(COLUMNS)
        diff = con.execute(f"SELECT min(idx) FROM (SELECT {cols} FROM read_parquet({quote(str(path))}) "
                           f"EXCEPT SELECT {cols} FROM fresh)").fetchall()[0][0]
    finally:
        con.close()
    if diff is not None:
        problems.append(("index", f"index file {path.name} does not match the records "
                                  "(rebuild it with `aod audit reindex`)", name, diff))


def _index_matches(table, first: int, leaves: list[bytes]) -> bool:
    """Fast path: compare the sorted idx column and the leaf hashes' raw buffer at once."""
    import pyarrow.compute as pc

    n = len(leaves)
    if table.num_rows != n or n == 0:
        return n == 0 and table.num_rows == 0
    idx = table.column("idx").combine_chunks()
    if idx[0].as_py() != first or idx[n - 1].as_py() != first + n - 1 or len(pc.unique(idx)) != n:
        return False
    hashes = table.column("leaf_hash").combine_chunks()
    offsets = hashes.buffers()[1]
    data = hashes.buffers()[2]
    expected = b"".join(leaves)
    start = int.from_bytes(offsets.to_pybytes()[:4], "little", signed=True) if hashes.offset == 0 else -1
    return start == 0 and data.to_pybytes()[:len(expected)] == expected and \
        pc.all(pc.equal(pc.binary_length(hashes), 32)).as_py()


# -- 6. roots ----------------------------------------------------------------------------
def _step_roots(run: _Run) -> None:
    s = run.log.identity.segment_events
    bits = run.log.identity.segment_bits
    stack = _anchor_stack(run, bits)
    verified_upto = run.base
    for res in run.results:
        for offset, nodes in sorted(res.nodes_at.items()):
            size = res.first + offset
            root = _fold([h for _, h in stack] + nodes)
            run.computed[size] = root
            head = run.heads.get(size)
            if head is None:
                continue
            if head.root == root:
                verified_upto = size
            else:
                _root_mismatch(run, res, size, verified_upto)
        if res.root is not None:
            _push(stack, bits, res.root)
        elif res.count != s:
            break
    for size, head in run.heads.items():
        if size > run.size:
            run.add("roots", f"covers {size} events but the log holds {run.size}: events were "
                             "removed from the end", tree_head=size)


def _root_mismatch(run: _Run, res: _SegResult, size: int, good_upto: int) -> None:
    altered = []
    for r in run.results:
        if r.first + r.count > good_upto and r.first < size and not altered:
            altered = [i for i in _altered_in(run, r) if good_upto <= i < size]
    if altered:
        i = altered[0]
        run.add("roots", f"event #{i} was changed after it was logged (its hash differs from the "
                         f"one recorded when it was appended); the signed tree head at size "
                         f"{size} does not match", segment=segment_name(i - i % run.log.identity.segment_events),
                index=i, tree_head=size)
    else:
        run.add("roots", f"the events between #{good_upto} and #{size - 1} do not give the signed "
                         "root: they were altered, replaced or reordered", tree_head=size)


def _anchor_stack(run: _Run, bits: int) -> list[tuple[int, bytes]]:
    stack: list[tuple[int, bytes]] = []
    if run.anchor is not None:
        for root in run.anchor.segment_roots:
            _push(stack, bits, root)
    return stack


def _push(stack: list[tuple[int, bytes]], level: int, node: bytes) -> None:
    while stack and stack[-1][0] == level:
        node = hash_children(stack.pop()[1], node)
        level += 1
    stack.append((level, node))


def _fold(nodes: list[bytes]) -> bytes:
    if not nodes:
        return EMPTY_ROOT
    node = nodes[-1]
    for left in reversed(nodes[:-1]):
        node = hash_children(left, node)
    return node


# -- 7. rules ----------------------------------------------------------------------------
def _step_rules(run: _Run) -> None:
    ident, s = run.log.identity, run.log.identity.segment_events
    boundaries = [b for b in range(run.base + s, run.size + 1, s)]
    later = max(run.heads) if run.heads else run.base
    for b in boundaries:
        if b not in run.heads:
            if b == boundaries[-1] and later < b:
                run.notes.append(f"no tree head yet at segment boundary {b} (writer interrupted; "
                                 "the next writer signs it)")
            else:
                run.add("rules", "no signed tree head at this segment boundary (removed)",
                        segment=segment_name(b - s), tree_head=b)
    newest = max((r.last_logged for r in run.results if r.last_logged), default="")
    now = run.log.clock()
    if newest and parse_time(newest) > now + FUTURE_SLACK:
        run.add("rules", "events are logged in the future (the log's clock was moved forward, "
                         "which would let it prune early)", index=run.size - 1)
    for size, head in run.heads.items():
        if head.time > now + FUTURE_SLACK:
            run.add("rules", "signed in the future (the log's clock was moved forward)", tree_head=size)
            break
    limit = run.log.settings.checkpoint_every_events + ident.max_batch
    if 0 < run.size - later <= limit:
        run.notes.append(f"{run.size - later} newest event(s) are not under a signed tree head yet "
                         "(one is signed every N events or T seconds; `aod audit checkpoint` signs now)")
    if run.size - later > limit:
        run.add("rules", f"{run.size - later} events follow the last signed tree head (at most "
                         f"{limit} expected): a tree head was removed or the writer stopped "
                         "before signing", tree_head=later)


# -- 8. trusted heads --------------------------------------------------------------------
def _step_trusted(run: _Run, trusted: list[SignedCheckpoint]) -> None:
    for head in trusted:
        if not head.signature_ok(run.key):
            run.add("trusted heads", "a tree head you kept is not signed by the trusted key",
                    tree_head=head.size)
        elif head.size > run.size:
            run.add("trusted heads", f"you hold a tree head for {head.size} events but the log "
                                     f"has {run.size}: events were removed", tree_head=head.size)
        elif head.size < run.base:
            run.notes.append(f"trusted tree head {head.size} lies in the pruned prefix")
        elif run.computed.get(head.size) != head.root:
            run.add("trusted heads", "the log no longer matches a tree head you kept: it was "
                                     "rewritten", tree_head=head.size)


# -- 9. retention ------------------------------------------------------------------------
def _step_retention(run: _Run) -> None:
    a = run.anchor
    if a is None:
        return
    if a.prune_event is None or not run.base <= a.prune_event < run.size:
        run.add("retention", "the pruned prefix has no audit.prune event in the log", tree_head=a.size)
        return
    try:
        entry = run.log.entry(a.prune_event)
        event = entry.event
    except Exception:  # noqa: BLE001 - any unreadable prune event is the problem reported
        run.add("retention", "the audit.prune event cannot be read", index=a.prune_event)
        return
    if event.action.value != "audit.prune" or event.details.get("pruned_upto") != a.size:
        run.add("retention", "the event named by the anchor is not the prune that made it",
                index=a.prune_event)
        return
    days = max(int(event.details.get("retention_days", 0) or 0), RETENTION_FLOOR_DAYS)
    if entry.logged - a.checkpoint.time < timedelta(days=days):
        run.add("retention", f"events were pruned before the {days}-day retention had passed",
                index=a.prune_event, tree_head=a.size)
