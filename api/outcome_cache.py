"""A short-lived cache of outcome figures per filter set, so the dashboard page and its
three chart images (four requests) compute the figures once. Per process, kept on
`app.state`; entries live `ttl` seconds (figures a minute old are fine for a dashboard)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from knowledge_base.outcomes import Figures, Filters

TTL_SECONDS = 60.0
MAX_ENTRIES = 32


class FiguresCache:
    def __init__(
        self, ttl: float = TTL_SECONDS, size: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl, self._size, self._clock = ttl, size, clock
        self._entries: OrderedDict[Filters, tuple[float, Figures]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, filters: Filters, compute: Callable[[], Figures]) -> Figures:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(filters)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]
        result = compute()  # outside the lock: two first requests may both compute; both are right
        with self._lock:
            self._entries[filters] = (now, result)
            self._entries.move_to_end(filters)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return result
