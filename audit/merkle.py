"""Pure RFC 6962 / RFC 9162 Merkle tree maths (no I/O).

leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right). Proof generation works
over any `node(level, index)` source of perfect-subtree hashes, so the store can serve proofs
from its node files without loading the tree. Verification follows RFC 9162 §2.1.3.2 and
§2.1.4.2 step by step.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
NodeFn = Callable[[int, int], bytes]  # (level, index) -> hash of leaves [index<<level, (index+1)<<level)

_sha = hashlib.sha256


def hash_leaf(data: bytes) -> bytes:
    return _sha(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


# -- building ---------------------------------------------------------------------------
class CompactRange:
    """The perfect-subtree roots covering leaves [0, size): enough to append and to compute
    the root. `append` returns the nodes it completed, as (level, index, hash)."""

    __slots__ = ("size", "nodes")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()):
        if len(nodes) != bin(size).count("1"):
            raise ValueError("a compact range of size n has popcount(n) nodes")
        self.size = size
        self.nodes = list(nodes)  # left to right, largest subtree first

    def copy(self) -> "CompactRange":
        return CompactRange(self.size, self.nodes)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        made = [(0, self.size, leaf_hash)]
        node, index, level = leaf_hash, self.size, 0
        while index & 1:
            node = hash_children(self.nodes.pop(), node)
            index >>= 1
            level += 1
            made.append((level, index, node))
        self.nodes.append(node)
        self.size += 1
        return made

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf in leaf_hashes:
            self.append(leaf)

    def extend_run(self, leaves: Sequence[bytes]) -> list[tuple[int, int, list[bytes]]]:
        """Append many leaves at once, level by level (much faster than `append` in a loop).
        Returns the completed nodes as runs: (level, first index, hashes)."""
        if not leaves:
            return []
        old = dict(zip((lv for lv, _ in self.positions(self.size)), self.nodes))
        runs = [(0, self.size, list(leaves))]
        level, start, cur = 0, self.size, list(leaves)
        while True:
            if start & 1:
                cur, start = [old[level]] + cur, start - 1
            parents = level_up(cur[: len(cur) // 2 * 2])
            if not parents:
                break
            level, start, cur = level + 1, start // 2, parents
            runs.append((level, start, parents))
        self.size += len(leaves)
        made = {lv: (st, hs) for lv, st, hs in runs}
        nodes = []
        for lv, index in self.positions(self.size):
            st, hs = made.get(lv, (None, ()))
            nodes.append(hs[index - st] if st is not None and st <= index < st + len(hs) else old[lv])
        self.nodes = nodes
        return runs

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        node = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            node = hash_children(left, node)
        return node

    @staticmethod
    def positions(size: int) -> list[tuple[int, int]]:
        """(level, index) of the nodes of a compact range of `size`, left to right."""
        out, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                out.append((level, start >> level))
                start += 1 << level
        return out

    @classmethod
    def from_source(cls, size: int, node: NodeFn) -> "CompactRange":
        return cls(size, [node(level, index) for level, index in cls.positions(size)])


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    cr = CompactRange()
    cr.extend(leaf_hashes)
    return cr.root()


def level_up(hashes: Sequence[bytes]) -> list[bytes]:
    """One level of a perfect tree: pairs hashed (len(hashes) must be even)."""
    return [_sha(b"\x01" + a + b).digest() for a, b in zip(hashes[::2], hashes[1::2])]


def perfect_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect tree (power-of-two number of leaves), level by level (fast)."""
    level = list(leaf_hashes)
    while len(level) > 1:
        level = level_up(level)
    return level[0]


# -- proofs -----------------------------------------------------------------------------
def range_hash(start: int, end: int, node: NodeFn) -> bytes:
    """MTH of leaves [start, end) where start is a multiple of the largest power of two
    below end - start (true for every range RFC 6962 proofs use)."""
    n = end - start
    if is_power_of_two(n) and start % n == 0:
        level = n.bit_length() - 1
        return node(level, start >> level)
    k = largest_power_of_two_below(n)
    return hash_children(range_hash(start, start + k, node), range_hash(start + k, end, node))


def inclusion_proof(index: int, size: int, node: NodeFn) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    path: list[bytes] = []
    start, n, m = 0, size, index
    while n > 1:
        k = largest_power_of_two_below(n)
        if m < k:
            path.append(range_hash(start + k, start + n, node))
            n = k
        else:
            path.append(range_hash(start, start + k, node))
            start, n, m = start + k, n - k, m - k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, node: NodeFn) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 6962 §2.1.2."""
    if not 0 <= old_size <= new_size:
        raise ValueError("sizes must satisfy 0 <= old <= new")
    if old_size in (0, new_size):
        return []
    out: list[bytes] = []
    start, n, m, complete = 0, new_size, old_size, True
    while m != n:
        k = largest_power_of_two_below(n)
        if m <= k:
            out.append(range_hash(start + k, start + n, node))
            n = k
        else:
            out.append(range_hash(start, start + k, node))
            start, n, m, complete = start + k, n - k, m - k, False
    if not complete:
        out.append(range_hash(start, start + n, node))
    out.reverse()
    return out


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root the proof leads to, or None when it is malformed."""
    if not 0 <= index < size or len(leaf_hash) != HASH_SIZE:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    return root_from_inclusion(leaf_hash, index, size, proof) == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if not 0 <= old_size <= new_size or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if is_power_of_two(old_size):
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
