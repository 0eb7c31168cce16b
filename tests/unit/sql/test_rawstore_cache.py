"""The decrypted-column cache: what it keeps, for whom, how long, and how it lets go."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from domain.rawstore import (
    DecryptedCache, RawStoreError, clear_cache, evict, evict_key, open_dataset, read_table, write_dataset,
)

ROWS = 70_000  # two row groups


def table(offset: int = 0) -> pa.Table:
    return pa.table({"unit": [f"U{i + offset:08d}" for i in range(ROWS)],
                     "x": list(range(offset, offset + ROWS))})


@pytest.fixture
def stored(tmp_path):
    key = os.urandom(32)
    write_dataset(table(), tmp_path / "a", key)
    return tmp_path / "a", key


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_read_decrypts_then_hits(stored):
    folder, key = stored
    cache = DecryptedCache(max_bytes=64 << 20)
    first = cache.table(open_dataset(folder, key), ["unit", "x"])
    again = cache.table(open_dataset(folder, key), ["x"])
    assert first.equals(read_table(folder, key))
    assert again.column_names == ["x"] and again.column(0).equals(first.column(1))
    stats = cache.stats()
    assert (stats.misses, stats.hits, stats.columns) == (1, 1, 2) and stats.bytes > 0


def test_missing_columns_are_added_to_what_is_kept(stored):
    folder, key = stored
    cache = DecryptedCache(max_bytes=64 << 20)
    cache.table(open_dataset(folder, key), ["x"])
    both = cache.table(open_dataset(folder, key), ["unit", "x"])
    assert both.column_names == ["unit", "x"] and cache.stats().columns == 2


def test_a_dataset_that_does_not_fit_is_not_kept(stored):
    folder, key = stored
    cache = DecryptedCache(max_bytes=100_000)
    assert cache.table(open_dataset(folder, key), ["unit", "x"]) is None
    assert cache.stats().columns == 0 and cache.stats().refusals == 1


def test_zero_bytes_keeps_nothing(stored):
    folder, key = stored
    assert DecryptedCache(max_bytes=0).table(open_dataset(folder, key), ["x"]) is None


def test_least_recently_used_dataset_goes_first(tmp_path):
    keys = {}
    for name, offset in (("a", 0), ("b", ROWS), ("c", 2 * ROWS)):
        keys[name] = os.urandom(32)
        write_dataset(table(offset), tmp_path / name, keys[name])
    probe = DecryptedCache(max_bytes=64 << 20)
    probe.table(open_dataset(tmp_path / "a", keys["a"]), ["x"])
    cache = DecryptedCache(max_bytes=2 * probe.stats().bytes + 10)  # room for two datasets' x
    for name in ("a", "b", "a", "c"):  # c pushes out b, the least recently used
        assert cache.table(open_dataset(tmp_path / name, keys[name]), ["x"]) is not None
    assert cache.evict(tmp_path / "b") == 0 and cache.evict(tmp_path / "a") == 1


def test_reopened_under_another_key_misses_and_drops_the_old_entry(tmp_path):
    key = os.urandom(32)
    write_dataset(table(), tmp_path / "a", key)
    cache = DecryptedCache(max_bytes=64 << 20)
    opened = open_dataset(tmp_path / "a", key)
    cache.table(opened, ["x"])
    import dataclasses

    other = dataclasses.replace(opened, dataset_key=os.urandom(32))  # same ids, not the same key
    with pytest.raises(Exception):
        cache.table(other, ["x"])  # the old entry does not answer; decrypting with the wrong key fails
    assert cache.stats().columns == 0


def test_idle_entries_expire(stored):
    folder, key = stored
    clock = Clock()
    cache = DecryptedCache(max_bytes=64 << 20, idle_seconds=60, clock=clock)
    cache.table(open_dataset(folder, key), ["x"])
    clock.now += 61
    assert cache.stats().columns == 0


def test_module_hooks_reach_every_cache(stored):
    folder, key = stored
    first, second = DecryptedCache(max_bytes=64 << 20), DecryptedCache(max_bytes=64 << 20)
    opened = open_dataset(folder, key)
    for cache in (first, second):
        cache.table(opened, ["unit", "x"])
    assert evict(folder) == 4
    for cache in (first, second):
        cache.table(opened, ["x"])
    assert evict_key(opened.key_id) == 2
    first.table(opened, ["x"])
    assert clear_cache() >= 1 and first.stats().columns == 0


def test_only_opened_datasets_are_read():
    with pytest.raises(RawStoreError):
        DecryptedCache().table("a folder", ["x"])
    with pytest.raises(RawStoreError):
        DecryptedCache(max_bytes=-1)
