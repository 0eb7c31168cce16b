"""Inclusion and consistency proofs served from the stored node files.

Nodes at or above a segment's root come from `segments/ROOTS`; nodes inside a segment come
from its `.tree` file, one `pread` each. Every proof is checked before it is returned, and
carries what a regulator needs to check it alone: the record, the signed tree head(s), the
path. `verify(public_key)` on a proof needs nothing else.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit import merkle
from audit.checkpoint import BadCheckpoint, SignedCheckpoint
from audit.errors import AuditCorrupted, ProofError
from audit.merkle import HASH_SIZE, hash_leaf, perfect_root
from audit.treefile import TreeFile

if TYPE_CHECKING:
    from audit.log import AuditLog


class NodeSource:
    """`node(level, index)` for a stored log (perfect subtrees only)."""

    def __init__(self, log: "AuditLog"):
        self.paths = log.paths
        self.s = log.identity.segment_events
        self.bits = log.identity.segment_bits
        self._roots: bytes | None = None
        self._trees: dict[int, TreeFile] = {}
        self._high: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        if level >= self.bits:
            key = (level, index)
            if key not in self._high:
                span = 1 << (level - self.bits)
                self._high[key] = perfect_root(self._segment_roots(index * span, span))
            return self._high[key]
        first = (index << level) - (index << level) % self.s
        return self._tree(first).get(level, index - (first >> level))

    def _segment_roots(self, start: int, count: int) -> list[bytes]:
        if self._roots is None:
            try:
                with open(self.paths.roots, "rb") as fh:
                    self._roots = fh.read()
            except FileNotFoundError:
                self._roots = b""
        data = self._roots[start * HASH_SIZE:(start + count) * HASH_SIZE]
        if len(data) != count * HASH_SIZE:
            raise ProofError("segment roots are missing for this range (run `aod audit verify`)")
        return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]

    def _tree(self, first: int) -> TreeFile:
        if first not in self._trees:
            path = self.paths.tree(first)
            if not path.exists():
                raise ProofError(f"leaves from {first} on were pruned or their nodes are missing")
            self._trees[first] = TreeFile(path, self.s, writable=False)
        return self._trees[first]

    def close(self) -> None:
        for tree in self._trees.values():
            tree.close()
        self._trees.clear()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class InclusionProof:
    """Event #index is leaf `index` of the tree whose signed head is `checkpoint`."""

    index: int
    record: bytes                    # the stored line; leaf hash = SHA-256(0x00 || record)
    path: tuple[bytes, ...]
    checkpoint: SignedCheckpoint

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def leaf_hash(self) -> bytes:
        return hash_leaf(self.record)

    def verify(self, public_key) -> None:
        """Raise ProofError unless the signature, the record and the path all check out."""
        try:
            self.checkpoint.check_signature(public_key)
        except BadCheckpoint as exc:
            raise ProofError(exc.diagnostics()) from None
        if not merkle.verify_inclusion(self.leaf_hash, self.index, self.size, self.path,
                                       self.checkpoint.root):
            raise ProofError(f"event #{self.index} is not proven to be in the tree of size {self.size}")

    def to_json(self) -> dict:
        return {"index": self.index, "tree_size": self.size, "leaf_hash": self.leaf_hash.hex(),
                "record": self.record.decode("utf-8"), "path": [_b64(p) for p in self.path],
                "checkpoint": self.checkpoint.to_text()}

    @classmethod
    def from_json(cls, data: dict) -> "InclusionProof":
        try:
            return cls(int(data["index"]), data["record"].encode("utf-8"),
                       tuple(base64.b64decode(p, validate=True) for p in data["path"]),
                       SignedCheckpoint.from_text(data["checkpoint"]))
        except (KeyError, TypeError, ValueError, BadCheckpoint):
            raise ProofError("not an inclusion proof") from None


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of `new` extends the tree of size `old_size` (root `old_root`) append-only."""

    old_size: int
    old_root: bytes
    path: tuple[bytes, ...]
    new: SignedCheckpoint
    old: SignedCheckpoint | None = None  # the signed head at old_size, when the log has one

    def verify(self, public_key, old_root: bytes | None = None) -> None:
        """Check against the signed new head and an old root you trust (default: the one in
        the proof, itself checked against the signed old head when there is one)."""
        try:
            self.new.check_signature(public_key)
            if self.old is not None:
                self.old.check_signature(public_key)
        except BadCheckpoint as exc:
            raise ProofError(exc.diagnostics()) from None
        root = old_root if old_root is not None else self.old_root
        if self.old is not None and (self.old.size != self.old_size or self.old.root != root):
            raise ProofError("the old tree head does not match the proof's old root")
        if not merkle.verify_consistency(self.old_size, self.new.size, root, self.new.root, self.path):
            raise ProofError(f"the tree of size {self.new.size} is not an append-only extension "
                             f"of the tree of size {self.old_size}")

    def to_json(self) -> dict:
        return {"old_size": self.old_size, "old_root": _b64(self.old_root),
                "new_size": self.new.size, "new_root": _b64(self.new.root),
                "path": [_b64(p) for p in self.path], "new_checkpoint": self.new.to_text(),
                "old_checkpoint": self.old.to_text() if self.old else None}


def _covering_checkpoint(log: "AuditLog", index: int, size: int | None) -> SignedCheckpoint:
    if size is not None:
        return log.checkpoint_at(size)
    latest = log.latest_checkpoint()
    if (latest is None or latest.size <= index) and log.writable and index < log.size():
        latest = log.checkpoint()
    if latest is None or latest.size <= index:
        size = log.size()
        if index >= size:
            raise ProofError(f"event #{index} is not in the log (it holds {size} events)")
        raise ProofError(f"event #{index} is not covered by a signed tree head yet")
    return latest


def resolve_index(log: "AuditLog", event: int | str) -> int:
    if isinstance(event, int) or (isinstance(event, str) and event.isdigit()):
        return int(event)
    from audit.query import locate_event_id

    found = locate_event_id(log, str(event))
    if found is None:
        raise ProofError("no event with that event id is in the log")
    return found


def prove_inclusion(log: "AuditLog", event: int | str, tree_size: int | None = None) -> InclusionProof:
    index = resolve_index(log, event)
    if index < 0:
        raise ProofError("an event index is a whole number from 0")
    if index < log.first_index():
        raise ProofError(f"event #{index} was pruned (the log keeps events from #{log.first_index()})")
    cp = _covering_checkpoint(log, index, tree_size)
    if index >= cp.size:
        raise ProofError(f"event #{index} is beyond the tree head at size {cp.size}")
    record = log.entry_line(index)
    source = NodeSource(log)
    try:
        path = tuple(merkle.inclusion_proof(index, cp.size, source.node))
    finally:
        source.close()
    proof = InclusionProof(index, record, path, cp)
    try:
        proof.verify(log.public_key)
    except ProofError:
        raise AuditCorrupted(f"the stored nodes do not prove event #{index} against the tree head "
                             f"at size {cp.size}; run `aod audit verify`") from None
    return proof


def prove_consistency(log: "AuditLog", old_size: int, new_size: int | None = None) -> ConsistencyProof:
    new = log.checkpoint_at(new_size) if new_size is not None else log.latest_checkpoint()
    if new is None:
        raise ProofError("the log has no signed tree head yet")
    if not 0 <= old_size <= new.size:
        raise ProofError(f"old size {old_size} must be between 0 and {new.size}")
    old = log.checkpoint_at(old_size) if os.path.exists(log.paths.checkpoint(old_size)) else None
    source = NodeSource(log)
    try:
        old_root = merkle.range_hash(0, old_size, source.node) if old_size else merkle.EMPTY_ROOT
        path = tuple(merkle.consistency_proof(old_size, new.size, source.node))
    finally:
        source.close()
    proof = ConsistencyProof(old_size, old.root if old else old_root, path, new, old)
    try:
        proof.verify(log.public_key)
    except ProofError:
        raise AuditCorrupted(f"the stored nodes do not prove size {old_size} -> {new.size}; "
                             "run `aod audit verify`") from None
    return proof
