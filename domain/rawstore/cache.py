"""Decrypted columns of hot raw datasets, kept in this process's memory for the DuckDB engine.

DuckDB decrypts Parquet with a software AES (no AES-NI without its OpenSSL extension, which a
locked-down engine cannot load), which cost a quarter of a query's time. pyarrow decrypts the
same files with OpenSSL at plaintext-read speed; keeping the decrypted columns of the datasets
in use lets a long-running domain server decrypt each dataset once instead of once per query.

What is kept, and for how long:

- per column of an opened dataset, keyed by (folder, key id, content hash, each file's inode,
  size and mtime) *and* a fingerprint of the dataset key: only a caller that opened the dataset
  with its current key (the manifest MAC verifies) finds an entry; a rotated key or a file
  changed on disk misses (and the old entry ages out);
- within `max_bytes` (least recently used columns go first); a dataset whose columns do not fit
  is not cached at all (`table()` returns None and the engine streams the encrypted files);
- never on disk, never longer than `idle_seconds` after its last use (swept on every call), and
  dropped at once by `evict(directory)`, `evict_key(key_id)` or `clear()`, which reach every
  cache of the process: the domain calls them when a dataset's key is destroyed or rotated, when
  the dataset is withdrawn or replaced, and when the grants that read it are suspended or end.

Dropping an entry releases its buffers to the allocator (they are not overwritten, as with any
decrypted data an engine held); the Arrow tables handed out stay valid until their query ends.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from domain.rawstore.errors import RawStoreError
from domain.rawstore.store import RawDataset, decryption_properties

DEFAULT_MAX_BYTES = 2 << 30
DEFAULT_IDLE_SECONDS = 900.0
READ_GROUPS = 16  # row groups decrypted per read (~1M rows): parallel, and a bounded overshoot
_CACHES: "weakref.WeakSet[DecryptedCache]" = weakref.WeakSet()
_SHARED: "DecryptedCache | None" = None
_SHARED_LOCK = threading.Lock()


@dataclass(frozen=True)
class CacheStats:
    columns: int
    bytes: int
    hits: int
    misses: int
    refusals: int  # datasets too large to keep (streamed instead)


@dataclass
class _Entry:
    dataset: tuple                  # (folder, key id, content hash, file stamps)
    fingerprint: str                # of the dataset key
    data: pa.ChunkedArray
    used_at: float


class DecryptedCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, idle_seconds: float = DEFAULT_IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        if max_bytes < 0 or idle_seconds <= 0:
            raise RawStoreError("a cache needs max_bytes >= 0 and idle_seconds > 0")
        self.max_bytes = int(max_bytes)
        self.idle_seconds = float(idle_seconds)
        self._clock = clock
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()  # least recently used first
        self._bytes = 0
        self._lock = threading.RLock()
        self._hits = self._misses = self._refusals = 0
        _CACHES.add(self)

    # -- reading ---------------------------------------------------------------------------
    def table(self, dataset: RawDataset, columns: Sequence[str]) -> pa.Table | None:
        """The decrypted `columns` of an opened dataset, or None when they cannot be kept."""
        if not isinstance(dataset, RawDataset):
            raise RawStoreError("only an opened raw dataset can be read through the cache")
        with self._lock:
            now = self._clock()
            self._sweep(now)
            ident, fingerprint = _identity(dataset), _fingerprint(dataset.dataset_key)
            missing = [c for c in columns if not self._take(ident, fingerprint, c, now)]
            if missing:
                self._misses += 1
                if not self._load(dataset, ident, fingerprint, missing, now):
                    self._refusals += 1
                    return None
            else:
                self._hits += 1
            arrays = [self._entries[(ident, c)].data for c in columns]
        return pa.table(arrays, names=list(columns))

    def _take(self, ident: tuple, fingerprint: str, column: str, now: float) -> bool:
        entry = self._entries.get((ident, column))
        if entry is None:
            return False
        if not hmac.compare_digest(entry.fingerprint, fingerprint):
            self._drop((ident, column))  # the dataset was reopened under another key
            return False
        entry.used_at = now
        self._entries.move_to_end((ident, column))
        return True

    def _load(self, dataset: RawDataset, ident: tuple, fingerprint: str, columns: list[str],
              now: float) -> bool:
        """Decrypt `columns` in row groups, giving up as soon as they cannot fit."""
        budget = self.max_bytes - sum(e.data.nbytes for k, e in self._entries.items()
                                      if k[0] == ident)  # this dataset's other columns stay
        if budget <= 0:
            return False
        batches, size = [], 0
        props = decryption_properties(dataset.dataset_key)
        for raw_file in dataset.files:
            handle = pq.ParquetFile(raw_file.path, decryption_properties=props)
            groups = list(range(handle.num_row_groups))
            for start in range(0, len(groups), READ_GROUPS):  # several at once: decoded in parallel
                chunk = handle.read_row_groups(groups[start:start + READ_GROUPS], columns=columns)
                size += chunk.nbytes
                if size > budget:
                    return False
                batches.append(chunk)
        if not batches:
            return False
        data = pa.concat_tables(batches)
        kept = {name: data.column(name) for name in columns}  # one chunk per row group: parallel scans
        size = sum(column.nbytes for column in kept.values())
        if size > budget:
            return False
        self._make_room(size, keep=ident)
        for name, column in kept.items():
            self._entries[(ident, name)] = _Entry(ident, fingerprint, column, now)
            self._bytes += column.nbytes
        return True

    # -- eviction --------------------------------------------------------------------------
    def _make_room(self, size: int, keep: tuple) -> None:
        for key in [k for k in self._entries if k[0] != keep]:
            if self._bytes + size <= self.max_bytes:
                return
            self._drop(key)

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.data.nbytes

    def _sweep(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if now - e.used_at > self.idle_seconds]:
            self._drop(key)

    def _evict_where(self, match: Callable[[tuple], bool]) -> int:
        with self._lock:
            keys = [k for k in self._entries if match(k[0])]
            for key in keys:
                self._drop(key)
            return len(keys)

    def evict(self, directory: Path | str) -> int:
        folder = str(Path(directory).resolve())
        return self._evict_where(lambda ident: ident[0] == folder)

    def evict_key(self, key_id: str) -> int:
        return self._evict_where(lambda ident: ident[1] == key_id)

    def clear(self) -> int:
        return self._evict_where(lambda ident: True)

    def resize(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = max(0, int(max_bytes))
            self._make_room(0, keep=())

    def stats(self) -> CacheStats:
        with self._lock:
            self._sweep(self._clock())
            return CacheStats(len(self._entries), self._bytes, self._hits, self._misses, self._refusals)


def _identity(dataset: RawDataset) -> tuple:
    """(folder, key id, content hash, files' stamps): a file replaced or changed on disk since
    it was decrypted (inode, size or mtime) misses, so damage at rest is found by the next
    query's decryption instead of being hidden by the cache."""
    stamps = []
    for raw_file in dataset.files:
        st = Path(raw_file.path).stat()
        stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return (str(Path(dataset.directory).resolve()), dataset.key_id, dataset.sha256, tuple(stamps))


def _fingerprint(key: bytes) -> str:
    return hmac.new(bytes(key), b"aod-rawstore decrypted cache", hashlib.sha256).hexdigest()


def shared_cache(max_bytes: int | None = None) -> DecryptedCache:
    """The process's cache (created on first use; `max_bytes` resizes it)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = DecryptedCache(DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
        elif max_bytes is not None and max_bytes != _SHARED.max_bytes:
            _SHARED.resize(max_bytes)
        return _SHARED


def evict(directory: Path | str) -> int:
    """Drop a dataset's decrypted columns from every cache of this process (columns dropped)."""
    return sum(cache.evict(directory) for cache in list(_CACHES))


def evict_key(key_id: str) -> int:
    """Drop everything decrypted under a dataset file key id (RawDataset.key_id)."""
    return sum(cache.evict_key(key_id) for cache in list(_CACHES))


def clear_cache() -> int:
    return sum(cache.clear() for cache in list(_CACHES))


__all__ = ["CacheStats", "DecryptedCache", "clear_cache", "evict", "evict_key", "shared_cache"]
