"""Where a log keeps its files, its fixed identity (`log.json`) and its settings
(`settings.json`, with the 180-day retention floor).

    audit/
      log.json              origin, segment size, max batch (fixed when the log is created)
      log.pub               Ed25519 public key (PEM) that verifies the tree heads
      settings.json         retention days (>= 180), checkpoint every N events / T seconds
      segments/<first>.jsonl     events, one line each; a segment holds 2^k leaves
      segments/<first>.tree      the segment's Merkle nodes (derived, rebuilt if damaged)
      segments/ROOTS             root of each sealed segment, 32 bytes each (derived)
      checkpoints/<size>.ckpt    signed tree heads
      index/                     Parquet of sealed segments, for queries (derived)
      anchor.json           after pruning: signed tree head and roots of the pruned prefix
      quarantine/           bytes removed by a torn-record repair, kept for forensics
      write.lock, sync.lock, durable
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from audit.errors import AuditConfigError

RETENTION_FLOOR_DAYS = 180
DEFAULT_SEGMENT_EVENTS = 1 << 14
DEFAULT_MAX_BATCH = 4096
NAME_WIDTH = 12


def segment_name(first: int) -> str:
    return f"{first:0{NAME_WIDTH}d}"


def checkpoint_name(size: int) -> str:
    return f"{size:0{NAME_WIDTH}d}.ckpt"


@dataclass(frozen=True)
class Paths:
    root: Path

    @cached_property  # the writer asks for these on every commit
    def identity(self) -> Path:
        return self.root / "log.json"

    @cached_property
    def public_key(self) -> Path:
        return self.root / "log.pub"

    @cached_property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @cached_property
    def segments(self) -> Path:
        return self.root / "segments"

    @cached_property
    def roots(self) -> Path:
        return self.segments / "ROOTS"

    @cached_property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @cached_property
    def index(self) -> Path:
        return self.root / "index"

    @cached_property
    def anchor(self) -> Path:
        return self.root / "anchor.json"

    @cached_property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def segment(self, first: int) -> Path:
        return self._named(first, ".jsonl")

    def tree(self, first: int) -> Path:
        return self._named(first, ".tree")

    def _named(self, first: int, ext: str) -> Path:
        cache = self.__dict__.setdefault("_named_cache", {})
        path = cache.get((first, ext))
        if path is None:
            path = cache[(first, ext)] = self.segments / f"{segment_name(first)}{ext}"
        return path

    def checkpoint(self, size: int) -> Path:
        return self.checkpoints / checkpoint_name(size)

    def lock(self, name: str) -> Path:
        return self.root / f"{name}.lock"

    def segment_firsts(self) -> list[int]:
        """First leaf index of every segment file present, ascending."""
        out = []
        for name in os.listdir(self.segments) if self.segments.is_dir() else ():
            stem, dot, ext = name.partition(".")
            if ext == "jsonl" and stem.isdigit() and len(stem) == NAME_WIDTH:
                out.append(int(stem))
        return sorted(out)

    @property
    def latest_hint(self) -> Path:
        return self.checkpoints / "LATEST"

    def write_latest_hint(self, size: int) -> None:
        """Point readers at the newest tree head (a hint: not fsynced, checked on use)."""
        tmp = self.checkpoints / f".LATEST.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(f"{size}\n")
        os.replace(tmp, self.latest_hint)

    def latest_checkpoint_size(self) -> int | None:
        """Size of the newest tree head: from the hint when it names an existing head with
        no successor, else by listing the directory."""
        try:
            text = self.latest_hint.read_text().strip()
        except (OSError, UnicodeDecodeError):
            text = ""
        if text.isdigit() and self.checkpoint(int(text)).exists():
            return int(text)
        sizes = self.checkpoint_sizes()
        if sizes:
            try:  # leave the hint for the next reader (a log written before hints existed)
                self.write_latest_hint(sizes[-1])
            except OSError:
                pass  # a read-only reader
        return sizes[-1] if sizes else None

    def checkpoint_sizes(self) -> list[int]:
        out = []
        for name in os.listdir(self.checkpoints) if self.checkpoints.is_dir() else ():
            stem, dot, ext = name.partition(".")
            if ext == "ckpt" and stem.isdigit() and len(stem) == NAME_WIDTH:
                out.append(int(stem))
        return sorted(out)


@dataclass(frozen=True)
class Identity:
    """Fixed for the life of a log."""

    origin: str
    segment_events: int = DEFAULT_SEGMENT_EVENTS
    max_batch: int = DEFAULT_MAX_BATCH
    format: int = 1

    def __post_init__(self):
        s = self.segment_events
        if not isinstance(s, int) or s < 4 or s > 1 << 22 or s & (s - 1):
            raise AuditConfigError("segment_events must be a power of two between 4 and 4194304")
        if not isinstance(self.max_batch, int) or not 1 <= self.max_batch <= 1 << 16:
            raise AuditConfigError("max_batch must be between 1 and 65536")
        if self.format != 1:
            raise AuditConfigError(f"log format {self.format} is not supported")

    @property
    def segment_bits(self) -> int:
        return self.segment_events.bit_length() - 1

    @classmethod
    def load(cls, path: Path) -> "Identity":
        data = _read_json(path, "log identity")
        try:
            return cls(**data)
        except TypeError:
            raise AuditConfigError(f"{path.name} has unknown or missing fields") from None

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(asdict(self), indent=2).encode() + b"\n")


@dataclass(frozen=True)
class Settings:
    """Mutable settings. The retention floor (180 days, R10) cannot be lowered: a lower value
    is refused with an error, never silently replaced."""

    retention_days: int = RETENTION_FLOOR_DAYS
    checkpoint_every_events: int = 1000
    checkpoint_every_seconds: int = 60

    def __post_init__(self):
        r = self.retention_days
        if not isinstance(r, int) or isinstance(r, bool):
            raise AuditConfigError("retention_days must be a whole number of days")
        if r < RETENTION_FLOOR_DAYS:
            raise AuditConfigError(
                f"retention_days {r} is below the legal floor of {RETENTION_FLOOR_DAYS} days "
                "(logs are kept at least 6 months); refusing to use it"
            )
        if r > 36500:
            raise AuditConfigError("retention_days above 36500 is not supported")
        n, t = self.checkpoint_every_events, self.checkpoint_every_seconds
        if not isinstance(n, int) or not 1 <= n <= 1_000_000:
            raise AuditConfigError("checkpoint_every_events must be between 1 and 1000000")
        if not isinstance(t, int) or not 1 <= t <= 86_400:
            raise AuditConfigError("checkpoint_every_seconds must be between 1 and 86400")

    @classmethod
    def load(cls, path: Path) -> "Settings":
        if not path.exists():
            return cls()
        data = _read_json(path, "audit settings")
        try:
            return cls(**data)
        except TypeError:
            raise AuditConfigError(f"{path} has unknown or missing fields") from None

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(asdict(self), indent=2).encode() + b"\n")


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise AuditConfigError(f"{what} file {path} is missing") from None
    except ValueError:
        raise AuditConfigError(f"{what} file {path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise AuditConfigError(f"{what} file {path} is not a JSON object")
    return data


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file so readers see the old or the new content, durable on return."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
