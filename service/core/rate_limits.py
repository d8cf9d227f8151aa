"""Request rate limits per client address: failed authentications, and uploads.

Built on `limits` directly, not on `slowapi` (a decorator on top of it): slowapi counts every
request to a route, but a sign-in or a bearer token must count only when it fails, and the
budget must be tested before the password is verified, so that a refusal costs no Argon2 time
and a right password is refused as well until the window frees. `limits` gives exactly these
steps (`test`, `hit`, the window's reset time) with a moving window.

The counts live in this process's memory (`MemoryStorage`): there is no Redis or Memcached here,
and `limits` has no PostgreSQL storage. With N service processes each counts for itself, so one
address may reach up to N times the configured number before every process refuses it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import Lock
from typing import TYPE_CHECKING
from weakref import WeakValueDictionary

import limits
from limits import RateLimitItem
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from service.core.errors import TooManyRequestsError

if TYPE_CHECKING:
    from service.core.settings import Settings

OFF = "off"
"""The setting's value that switches a limit off."""
AUTH_FAILURE_LIMIT = "10/minute"
UPLOAD_LIMIT = "30/hour"


def parse(value: str, setting: str) -> tuple[RateLimitItem, ...]:
    """`10/minute`, several as `10/minute;100/hour`, or `off` (none); else a ValueError."""
    text = value.strip()
    if text.lower() == OFF:
        return ()
    expected = f"{setting}: expected e.g. `10/minute`, `30/hour`, `10/minute;100/hour` or `{OFF}`"
    try:
        items = tuple(limits.parse_many(text))
    except ValueError:
        raise ValueError(f"{expected}, got {value!r}") from None
    if any(item.amount < 1 for item in items):
        raise ValueError(f"{expected} (at least 1 per window; `{OFF}` for no limit), got {value!r}")
    return items


@dataclass(frozen=True)
class Budget:
    """One limit on one kind of request, counted per client address."""

    what: str
    """What is counted, in the refusal's words: `failed authentications`, `uploads`."""
    setting: str
    items: tuple[RateLimitItem, ...]
    limiter: MovingWindowRateLimiter
    _locks: WeakValueDictionary[str, Lock] = field(default_factory=WeakValueDictionary)
    _locks_guard: Lock = field(default_factory=Lock)

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until the address may try again, or None while it is within budget."""
        full = [item for item in self.items if not self.limiter.test(item, self.what, client)]
        if not full:
            return None
        stats = [self.limiter.get_window_stats(item, self.what, client) for item in full]
        return max(1, math.ceil(max(window.reset_time for window in stats) - time.time()))

    def check(self, client: str) -> None:
        """Refuse (429) an address that has used up its budget; counts nothing."""
        wait = self.retry_after(client)
        if wait is not None:
            shown = "; ".join(str(item) for item in self.items)
            raise TooManyRequestsError(
                f"too many {self.what} from this address: the limit is {shown} "
                f"(set by {self.setting}); try again in {wait} s",
                wait,
            )

    def count(self, client: str) -> None:
        """Record one request of the address."""
        for item in self.items:
            self.limiter.hit(item, self.what, client)

    def take(self, client: str) -> None:
        """Count one request, or refuse it (429) when the budget is used up.

        Counting and testing are one step per window (`hit` refuses once the window is full),
        so requests sent in parallel cannot all pass a test before any of them is counted.
        """
        if all(self.limiter.hit(item, self.what, client) for item in self.items):
            return
        self.check(client)
        raise TooManyRequestsError(f"too many {self.what} from this address", 1)

    @contextmanager
    def one_at_a_time(self, client: str) -> Iterator[None]:
        """Serialise one address's attempts, so the budget is tested and counted in turn.

        A sign-in tests the budget, verifies the password, then counts a failure; without this,
        parallel attempts would all pass the test while the first was still being verified.
        """
        with self._locks_guard:
            lock = self._locks.setdefault(client, Lock())
        with lock:
            yield


@dataclass(frozen=True)
class RateLimits:
    """The budgets of one running app; a new app starts with empty counts."""

    auth_failures: Budget
    """Failed sign-ins and requests with a wrong bearer token; a success is not counted."""
    uploads: Budget
    """Every delivery upload, to `POST /imports` and to the workspace's upload form."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        """The budgets as configured (`BROADBAND_AUTH_FAILURE_LIMIT`, `BROADBAND_UPLOAD_LIMIT`)."""
        limiter = MovingWindowRateLimiter(MemoryStorage())
        failures = "BROADBAND_AUTH_FAILURE_LIMIT"
        uploads = "BROADBAND_UPLOAD_LIMIT"
        return cls(
            auth_failures=Budget(
                "failed authentications",
                failures,
                parse(settings.auth_failure_limit, failures),
                limiter,
            ),
            uploads=Budget("uploads", uploads, parse(settings.upload_limit, uploads), limiter),
        )
