"""A token bucket per key (endpoint, caller), with an injected clock."""

from __future__ import annotations

import threading
import time
from typing import Callable, Hashable

from export_review.errors import RateLimited


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: Hashable, calls: int, per_seconds: float) -> bool:
        rate = calls / per_seconds
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(calls), now))
            tokens = min(float(calls), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True

    def check(self, key: Hashable, calls: int, per_seconds: float) -> None:
        if not self.allow(key, calls, per_seconds):
            raise RateLimited(f"at most {calls} calls per {per_seconds:g} s")
