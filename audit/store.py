"""The appender: durable, group-committed appends to the segment files, shared safely by
threads and processes, plus the signed tree heads.

One commit goes through three phases:

1. **write** (under the write lock): catch up with what other processes appended (hashing
   their records), repair a torn last record left by a dead writer, assign leaf indexes,
   store the new Merkle nodes, then write the records with one `pwrite` per segment;
2. **sync** (under the sync lock): if the shared durable mark is already past this batch,
   another appender's fsync covered it and nothing is done; otherwise one `fdatasync` covers
   every record written so far, by any thread or process, and the mark moves;
3. **checkpoint** (rarely, under both locks): sign and store tree heads that are due: one at
   every segment boundary, one every N events or T seconds.

Within a process, threads queue their events and one leader writes the whole queue as a
batch, so concurrent callers share one write and one fsync; the next leader may write while
the previous batch is still being synced. An append returns only when its records are on disk.
"""

from __future__ import annotations

import os
import threading
import time as _time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from audit import records
from audit.checkpoint import BadCheckpoint, Checkpoint, Signer, SignedCheckpoint
from audit.errors import AuditCorrupted
from audit.events import format_time, parse_time
from audit.layout import Identity, Paths, Settings, fsync_dir, write_atomic
from audit.locks import DurableMark, FileLock
from audit.merkle import EMPTY_ROOT, HASH_SIZE, CompactRange, hash_leaf, perfect_root
from audit.treefile import TreeFile


@dataclass(frozen=True)
class Receipt:
    """Proof of a durable append: the leaf index, its Merkle leaf hash and the log's time."""

    index: int
    leaf_hash: bytes
    time: datetime


class _Request:
    """One caller's events. The caller sleeps on its own lock until the request is done or
    it is asked to lead, so finishing a batch wakes exactly the threads it served."""

    __slots__ = ("bodies", "receipts", "error", "done", "_wake")

    def __init__(self, bodies: list[str]):
        self.bodies = bodies
        self.receipts: list[Receipt] = []
        self.error: BaseException | None = None
        self.done = False
        self._wake = threading.Lock()
        self._wake.acquire()

    def sleep(self) -> None:
        self._wake.acquire()

    def wake(self) -> None:
        self._wake.release()


@dataclass
class _Segment:
    first: int
    fd: int
    length: int          # bytes of complete records known
    tree: TreeFile

    def close(self) -> None:
        self.tree.close()
        if self.fd >= 0:
            os.close(self.fd)


@dataclass
class _State:
    """What a process knows about the log; valid only while it holds the write lock."""

    size: int
    cr: CompactRange
    base: int                                  # first leaf still stored (after pruning)
    seg: _Segment | None = None
    last_logged: str = ""
    ck_size: int = 0
    ck_hash: bytes | None = None
    ck_time: datetime | None = None
    ck_seen: tuple = ()                        # checkpoints dir (mtime, size) when last read
    pending: dict[int, bytes] = field(default_factory=dict)  # boundary size -> root
    repairs: list[dict] = field(default_factory=list)


