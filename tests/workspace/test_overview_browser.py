"""The overview's map in Chromium: the same features as the filtered tables, a popup with the link
to each one's form, and no CSP violations."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.workspace.helpers import Console

LOADED = "() => window.overviewMap && window.overviewMap.ready === true"


def _rows(page: Page, layer: str) -> int:
    """Rows of a layer's table (none when it says there are no entries)."""
    body = page.locator("section", has=page.locator(f"#h-{layer}")).locator("tbody tr")
    return body.filter(has=page.locator("th")).count()


def _shapes(page: Page, layer: str) -> int:
    shapes: int = page.evaluate(
        "(layer) => { const group = window.overviewMap.layers[layer];"
        " return group ? group.getLayers().length : 0; }",
        layer,
    )
    return shapes


def test_the_map_shows_the_filtered_features_and_links_to_their_forms(
    signed_in: Page, service_url: str, factory: sessionmaker[Session]
) -> None:
    page = signed_in
    console = Console(page)
    with factory() as session:
        connected = session.execute(
            text("SELECT count(*) FROM areas WHERE status = 'connected'")
        ).scalar_one()
    page.goto(f"{service_url}/redaktion?status=connected")
    page.wait_for_function(LOADED)
    map_region = page.get_by_role("region", name="Karte der Einträge in den Tabellen")
    expect(map_region).to_be_visible()
    assert _rows(page, "areas") == connected > 0
    assert _shapes(page, "areas") == _rows(page, "areas")
    assert _shapes(page, "hamlets") == _rows(page, "hamlets")
    assert _shapes(page, "schools") == _rows(page, "schools") == 0  # schools have no `status`
    assert page.locator("#uebersichtskarte path.leaflet-interactive").count() >= connected

    name = page.evaluate(
        "() => { const shape = window.overviewMap.layers.areas.getLayers()[0];"
        " shape.fire('click', {latlng: shape.getBounds().getCenter()});"
        " return shape.feature.properties.name; }"
    )
    link = page.locator(".leaflet-popup").get_by_role("link", name=f"{name} bearbeiten")
    expect(link).to_be_visible()
    expect(page.locator(".leaflet-popup-close-button")).to_have_attribute("aria-label", "Schließen")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{name} bearbeiten")
    assert console.csp_violations() == []
    assert console.errors() == []


def test_on_a_narrow_screen_the_map_goes_below_the_tables(
    signed_in: Page, service_url: str
) -> None:
    page = signed_in
    page.set_viewport_size({"width": 400, "height": 800})
    page.goto(f"{service_url}/redaktion")
    page.wait_for_function(LOADED)
    tables = page.locator(".ws-tabellen").bounding_box()
    shown = page.locator("#uebersichtskarte").bounding_box()
    assert tables is not None and shown is not None
    assert shown["y"] >= tables["y"] + tables["height"]
    assert shown["width"] >= tables["width"] - 1
