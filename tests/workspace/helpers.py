"""What the workspace tests share: pick an area with addresses, read values, put them back,
watch the browser console."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.core import crs
from service.features import writes
from service.layers import LAYERS

AREA_WITH_ADDRESSES = """
SELECT a.id, a.name, a.status FROM areas a
WHERE a.status <> 'connected' AND EXISTS (
    SELECT 1 FROM address_features p JOIN address_coverage c ON c.address_id = p.address_id
    WHERE p.feature_table = 'areas' AND p.feature_id = a.id AND c.best_rank > 1)
ORDER BY a.id LIMIT 1
"""


def area_with_addresses(factory: sessionmaker[Session]) -> tuple[int, str, str]:
    """An area that is not connected and holds addresses that are not connected yet."""
    with factory() as session:
        row = session.execute(text(AREA_WITH_ADDRESSES)).one()
    return int(row.id), str(row.name), str(row.status)


def stored(factory: sessionmaker[Session], layer: str, fid: int) -> dict[str, Any]:
    """The feature's row as stored, version included."""
    with factory() as session:
        row = session.execute(text(f"SELECT * FROM {layer} WHERE id = :id"), {"id": fid})
        return dict(row.mappings().one())


@contextmanager
def put_back(factory: sessionmaker[Session], layer: str, fid: int) -> Iterator[None]:
    """Writes the feature's properties and geometry back as they were (a new logged change)."""
    collection = LAYERS[layer]
    with factory() as session:
        row = (
            session.execute(
                text(f"SELECT *, ST_AsGeoJSON(geom) AS shape FROM {layer} WHERE id = :id"),
                {"id": fid},
            )
            .mappings()
            .one()
        )
    document = {
        "type": "Feature",
        "properties": {name: _plain(row[name]) for name in collection.fields},
        "geometry": json.loads(row["shape"]),
    }
    try:
        yield
    finally:
        writes.change(
            factory, collection, fid, document, crs.STORAGE, "test-suite", lambda _v: None, False
        )


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def hidden(page_text: str, name: str) -> str:
    """The value of a hidden input of a rendered page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page_text)
    assert found, f"no hidden {name} in page"
    return found.group(1)


class Console:
    """What the page logged: errors, and CSP violations in particular."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.messages.append(f"pageerror: {e}"))

    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m]

    def errors(self) -> list[str]:
        return [m for m in self.messages if m.startswith(("error", "pageerror"))]
