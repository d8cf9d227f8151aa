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
    Versions are ordered (the data version is a counter and a date).
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()
        self._newest: Any = None
        self._lock = Lock()

    def get_or_compute(self, key: Hashable, version: Any, compute: Callable[[], Any]) -> Any:
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
            held = self._entries.get(key)
            if held is not None and _newer(held[0], version):
                return value  # a later version was stored meanwhile: keep it, answer this one
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            if self._newest is None or _newer(version, self._newest):
                self._newest = version
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def version_of(self, key: Hashable) -> Any:
        """The data version of the answer held for key; else the newest this cache has seen
        (for an ETag while the database is away); None when it has seen none."""
        with self._lock:
            entry = self._entries.get(key)
            return self._newest if entry is None else entry[0]


def _newer(one: Any, other: Any) -> bool:
    try:
        return bool(one > other)
    except TypeError:  # versions of different kinds never displace each other
        return False