class Appender:
    def __init__(self, paths: Paths, identity: Identity, signer: Signer,
                 clock: Callable[[], datetime], settings: Callable[[], Settings]):
        self.paths = paths
        self.ident = identity
        self.signer = signer
        self.clock = clock
        self.settings = settings
        self.s = identity.segment_events
        self.bits = identity.segment_bits
        self._w = FileLock(paths.lock("write"))
        self._sync = FileLock(paths.lock("sync"))
        self._mark = DurableMark(paths.root / "durable")
        self._mu = threading.Lock()
        self._queue: list[_Request] = []
        self._leading = False
        self._state: _State | None = None
        self._hint_due = True
        self._ck_guard = threading.Lock()
        self._pid = os.getpid()
        self.on_repair: Callable[[list[dict]], None] | None = None

    # -- public -------------------------------------------------------------------------
    def commit(self, bodies: list[str]) -> list[Receipt]:
        """Append canonical event JSON texts; returns their receipts once durable."""
        self._check_fork()
        req = _Request(list(bodies))
        with self._mu:
            self._queue.append(req)
            lead = not self._leading
            self._leading = True
        if not lead:
            req.sleep()  # woken when done, or when the previous leader hands over
        if not req.done:
            self._lead()
        if req.error is not None:
            raise req.error
        self._after_commit()
        return req.receipts

    def size(self) -> int:
        with self._w:
            return self._current().size

    def sync(self) -> int:
        """Make everything appended so far durable; returns the durable size."""
        with self._w:
            size = self._current().size
        self._make_durable(size)
        return size

    def checkpoint(self, force: bool = True) -> SignedCheckpoint | None:
        """Write the tree heads that are due (and one at the current size when `force`)."""
        return self._checkpoint_phase(force)

    def close(self) -> None:
        with self._w:
            self._drop_state()
        self._w.close()
        self._sync.close()

    # -- group commit -------------------------------------------------------------------
    def _lead(self) -> None:
        """Write the queued requests as one batch, hand the lead to the next queued caller
        (it writes the next batch while this one is being synced), then sync and wake the
        callers served."""
        with self._mu:
            batch = self._take_batch()
        try:
            with self._w:
                end = self._write_phase(batch)
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            self._hand_over()
            self._finish(batch, exc)
            return
        self._hand_over()
        try:
            self._make_durable(end)
        except BaseException as exc:  # noqa: BLE001
            self._finish(batch, exc)
            return
        self._finish(batch, None)

    def _take_batch(self) -> list[_Request]:
        batch, count = [], 0
        while self._queue and (not batch or count + len(self._queue[0].bodies) <= self.ident.max_batch):
            req = self._queue.pop(0)
            batch.append(req)
            count += len(req.bodies)
        return batch

    def _hand_over(self) -> None:
        with self._mu:
            if self._queue:
                self._queue[0].wake()  # still not done: it wakes up as the leader
            else:
                self._leading = False

    def _finish(self, batch: list[_Request], error: BaseException | None) -> None:
        for req in batch:
            if error is not None:
                req.receipts, req.error = [], error
            req.done = True
            req.wake()  # the leader's own request too: nobody sleeps on it, so harmless

    def _after_commit(self) -> None:
        if self._hint_due and self._ck_guard.acquire(blocking=False):
            try:  # one thread per process signs; the others go on appending
                if self._hint_due:
                    self._checkpoint_phase(False)
            finally:
                self._ck_guard.release()
        repairs = self._take_repairs()
        if repairs and self.on_repair is not None:
            self.on_repair(repairs)

    def _take_repairs(self) -> list[dict]:
        st = self._state
        if st is None or not st.repairs:  # unlocked peek: repairs are rare
            return []
        with self._w:
            st = self._state
            if st is None or not st.repairs:
                return []
            out, st.repairs = st.repairs, []
            return out

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._mu = threading.Lock()
            self._ck_guard = threading.Lock()
            self._queue, self._leading, self._state = [], False, None

    # -- phase 1: write -----------------------------------------------------------------
    def _write_phase(self, batch: list[_Request]) -> int:
        st = self._current()
        try:
            return self._write_records(st, batch)
        except BaseException:
            self._drop_state()  # memory may be ahead of the files: reload from disk next time
            raise

    def _write_records(self, st: _State, batch: list[_Request]) -> int:
        now = format_time(self.clock())
        logged = max(now, st.last_logged)
        when = parse_time(logged)
        bodies = [(req, body) for req in batch for body in req.bodies]
        pos, retired = 0, []
        writes: list[tuple[_Segment, bytes]] = []
        while pos < len(bodies):
            first = st.size - st.size % self.s
            if st.seg is None or st.seg.first != first:
                retired += self._switch_segment(st, first, create=True, keep_old=True)
            take = bodies[pos:pos + first + self.s - st.size]  # never past the segment's end
            lines = [records.encode(body, st.size + i, logged) for i, (_, body) in enumerate(take)]
            leaves = [hash_leaf(line[:-1]) for line in lines]
            for i, ((req, _), leaf) in enumerate(zip(take, leaves)):
                req.receipts.append(Receipt(st.size + i, leaf, when))
            self._add_leaves(st, leaves, logged)  # nodes go to the tree file first
            writes.append((st.seg, b"".join(lines)))
            pos += len(take)
        for seg, data in writes:  # in leaf order: a later segment's file appears only
            if seg.fd < 0:          # once every earlier record is written
                self._create_segment_file(seg)
            if os.pwrite(seg.fd, data, seg.length) != len(data):
                raise OSError("short write to the audit log")
            seg.length += len(data)
        for seg in retired:
            seg.close()
        self._hint_due = self._due_hint(st)
        return st.size

    def _add_leaves(self, st: _State, leaves: list[bytes], logged: str) -> None:
        """Add leaves that all belong to the current segment; store their nodes."""
        seg = st.seg
        for level, start, nodes in st.cr.extend_run(leaves):
            if level <= self.bits:
                seg.tree.put_run(level, start - (seg.first >> level), b"".join(nodes))
        st.size += len(leaves)
        st.last_logged = logged
        if st.size % self.s == 0:
            self._write_root(st.size // self.s - 1, seg.tree.root())
            st.pending[st.size] = st.cr.root()

    def _write_root(self, segment_no: int, root: bytes) -> None:
        fd = os.open(self.paths.roots, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, root, segment_no * HASH_SIZE)
        finally:
            os.close(fd)

    def _switch_segment(self, st: _State, first: int, *, create: bool,
                        keep_old: bool = False) -> list[_Segment]:
        """Make `first` the current segment; returns the segments left open for the caller
        to close (keep_old), or [] / None (not created and missing)."""
        path = self.paths.segment(first)
        if not create and not path.exists():
            return None
        old = [st.seg] if st.seg is not None else []
        st.seg = None
        if not keep_old:
            for seg in old:
                seg.close()
            old = []
        fd = os.open(path, os.O_RDWR) if path.exists() else -1  # -1: created at first write
        tree = TreeFile(self.paths.tree(first), self.s, writable=True)
        st.seg = _Segment(first, fd, 0, tree)
        return old

    def _create_segment_file(self, seg: _Segment) -> None:
        path = self.paths.segment(seg.first)
        try:
            seg.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            seg.fd = os.open(path, os.O_RDWR)
            return
        fsync_dir(self.paths.segments)  # the new file's name must survive a crash

    # -- catching up with other writers -------------------------------------------------
    def _current(self, heads: bool = True) -> _State:
        """The state, loaded if needed and caught up with the files (write lock held);
        `heads`: also notice tree heads other processes signed."""
        if self._state is None:
            self._state = self._load()
        else:
            self._catch_up(self._state)
        if heads:
            self._refresh_checkpoint(self._state)
        return self._state

    def _catch_up(self, st: _State) -> None:
        while True:
            first = st.size - st.size % self.s
            if st.seg is None or st.seg.first != first:
                if self._switch_segment(st, first, create=False) is None:
                    return
                if st.size > first:  # opened mid-segment (after load): find the byte offset
                    st.seg.length = _offset_of(st.seg.fd, st.size - first)
            length = os.fstat(st.seg.fd).st_size
            if length > st.seg.length:
                self._consume(st, os.pread(st.seg.fd, length - st.seg.length, st.seg.length))
            if st.size % self.s or st.size == first:
                return

    def _consume(self, st: _State, data: bytes) -> None:
        """Take in records other writers appended (frame-checked, hashed, nodes stored)."""
        seg, pos, leaves, logged, bad = st.seg, 0, [], st.last_logged, None
        expected = st.size
        while pos < len(data):
            nl = data.find(b"\n", pos)
            line = data[pos:nl] if nl >= 0 else None
            fr = records.frame(line) if line is not None else None
            if fr is None or fr.index != expected or expected >= seg.first + self.s:
                bad = pos
                break
            leaves.append(hash_leaf(line))
            logged, expected, pos = fr.logged, expected + 1, nl + 1
        if leaves:
            self._add_leaves(st, leaves, logged)
            seg.length += pos if bad is None else bad
        if bad is not None:
            self._bad_tail(st, seg.length, data[bad:])

    def _bad_tail(self, st: _State, offset: int, rest: bytes) -> None:
        """Repair a torn or garbled tail (quarantined, never silently dropped), unless good
        records follow it or a tree head covers it: then refuse to write (fail closed)."""
        seg = st.seg
        where = f"segment {self.paths.segment(seg.first).name} at leaf {st.size}"
        later = [records.frame(x) for x in rest.split(b"\n")[1:]]
        if any(f is not None and f.index >= st.size for f in later) or self._later_segments(seg.first):
            raise AuditCorrupted(f"{where}: a damaged record is followed by good ones; "
                                 "refusing to append (run `aod audit verify`)")
        if st.size < st.ck_size:
            raise AuditCorrupted(f"{where}: records covered by the tree head at size "
                                 f"{st.ck_size} are missing or damaged")
        self.paths.quarantine.mkdir(exist_ok=True)
        name = f"{seg.first:012d}-{offset}-{_time.time_ns()}.bin"
        write_atomic(self.paths.quarantine / name, rest)
        os.ftruncate(seg.fd, offset)
        os.fsync(seg.fd)
        st.repairs.append({"segment": seg.first, "offset": offset, "bytes": len(rest),
                           "quarantined_as": name, "leaf": st.size})

    def _later_segments(self, first: int) -> bool:
        """Do later segments hold records? (An empty one is what a writer that died between
        creating a file and writing to it left behind, in versions that created it early.)"""
        return any(f > first and os.path.getsize(self.paths.segment(f)) > 0
                   for f in self.paths.segment_firsts())

    # -- loading ------------------------------------------------------------------------
    def _load(self) -> _State:
        from audit.retention import load_anchor

        for d in (self.paths.segments, self.paths.checkpoints):
            d.mkdir(parents=True, exist_ok=True)
        anchor = load_anchor(self.paths)
        base = anchor.size if anchor else 0
        latest = self._latest_checkpoint()
        start = latest.size if latest else base
        expected = latest.root if latest else (anchor.root if anchor else EMPTY_ROOT)
        cr = self._compact_range(start)
        if cr.root() != expected:
            self._rebuild_derived(start, anchor)
            cr = self._compact_range(start)
            if cr.root() != expected:
                raise AuditCorrupted(f"the stored events do not match the tree head at size {start}; "
                                     "refusing to append (run `aod audit verify`)")
        st = _State(size=start, cr=cr, base=base)
        if latest is not None:
            st.ck_size, st.ck_hash, st.ck_time = latest.size, latest.note_hash(), latest.time
            st.last_logged = format_time(latest.time)
        st.ck_seen = self._ck_dir_stamp()
        self._catch_up(st)
        return st

    def _compact_range(self, size: int) -> CompactRange:
        roots = self._read_roots(size // self.s)
        nodes = []
        for level, index in CompactRange.positions(size):
            if level >= self.bits:
                span = 1 << (level - self.bits)
                nodes.append(perfect_root(roots[index * span:(index + 1) * span]))
            else:
                first = (index << level) - ((index << level) % self.s)
                path = self.paths.tree(first)
                if not path.exists():
                    return CompactRange()  # will not match: rebuilt by the caller
                with TreeFile(path, self.s, writable=False) as tree:
                    nodes.append(tree.get(level, index - (first >> level)))
        return CompactRange(size, nodes) if len(nodes) == bin(size).count("1") else CompactRange()

    def _read_roots(self, count: int) -> list[bytes]:
        try:
            with open(self.paths.roots, "rb") as fh:
                data = fh.read(count * HASH_SIZE)
        except FileNotFoundError:
            data = b""
        data = data.ljust(count * HASH_SIZE, b"\0")
        return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]

    def _rebuild_derived(self, upto: int, anchor) -> None:
        """Recompute segment roots and node files from the records (after a power loss
        or damage to the derived files)."""
        for first in range(0, upto, self.s):
            if anchor is not None and first < anchor.size:
                self._write_root(first // self.s, anchor.segment_roots[first // self.s])
                continue
            path = self.paths.segment(first)
            if not path.exists():
                raise AuditCorrupted(f"segment {path.name} is missing")
            leaves = _leaf_hashes(path.read_bytes(), self.s)
            with TreeFile(self.paths.tree(first), self.s, writable=True) as tree:
                if len(leaves) == self.s:
                    self._write_root(first // self.s, tree.fill_perfect(leaves))
                else:
                    cr = CompactRange(first, self._seg_prefix(first))
                    for leaf in leaves[: upto - first]:
                        for level, index, node in cr.append(leaf):
                            if level <= self.bits:
                                tree.put(level, index - (first >> level), node)

    def _seg_prefix(self, first: int) -> list[bytes]:
        roots = self._read_roots(first // self.s)
        return [perfect_root(roots[i * (1 << (lv - self.bits)):(i + 1) * (1 << (lv - self.bits))])
                for lv, i in CompactRange.positions(first)]

    # -- tree heads ---------------------------------------------------------------------
    def _ck_dir_stamp(self) -> tuple:
        st = os.stat(self.paths.checkpoints)
        return (st.st_mtime_ns, st.st_ino)

    def _latest_checkpoint(self) -> SignedCheckpoint | None:
        sizes = self.paths.checkpoint_sizes()
        if not sizes:
            return None
        path = self.paths.checkpoint(sizes[-1])
        try:
            cp = SignedCheckpoint.from_text(path.read_bytes())
            cp.check_signature(self.signer.public_key)
        except BadCheckpoint as exc:
            raise AuditCorrupted(f"latest tree head {path.name}: {exc.diagnostics()}") from None
        if cp.size != sizes[-1]:
            raise AuditCorrupted(f"tree head file {path.name} holds a tree head for size {cp.size}")
        return cp

    def _refresh_checkpoint(self, st: _State) -> None:
        stamp = self._ck_dir_stamp()
        if stamp == st.ck_seen:
            return
        latest = self._latest_checkpoint()
        st.ck_seen = stamp
        if latest is not None and latest.size >= st.ck_size:
            st.ck_size, st.ck_hash, st.ck_time = latest.size, latest.note_hash(), latest.time
            st.pending = {k: v for k, v in st.pending.items() if k > st.ck_size}

    def _due_hint(self, st: _State) -> bool:
        return any(k > st.ck_size for k in st.pending) or self._head_due(st)

    def _head_due(self, st: _State) -> bool:
        """Is a tree head at the current size due (every N events or T seconds)?"""
        s = self.settings()
        if st.size - st.ck_size >= s.checkpoint_every_events:
            return True
        if st.size > st.ck_size and st.ck_time is not None:
            return (self.clock() - st.ck_time).total_seconds() >= s.checkpoint_every_seconds
        return st.size > st.ck_size and st.ck_time is None

    def _checkpoint_phase(self, force: bool) -> SignedCheckpoint | None:
        written = None
        with self._sync:
            with self._w:
                st = self._current()
                due = sorted((k, v) for k, v in st.pending.items() if k > st.ck_size)
                if st.size > st.ck_size and (force or self._head_due(st)) and (
                        not due or due[-1][0] != st.size):
                    due.append((st.size, st.cr.root()))
                if due:
                    self._durable_locked(due[-1][0], st)
                for size, root in due:
                    written = self._write_checkpoint(st, size, root)
                self._hint_due = False
        return written

    def _write_checkpoint(self, st: _State, size: int, root: bytes) -> SignedCheckpoint:
        now = self.clock()
        if st.ck_time is not None and now < st.ck_time:
            now = st.ck_time
        prev = (st.ck_size, st.ck_hash) if st.ck_hash is not None else None
        signed = Checkpoint(self.signer.name, size, root, now, prev).sign(self.signer)
        write_atomic(self.paths.checkpoint(size), signed.to_text().encode())
        self.paths.write_latest_hint(size)
        st.ck_size, st.ck_hash, st.ck_time = size, signed.note_hash(), now
        st.ck_seen = self._ck_dir_stamp()
        st.pending = {k: v for k, v in st.pending.items() if k > size}
        return signed

    # -- phase 2: sync ------------------------------------------------------------------
    def _make_durable(self, end: int) -> None:
        with self._sync:
            if self._mark.read() >= end:
                return  # someone else's fsync covered these records
            with self._w:
                size = self._current(heads=False).size
            self._fsync_range(self._mark.read(), size)
            self._mark.write(size)

    def _durable_locked(self, end: int, st: _State) -> None:
        """Both locks held: make [0, end) durable."""
        mark = self._mark.read()
        if mark < end:
            self._fsync_range(mark, st.size)
            self._mark.write(st.size)

    def _fsync_range(self, start: int, end: int) -> None:
        if end <= 0:
            return
        firsts = range(start - start % self.s, end, self.s) if start > 0 else self._unsynced_firsts(end)
        for first in firsts:
            path = self.paths.segment(first)
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                os.fdatasync(fd)
            finally:
                os.close(fd)

    def _unsynced_firsts(self, end: int) -> list[int]:
        """No valid mark (first sync of this boot): segments changed since boot, newest
        first, stopping at the first one older than the boot."""
        boot = _boot_time()
        out = []
        for first in reversed([f for f in self.paths.segment_firsts() if f < end]):
            try:
                if os.stat(self.paths.segment(first)).st_mtime < boot:
                    break
            except FileNotFoundError:
                continue
            out.append(first)
        return out

    def _drop_state(self) -> None:
        st, self._state = self._state, None
        if st is not None and st.seg is not None:
            st.seg.close()


def _boot_time() -> float:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def _offset_of(fd: int, records_before: int) -> int:
    """Byte offset of the record after `records_before` complete lines."""
    data = os.pread(fd, os.fstat(fd).st_size, 0)
    pos = 0
    for _ in range(records_before):
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise AuditCorrupted("a segment holds fewer records than its tree head covers")
        pos = nl + 1
    return pos


def _leaf_hashes(data: bytes, limit: int) -> list[bytes]:
    lines = data.split(b"\n")
    complete = lines[:-1][:limit]
    return [hash_leaf(line) for line in complete]
