"""A small response cache keyed by the data version, so unchanged data is never recomputed."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any

from service.core import metrics


class VersionedCache:
    """Least-recently-used answers, one per request key, each with the data version it holds.

    A key keeps only its latest answer: an older version is never asked for again, except
    while the database is down, when the version last seen is all there is (see `version_of`).
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = Lock()

    def get_or_compute(self, key: Hashable, version: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer for key at this data version, computing and storing it on a miss."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                metrics.cache_looked_up(hit=True)
                return entry[1]
        metrics.cache_looked_up(hit=False)
        value = compute()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def version_of(self, key: Hashable) -> Hashable | None:
        """The data version of the answer held for key, or None when there is none."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[0]
