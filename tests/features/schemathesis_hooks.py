"""Hooks for the schemathesis run of test_ogc_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

A rule no JSON Schema can state, because it moves every day: a date the figures are asked for
(`as_of`, and `to` of the timeline) must not lie after today. Generated dates after it are
dropped before they are sent, instead of counting the service's 400 as a refused valid request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import schemathesis

FIGURE_DATES = ("as_of", "to")
# The database's today may run a day ahead of or behind this process's (time zones).
LATEST = dt.date.today() - dt.timedelta(days=1)


def _after_today(value: Any) -> bool:
    """A well-formed date later than yesterday; anything else is for the service to judge."""
    try:
        return isinstance(value, str) and dt.date.fromisoformat(value) > LATEST
    except ValueError:
        return False


@schemathesis.hook
def filter_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> bool:
    """Send a generated query unless it asks for figures of a day still to come."""
    return not any(_after_today((query or {}).get(name)) for name in FIGURE_DATES)
