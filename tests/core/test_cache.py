"""The response cache: one answer per key at its data version, never set back to an older one."""

from __future__ import annotations

import datetime as dt

from service.core.cache import VersionedCache

DAY = dt.date(2026, 12, 1)


def test_an_answer_is_reused_until_the_version_moves_on() -> None:
    cache = VersionedCache()
    computed: list[int] = []

    def compute(value: int) -> int:
        computed.append(value)
        return value

    assert cache.get_or_compute("k", (1, DAY), lambda: compute(1)) == 1
    assert cache.get_or_compute("k", (1, DAY), lambda: compute(99)) == 1
    assert cache.get_or_compute("k", (2, DAY), lambda: compute(2)) == 2
    assert computed == [1, 2]


def test_a_slow_answer_for_an_older_version_does_not_displace_a_newer_one() -> None:
    cache = VersionedCache()

    def slow_old() -> str:
        # While this reader computes version 1, another stores version 2.
        cache.get_or_compute("k", (2, DAY), lambda: "new")
        return "old"

    assert cache.get_or_compute("k", (1, DAY), slow_old) == "old"  # its own reader gets it
    assert cache.version_of("k") == (2, DAY)
    assert cache.get_or_compute("k", (2, DAY), lambda: "recomputed") == "new"


def test_an_unknown_key_reports_the_newest_version_seen() -> None:
    cache = VersionedCache()
    assert cache.version_of("k") is None
    cache.get_or_compute("a", (3, DAY), lambda: "a")
    cache.get_or_compute("b", (2, DAY), lambda: "b")
    assert cache.version_of("b") == (2, DAY)
    assert cache.version_of("unknown") == (3, DAY)


def test_the_least_recently_used_key_goes_first() -> None:
    cache = VersionedCache(size=2)
    cache.get_or_compute("a", (1, DAY), lambda: "a")
    cache.get_or_compute("b", (1, DAY), lambda: "b")
    cache.get_or_compute("a", (1, DAY), lambda: "again")  # a is used, b is now the oldest
    cache.get_or_compute("c", (1, DAY), lambda: "c")
    assert cache.get_or_compute("a", (1, DAY), lambda: "a2") == "a"
    assert cache.get_or_compute("b", (1, DAY), lambda: "b2") == "b2"
