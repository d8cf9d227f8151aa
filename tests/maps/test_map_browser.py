"""The map in a real headless Chromium: loads cleanly, shows every feature, asks no other host."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.settings import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
HISTORIC = {
    "connected": ("rgb(215, 25, 28)", "erschlossen (eigenwirtschaftlich)"),
    "funded": ("rgb(26, 150, 65)", "erschlossen, gefördert (Gewerbegebiete)"),
    "insufficient_demand": ("rgb(255, 217, 47)", "Nachfrage nicht ausreichend"),
}


class Watched:
    """A page plus everything it logged and requested."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    yield Watched(context.new_page())
    context.close()


def _open(watched: Watched, url: str) -> Page:
    page = watched.page
    page.goto(url, wait_until="load")
    page.locator(".leaflet-overlay-pane svg path").first.wait_for()
    return page


def _counts(page: Page) -> dict[str, int]:
    counts: dict[str, int] = page.evaluate(
        "Object.fromEntries(Object.entries(window.broadbandMap.layers)"
        ".map(([name, layer]) => [name, layer.getLayers().length]))"
    )
    return counts


def _expected_counts(db: Session) -> dict[str, int]:
    return {
        table: db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in ("municipality", "districts", "areas", "hamlets", "schools")
    }


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_map_loads_cleanly_with_every_feature_and_no_outside_request(
    service_url: str, watched: Watched, db: Session, path: str
) -> None:
    page = _open(watched, service_url + path)
    assert watched.errors == []
    assert _counts(page) == _expected_counts(db)
    hosts = {urlsplit(url).netloc for url in watched.requests if not url.startswith("data:")}
    assert hosts == {urlsplit(service_url).netloc}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map{path.replace('/', '-')}.png"))


def test_legend_shows_the_historic_colours(service_url: str, watched: Watched) -> None:
    page = _open(watched, service_url + "/map")
    for key, (colour, label) in HISTORIC.items():
        item = page.locator(f'#bb-legend li[data-status="{key}"]')
        assert item.inner_text().strip() == label
        swatch = item.locator(".bb-swatch")
        assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == colour
    headline = page.locator("#bb-headline").inner_text()
    assert "der Adressen erschlossen" in headline
    assert "von 12.000 Adressen" in headline


def test_clicking_an_area_opens_its_details(
    service_url: str, watched: Watched, db: Session
) -> None:
    name, lon, lat = db.execute(
        text(
            "SELECT name, ST_X(p), ST_Y(p) FROM (SELECT name, "
            "ST_Transform(ST_PointOnSurface(geom), 4326) AS p FROM areas "
            "WHERE kind = 'commercial' AND funding = 'funded' ORDER BY name LIMIT 1) a"
        )
    ).one()
    page = _open(watched, f"{service_url}/map?layers=areas&center={lon},{lat}&zoom=16")
    point = page.evaluate(
        "([lat, lon]) => window.broadbandMap.map.latLngToContainerPoint([lat, lon])", [lat, lon]
    )
    box = page.locator(".leaflet-container").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    details = page.locator("#bb-details")  # the details panel replaced Leaflet's popups
    details.wait_for()
    content = details.inner_text()
    assert name in content
    assert "erschlossen" in content
    assert "gefördert" in content


def test_highlight_parameter_opens_that_feature(
    service_url: str, watched: Watched, db: Session
) -> None:
    area_id, name = db.execute(
        text("SELECT id, name FROM areas WHERE status = 'under_construction' LIMIT 1")
    ).one()
    page = _open(watched, f"{service_url}/map?highlight=areas/{area_id}")
    assert name in page.locator("#bb-details").inner_text()
    assert page.locator("path.bb-highlight").count() == 1


def test_layers_and_zoom_parameters(service_url: str, watched: Watched) -> None:
    page = _open(watched, f"{service_url}/map?layers=areas,schools&center=7.17,51.94&zoom=15")
    shown = page.evaluate(
        "Object.fromEntries(Object.entries(window.broadbandMap.layers)"
        ".map(([name, layer]) => [name, window.broadbandMap.map.hasLayer(layer)]))"
    )
    assert shown == {
        "municipality": False,
        "districts": False,
        "areas": True,
        "hamlets": False,
        "schools": True,
    }
    assert page.evaluate("window.broadbandMap.map.getZoom()") == 15


def test_address_search_reports_status_and_zooms(service_url: str, watched: Watched) -> None:
    page = _open(watched, service_url + "/map")
    page.fill("#bb-q", "Marktplatz 1")
    page.click("#bb-search button")
    result = page.locator("#bb-result")
    page.locator("#bb-result[data-status]").wait_for()
    assert "Marktplatz 1" in result.inner_text()
    assert "Nachfrage nicht ausreichend" in result.inner_text()
    assert page.evaluate("window.broadbandMap.map.getZoom()") == 17
    page.fill("#bb-q", "Gibtsnichtweg 5")
    page.click("#bb-search button")
    page.get_by_text("Adresse nicht gefunden.").wait_for()
    assert watched.errors == []
