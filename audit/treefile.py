"""A segment's Merkle nodes on disk: a flat file of 32-byte hashes, level by level.

For a segment of S = 2^k leaves, level h holds S >> h nodes; the file is (2S - 1) * 32 bytes,
created sparse. Writers store each node as they complete it (before the records are written),
so every complete subtree of the segment can be read back in one `pread`, which is what keeps
inclusion proofs in the millisecond range on big logs. The file is derived data: it is not
fsynced, and the writer checks it against the signed tree head when it opens the log (and
rebuilds it from the records when it does not match).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from audit.merkle import HASH_SIZE, level_up

ZERO = bytes(HASH_SIZE)


class TreeFile:
    def __init__(self, path: Path, segment_events: int, *, writable: bool):
        self.path = Path(path)
        self.s = segment_events
        self.bits = segment_events.bit_length() - 1
        self.size = (2 * segment_events - 1) * HASH_SIZE
        self._base = [2 * self.s - ((2 * self.s) >> h) for h in range(self.bits + 1)]
        flags = os.O_RDWR | os.O_CREAT if writable else os.O_RDONLY
        self._fd = os.open(self.path, flags, 0o644)
        self._mm = None
        if writable:
            if os.fstat(self._fd).st_size != self.size:
                os.ftruncate(self._fd, self.size)
            self._mm = mmap.mmap(self._fd, self.size)
        elif os.fstat(self._fd).st_size == self.size:  # readers: page-cache reads, no syscalls
            self._mm = mmap.mmap(self._fd, self.size, prot=mmap.PROT_READ)

    def offset(self, level: int, index: int) -> int:
        return (self._base[level] + index) * HASH_SIZE

    def put(self, level: int, index: int, node: bytes) -> None:
        at = self.offset(level, index)
        self._mm[at:at + HASH_SIZE] = node

    def put_run(self, level: int, index: int, nodes: bytes) -> None:
        at = self.offset(level, index)
        self._mm[at:at + len(nodes)] = nodes

    def get(self, level: int, index: int) -> bytes:
        at = self.offset(level, index)
        if self._mm is not None:
            return bytes(self._mm[at:at + HASH_SIZE])
        return os.pread(self._fd, HASH_SIZE, at)

    def leaves(self, count: int) -> list[bytes]:
        data = bytes(self._mm[:count * HASH_SIZE]) if self._mm is not None else os.pread(self._fd, count * HASH_SIZE, 0)
        return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]

    def root(self) -> bytes:
        return self.get(self.bits, 0)

    def fill_perfect(self, leaf_hashes: list[bytes]) -> bytes:
        """Write all levels of a full segment from its leaf hashes; returns the root."""
        level, h = list(leaf_hashes), 0
        while True:
            self.put_run(h, 0, b"".join(level))
            if len(level) == 1:
                return level[0]
            level = level_up(level)
            h += 1

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
