"""Reading the stored log without the writer's locks: sizes, records by index, event-id
lookups. Readers see complete records only; a torn last line is ignored (the next writer
repairs it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime

from audit import records
from audit.events import AuditEvent, parse_time
from audit.layout import Paths
from audit.merkle import hash_leaf


@dataclass(frozen=True)
class Entry:
    """One logged event: its leaf index, the log's time, its leaf hash and the event.
    The event is decoded from its canonical JSON on first access."""

    index: int
    logged: datetime
    leaf_hash: bytes
    body: str  # canonical event JSON

    @cached_property
    def event(self) -> AuditEvent:
        return AuditEvent.from_json(self.body, trusted=True)


def complete_lines(data: bytes) -> list[bytes]:
    """The complete records (newline-terminated) of a segment's bytes."""
    end = data.rfind(b"\n")
    return data[:end].split(b"\n") if end >= 0 else []


def read_segment(paths: Paths, first: int) -> bytes:
    try:
        with open(paths.segment(first), "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return b""


def stored_size(paths: Paths, segment_events: int) -> tuple[int, int]:
    """(first stored leaf, number of leaves) counting complete records only."""
    firsts = paths.segment_firsts()
    if not firsts:
        from audit.retention import load_anchor

        anchor = load_anchor(paths)
        base = anchor.size if anchor else 0
        return base, base
    last = firsts[-1]
    data = read_segment(paths, last)
    count = min(data.count(b"\n"), segment_events)
    return firsts[0], last + count


def entry_from_line(line: bytes) -> Entry | None:
    fr = records.frame(line)
    if fr is None:
        return None
    body = line[fr.event_start:fr.event_end].decode("utf-8")
    return Entry(fr.index, parse_time(fr.logged), hash_leaf(line), body)


def read_entries(paths: Paths, segment_events: int, start: int, end: int) -> list[Entry]:
    """Entries with index in [start, end), in order (missing or damaged ones are skipped)."""
    out: list[Entry] = []
    first = start - start % segment_events
    while first < end:
        lines = complete_lines(read_segment(paths, first))
        lo, hi = max(start - first, 0), min(end - first, len(lines))
        for line in lines[lo:hi]:
            entry = entry_from_line(line)
            if entry is not None:
                out.append(entry)
        first += segment_events
    return out


def line_at(paths: Paths, segment_events: int, index: int) -> bytes | None:
    return find_line(paths.segment(index - index % segment_events), index)


def find_event_ids(paths: Paths, segment_events: int, ids: set[str], start: int) -> dict[str, int]:
    """Leaf index of each of `ids` logged at or after `start` (a byte search, then a check)."""
    found: dict[str, int] = {}
    if not ids:
        return found
    firsts = [f for f in paths.segment_firsts() if f + segment_events > start]
    needles = {f'"event_id":"{i}"'.encode(): i for i in ids}
    for first in firsts:
        data = read_segment(paths, first)
        if not any(n in data for n in needles):
            continue
        for offset, line in enumerate(complete_lines(data)):
            if first + offset < start:
                continue
            for needle, ident in needles.items():
                if needle in line and ident not in found:
                    entry = entry_from_line(line)
                    if entry is not None and entry.event.event_id == ident:
                        found[ident] = entry.index
    return found


def last_logged(paths: Paths, first: int) -> datetime | None:
    lines = complete_lines(read_segment(paths, first))
    for line in reversed(lines):
        fr = records.frame(line)
        if fr is not None:
            return parse_time(fr.logged)
    return None


def file_size(path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def find_line(path, index: int, chunk: int = 8192) -> bytes | None:
    """The complete record with leaf index `index` in a segment file. Records are of similar
    size, so an interpolation guess from the first and last records usually lands on it in
    two or three reads; a binary search on the trailers' indexes takes over when it does not."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        head = _line_at(fd, 0, chunk)
        tail_start, tail = _last_line(fd, size, chunk)
        lo_f, hi_f = (records.frame(x) if x is not None else None for x in (head, tail))
        if lo_f is None or hi_f is None or not lo_f.index <= index <= hi_f.index:
            return None
        if index == hi_f.index:
            return tail
        guess = int(tail_start * (index - lo_f.index) / max(hi_f.index - lo_f.index, 1))
        lo, hi = 0, tail_start + 1  # the wanted line starts in [lo, hi)
        for probe in (max(guess - chunk // 4, 1), None):
            mid = probe if probe is not None else (lo + hi) // 2
            while hi - lo > chunk:
                start, line = _line_after(fd, mid, chunk)
                fr = records.frame(line) if line is not None else None
                if fr is None or fr.index > index:
                    hi = mid
                else:
                    lo = start
                mid = (lo + hi) // 2
        return _scan(fd, lo, index, chunk)
    finally:
        os.close(fd)


def _scan(fd: int, pos: int, index: int, chunk: int) -> bytes | None:
    """Read whole lines from `pos` (a line start) until the one with `index`."""
    data = os.pread(fd, chunk, pos)
    at = 0
    while True:
        nl = data.find(b"\n", at)
        if nl < 0:
            more = os.pread(fd, chunk, pos + len(data))
            if not more:
                return None
            data += more
            continue
        fr = records.frame(data[at:nl])
        if fr is None or fr.index > index:
            return None
        if fr.index == index:
            return data[at:nl]
        at = nl + 1


def _last_line(fd: int, size: int, chunk: int) -> tuple[int, bytes | None]:
    """(start, line) of the last complete line."""
    end = size
    while end > 0:
        start = max(0, end - chunk)
        data = os.pread(fd, end - start, start)
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            end = start
            continue
        prev_nl = data.rfind(b"\n", 0, last_nl)
        if prev_nl >= 0 or start == 0:
            line_start = start + prev_nl + 1
            return line_start, data[prev_nl + 1:last_nl]
        chunk *= 2
    return 0, None


def _line_after(fd: int, offset: int, chunk: int) -> tuple[int, bytes | None]:
    """The first complete line starting after byte `offset - 1`'s newline: (start, line)."""
    pos = offset - 1
    data = b""
    while True:
        more = os.pread(fd, chunk, pos + len(data))
        if not more:
            return pos, None
        data += more
        nl = data.find(b"\n")
        if nl < 0:
            continue
        end = data.find(b"\n", nl + 1)
        if end >= 0:
            return pos + nl + 1, data[nl + 1:end]
        return pos + nl + 1, _line_at(fd, pos + nl + 1, chunk)


def _line_at(fd: int, start: int, chunk: int) -> bytes | None:
    buf, pos = b"", start
    while True:
        data = os.pread(fd, chunk, pos)
        if not data:
            return None
        nl = data.find(b"\n")
        if nl >= 0:
            return buf + data[:nl]
        buf += data
        pos += len(data)
