"""Build a new log in one pass from already-encoded events (benchmarks, test fixtures,
migrations). The result is byte-for-byte what `AuditLog.append` would have written:
same records, node files, segment roots, signed tree heads (one per segment boundary and
every N events) and Parquet index, and it verifies like any other log.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Iterable

from audit import records
from audit.checkpoint import Checkpoint, Signer
from audit.errors import AuditError
from audit.events import format_time, parse_time
from audit.index import build_segment
from audit.layout import Identity, Paths, Settings, write_atomic
from audit.merkle import CompactRange, hash_leaf
from audit.checkpoint import public_pem
from audit.treefile import TreeFile


def bulk_build(directory: Path, signer: Signer, bodies: Iterable[tuple[str, datetime]], *,
               segment_events: int = 1 << 14, checkpoint_every: int = 1000,
               index: bool = True, workers: int = 2) -> int:
    """Write a fresh log at `directory` from (canonical event JSON, logged time) pairs in
    order (times non-decreasing). Returns the number of events."""
    paths, writer = _start(directory, signer, segment_events, checkpoint_every)
    for body, logged in bodies:
        writer.add(body, logged)
    return _finish(paths, writer, index, workers)


def bulk_build_parallel(directory: Path, signer: Signer, segment_source, total: int, *,
                        segment_events: int = 1 << 14, checkpoint_every: int = 1000,
                        index: bool = True, workers: int = 2) -> int:
    """Like `bulk_build`, with segments encoded and hashed in `workers` processes.
    `segment_source(first, count)` must return that range's (json, logged) pairs (picklable,
    deterministic, times non-decreasing across segments)."""
    paths, writer = _start(directory, signer, segment_events, checkpoint_every)
    firsts = list(range(0, total, segment_events))
    counts = [min(segment_events, total - f) for f in firsts]
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        jobs = pool.map(_encode_segment, [segment_source] * len(firsts), firsts, counts, chunksize=1)
        for first, (data, leaves, last_logged) in zip(firsts, jobs):
            writer.add_segment(first, data, leaves, last_logged)
    return _finish(paths, writer, index, workers)


def _encode_segment(source, first: int, count: int) -> tuple[bytes, list[bytes], str]:
    lines, last = [], ""
    for i, (body, logged) in enumerate(source(first, count)):
        stamp = format_time(logged)
        if stamp < last:
            raise AuditError("bulk events must come in non-decreasing logged time")
        last = stamp
        lines.append(records.encode(body, first + i, stamp))
    return b"".join(lines), [hash_leaf(line[:-1]) for line in lines], last


def _start(directory: Path, signer: Signer, segment_events: int, checkpoint_every: int):
    paths = Paths(Path(directory))
    if paths.identity.exists():
        raise AuditError(f"{directory} already holds a log")
    for d in (paths.root, paths.segments, paths.checkpoints, paths.index):
        d.mkdir(parents=True, exist_ok=True)
    ident = Identity(origin=signer.name, segment_events=segment_events)
    write_atomic(paths.public_key, public_pem(signer.public_key))
    Settings(checkpoint_every_events=min(checkpoint_every, 1_000_000)).save(paths.settings)
    return paths, _Writer(paths, ident, signer, checkpoint_every)


def _finish(paths: Paths, writer: "_Writer", index: bool, workers: int) -> int:
    writer.finish()
    writer.ident.save(paths.identity)
    s = writer.ident.segment_events
    if index:
        sealed = [f for f in paths.segment_firsts() if f + s <= writer.cr.size]
        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(build_segment, [paths] * len(sealed), sealed, [s] * len(sealed)))
    return writer.cr.size


class _Writer:
    def __init__(self, paths: Paths, ident: Identity, signer: Signer, every: int):
        self.paths, self.ident, self.signer, self.every = paths, ident, signer, every
        self.cr = CompactRange()
        self.lines: list[bytes] = []
        self.last_logged = ""
        self.head = None  # (size, note hash, time)
        self.roots = open(paths.roots, "wb")

    def add(self, body: str, logged: datetime) -> None:
        stamp = format_time(logged)
        if stamp < self.last_logged:
            raise AuditError("bulk events must come in non-decreasing logged time")
        self.last_logged = stamp
        self.lines.append(records.encode(body, self.cr.size + len(self.lines), stamp))
        if len(self.lines) == self.ident.segment_events:
            self._flush_segment()

    def _flush_segment(self) -> None:
        if not self.lines:
            return
        leaves = [hash_leaf(line[:-1]) for line in self.lines]
        self.add_segment(self.cr.size, b"".join(self.lines), leaves, self.last_logged)
        self.lines = []

    def add_segment(self, first: int, data: bytes, leaves: list[bytes], last_logged: str) -> None:
        """Store one encoded segment (all of it, or the last, partial one)."""
        s = self.ident.segment_events
        if first != self.cr.size or last_logged < self.last_logged:
            raise AuditError("bulk segments must come in order")
        self.last_logged = last_logged
        with open(self.paths.segment(first), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with TreeFile(self.paths.tree(first), s, writable=True) as tree:
            # checkpoints every N events inside the segment, at their exact sizes
            pos = 0
            for cut in self._cuts(first, len(leaves)):
                self._extend(tree, first, leaves[pos:cut - first])
                pos = cut - first
                self._sign(cut)
            self._extend(tree, first, leaves[pos:])
            if len(leaves) == s:
                self.roots.write(tree.root())

    def _cuts(self, first: int, count: int) -> list[int]:
        last = self.head[0] if self.head else 0
        cuts, nxt = [], last + self.every
        while nxt <= first + count:
            cuts.append(nxt)
            nxt += self.every
        end = first + count
        if count == self.ident.segment_events and (not cuts or cuts[-1] != end):
            cuts.append(end)
        return cuts

    def _extend(self, tree: TreeFile, first: int, leaves: list[bytes]) -> None:
        for level, start, nodes in self.cr.extend_run(leaves):
            if level <= self.ident.segment_bits:
                tree.put_run(level, start - (first >> level), b"".join(nodes))

    def _sign(self, size: int) -> None:
        when = parse_time(self.last_logged)
        prev = (self.head[0], self.head[1]) if self.head else None
        signed = Checkpoint(self.signer.name, size, self.cr.root(), when, prev).sign(self.signer)
        (self.paths.checkpoints / f"{size:012d}.ckpt").write_text(signed.to_text())
        self.paths.write_latest_hint(size)
        self.head = (size, signed.note_hash(), when)

    def finish(self) -> None:
        self._flush_segment()
        if self.cr.size and (self.head is None or self.head[0] != self.cr.size):
            self._sign(self.cr.size)
        self.roots.close()
