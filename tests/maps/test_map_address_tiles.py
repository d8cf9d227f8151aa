"""The map's address points in a real Chromium: from zoom 15 it fetches the address vector tiles
and draws each address in its status colour; at zoom 14 it fetches none."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from sqlalchemy.orm import Session

CENTRE = (7.1676, 51.9456)  # Coesfeld's market square
TILE_REQUEST = re.compile(r"/tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)\?collections=address_coverage")
BUFFER = 64 / 4096  # what a tile holds beyond its edges, as a share of its side
# The map's colours (DESIGN.md), by best-status rank of the coverage state.
COLOURS = {
    1: (215, 25, 28),
    2: (44, 123, 182),
    3: (142, 99, 181),
    4: (140, 140, 140),
    5: (255, 217, 47),
    6: (255, 255, 255),
}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 800, "height": 600}, locale="de-DE")
    yield context.new_page()
    context.close()


def _tile_of(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional tile column and row (Web Mercator), computed here, not by the service."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return (lon + 180) / 360 * n, y


def _ranks_in(db: Session, tiles: set[tuple[int, int]], buffer: float) -> Counter[int]:
    """Best-status ranks of the addresses within these z15 tiles (widened by `buffer`)."""
    rows = db.execute(
        text(
            "SELECT ST_X(p) AS lon, ST_Y(p) AS lat, c.best_rank FROM addresses a "
            "JOIN address_coverage c ON c.address_id = a.id, "
            "LATERAL ST_Transform(a.geom, 4326) AS p"
        )
    ).all()
    found: Counter[int] = Counter()
    for lon, lat, rank in rows:
        x, y = _tile_of(lon, lat, 15)
        if any(
            tx - buffer <= x <= tx + 1 + buffer and ty - buffer <= y <= ty + 1 + buffer
            for tx, ty in tiles
        ):
            found[rank] += 1
    return found


DRAWN_COLOURS = """() => {
  const counts = {};
  document.querySelectorAll(".leaflet-bb-addresses-pane canvas").forEach((canvas) => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] !== 255) continue;
      const key = data[i] + "," + data[i + 1] + "," + data[i + 2];
      counts[key] = (counts[key] || 0) + 1;
    }
  });
  return counts;
}"""


def test_address_tiles_are_fetched_and_drawn_from_zoom_15_only(
    service_url: str, page: Page, db: Session
) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    lon, lat = CENTRE
    page.goto(f"{service_url}/map?center={lon},{lat}&zoom=14", wait_until="load")
    page.locator(".leaflet-overlay-pane svg path").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert [url for url in requested if "/tiles/" in url] == []
    assert [url for url in requested if "protomaps" in url] == []  # fetched on reaching 15

    with page.expect_response(lambda r: TILE_REQUEST.search(r.url) is not None) as first:
        page.evaluate("window.broadbandMap.map.setZoom(15)")
    assert first.value.status == 200
    page.wait_for_load_state("networkidle")
    page.wait_for_function(f"Object.keys(({DRAWN_COLOURS})()).length > 0")
    tiles = set()
    for url in requested:
        if (match := TILE_REQUEST.search(url)) is not None:
            z, x, y = (int(part) for part in match.groups())
            assert z == 15
            tiles.add((x, y))
    assert (int(_tile_of(lon, lat, 15)[0]), int(_tile_of(lon, lat, 15)[1])) in tiles

    drawn = page.evaluate(DRAWN_COLOURS)
    palette = {f"{r},{g},{b}": rank for rank, (r, g, b) in COLOURS.items()}
    drawn_ranks = {palette[key] for key in drawn if key in palette}
    possible = _ranks_in(db, tiles, BUFFER)
    assert drawn_ranks, "no address drawn in a status colour"
    assert drawn_ranks <= set(possible)
    assert possible.most_common(1)[0][0] in drawn_ranks


def test_the_legend_explains_the_address_colours(service_url: str, page: Page) -> None:
    page.goto(f"{service_url}/map", wait_until="load")
    items = page.locator("#bb-legend li[data-address-status]")
    assert items.count() == 6
    assert items.nth(0).inner_text().strip() == "erschlossen"
    assert items.nth(5).inner_text().strip() == "in keinem Ausbaugebiet"
    dot = items.nth(0).locator(".bb-dot")
    assert dot.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(215, 25, 28)"
