"""The map editor in Chromium: draw, refuse a bow-tie where it crosses, split; no CSP violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.workspace.helpers import Console

EDITOR = "/redaktion/karte"
AREAS = "/collections/areas/items"
LOADED = "() => window.workspaceMap && window.workspaceMap.groups.areas.getLayers().length > 0"
HALF = 0.0015  # degrees: a square of about 200 m × 330 m


@pytest.fixture
def centre(factory: sessionmaker[Session], coesfeld: object) -> tuple[float, float]:
    """A point inside the municipality, away from its edge (lon, lat)."""
    with factory() as session:
        row = session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface("
                "ST_Buffer(geom, -2000)), 4326) AS p FROM municipality LIMIT 1) AS s"
            )
        ).one()
    return float(row[0]), float(row[1])


@pytest.fixture
def editor(signed_in: Page, service_url: str, restore: None) -> Iterator[tuple[Page, Console]]:
    """The editor page, loaded with every area; features it adds are removed afterwards."""
    console = Console(signed_in)
    signed_in.goto(f"{service_url}{EDITOR}")
    signed_in.wait_for_function(LOADED)
    yield signed_in, console
    assert console.csp_violations() == []


def _square(lon: float, lat: float) -> list[list[float]]:
    return [
        [lon - HALF, lat - HALF],
        [lon + HALF, lat - HALF],
        [lon + HALF, lat + HALF],
        [lon - HALF, lat + HALF],
    ]


def _draw(page: Page, collection: str, ring: list[list[float]]) -> None:
    """Draw as Geoman does: its draw mode on, a finished polygon announced by `pm:create`."""
    title = "Ausbaugebiete" if collection == "areas" else "Bauerschaften"
    page.get_by_role("button", name=f"Neu zeichnen: {title}").click()
    page.evaluate(
        """(ring) => {
            const map = window.workspaceMap.map;
            const layer = L.polygon(ring.map(([lon, lat]) => [lat, lon])).addTo(map);
            map.fire("pm:create", {layer: layer, shape: "Polygon"});
        }""",
        ring,
    )


def _fill(page: Page, name: str) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Art", exact=True).select_option(label="Gewerbegebiet")
    page.get_by_label("Status", exact=True).select_option(label="im Bau")
    page.get_by_label("Anbieter").fill("Deutsche Glasfaser")


def _areas(service_url: str) -> list[dict[str, Any]]:
    found = httpx.get(
        f"{service_url}{AREAS}?limit=10000", headers={"Accept": "application/geo+json"}
    )
    features: list[dict[str, Any]] = found.json()["features"]
    return features


def _named(service_url: str, name: str) -> list[dict[str, Any]]:
    return [f for f in _areas(service_url) if f["properties"]["name"] == name]


def test_draw_a_new_area_and_find_it_in_the_api(
    editor: tuple[Page, Console], service_url: str, centre: tuple[float, float]
) -> None:
    page, console = editor
    _draw(page, "areas", _square(*centre))
    _fill(page, "Testgebiet Kartenredaktion")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("alert")).to_contain_text("Gespeichert: Testgebiet Kartenredaktion")
    [stored] = _named(service_url, "Testgebiet Kartenredaktion")
    assert stored["properties"]["kind"] == "commercial"
    assert stored["properties"]["status"] == "under_construction"
    assert stored["properties"]["provider"] == "Deutsche Glasfaser"
    assert stored["properties"]["status_since"]  # no date given: holds from today
    ring = stored["geometry"]["coordinates"][0][0]
    assert min(x for x, _ in ring) == pytest.approx(centre[0] - HALF, abs=1e-6)
    assert console.errors() == []


def test_a_bow_tie_is_refused_with_its_crossing_marked_and_nothing_stored(
    editor: tuple[Page, Console], service_url: str, centre: tuple[float, float]
) -> None:
    page, _ = editor
    lon, lat = centre
    before = len(_areas(service_url))
    bow_tie = [[lon - HALF, lat - HALF], [lon + HALF, lat + HALF], [lon + HALF, lat - HALF]]
    bow_tie.append([lon - HALF, lat + HALF])
    _draw(page, "areas", bow_tie)
    _fill(page, "Testgebiet Schleife")
    page.get_by_role("button", name="Speichern").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Die Umrandung überschneidet sich selbst")
    expect(alert).to_contain_text("Self-intersection")
    expect(page.locator("path.fehlerort")).to_be_visible()
    marked = page.evaluate("window.workspaceMap.state.marker.getLatLng()")
    assert marked["lng"] == pytest.approx(lon, abs=1e-6)
    assert marked["lat"] == pytest.approx(lat, abs=1e-6)
    assert len(_areas(service_url)) == before
    assert _named(service_url, "Testgebiet Schleife") == []


def test_an_area_outside_the_municipality_is_refused_and_marked(
    editor: tuple[Page, Console], service_url: str, centre: tuple[float, float]
) -> None:
    page, _ = editor
    far = (centre[0] + 0.5, centre[1])  # some 35 km east
    _draw(page, "areas", _square(*far))
    _fill(page, "Testgebiet Draußen")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("alert")).to_contain_text("außerhalb der Gemeindegrenze")
    marked = page.evaluate("window.workspaceMap.state.marker.getLatLng()")
    assert marked["lng"] == pytest.approx(far[0], abs=2 * HALF)
    assert _named(service_url, "Testgebiet Draußen") == []


def test_split_an_area_in_two(
    editor: tuple[Page, Console],
    service_url: str,
    centre: tuple[float, float],
    tokens: dict[str, str],
) -> None:
    page, console = editor
    lon, lat = centre
    ring = _square(lon, lat)
    created = httpx.post(
        f"{service_url}{AREAS}",
        headers={"Authorization": f"Bearer {tokens['editor']}"},
        json={
            "type": "Feature",
            "properties": {
                "name": "Testgebiet Teilung",
                "kind": "settlement",
                "status": "planned",
                "status_since": "2026-01-15",
            },
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        },
    )
    assert created.status_code == 201, created.text
    fid = created.json()["id"]
    page.reload()
    page.wait_for_function(LOADED)
    page.evaluate(f"window.workspaceMap.select('areas', {fid})")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Testgebiet Teilung")
    page.get_by_role("button", name="Gebiet teilen").click()
    cut = [[lat - 2 * HALF, lon - HALF / 2], [lat + 2 * HALF, lon - HALF / 2]]  # west quarter
    page.evaluate(
        """(line) => {
            const map = window.workspaceMap.map;
            const layer = L.polyline(line).addTo(map);
            map.fire("pm:create", {layer: layer, shape: "Line"});
        }""",
        cut,
    )
    expect(page.get_by_role("alert")).to_contain_text("Geteilt")
    [first] = _named(service_url, "Testgebiet Teilung")
    [second] = _named(service_url, "Testgebiet Teilung (Teil 2)")
    assert first["id"] == fid
    assert second["properties"]["status"] == "planned"
    assert second["properties"]["status_since"] == "2026-01-15"
    xs_first = [x for x, _ in first["geometry"]["coordinates"][0][0]]
    xs_second = [x for x, _ in second["geometry"]["coordinates"][0][0]]
    assert min(xs_first) == pytest.approx(lon - HALF / 2, abs=1e-6)  # the larger, eastern part
    assert max(xs_second) == pytest.approx(lon - HALF / 2, abs=1e-6)
    assert console.errors() == []
