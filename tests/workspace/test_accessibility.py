"""Every workspace page checked by axe-core (from npm) in Chromium: no WCAG 2.1 A/AA violations.

Also saves screenshots of the overview and the map editor (test-artifacts/, for the README).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.core import crs
from service.core.settings import PROJECT_ROOT
from service.features import writes
from service.layers import LAYERS
from tests import helpers
from tests.workspace.conftest import EDITOR, sign_in_page
from tests.workspace.helpers import area_with_addresses, put_back

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
MAP_LOADED = "() => window.workspaceMap && window.workspaceMap.groups.areas.getLayers().length > 0"
OVERVIEW_LOADED = "() => window.overviewMap && window.overviewMap.ready === true"
SIZE: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def axe_source() -> str:
    """Fails the module early when `npm ci` has not installed axe-core."""
    return helpers.axe_source()


@dataclass(frozen=True)
class Scene:
    """What opening a page may need: where the service is, an area, and the database."""

    service_url: str
    password: str
    area_id: int
    area_name: str
    factory: sessionmaker[Session]
    folder: Path


@pytest.fixture
def scene(
    service_url: str,
    factory: sessionmaker[Session],
    workspace_users: dict[str, str],
    tmp_path: Path,
) -> Iterator[Scene]:
    """An area whose values are written back afterwards (the conflict page changes it)."""
    fid, name, _ = area_with_addresses(factory)
    with put_back(factory, "areas", fid):
        yield Scene(service_url, workspace_users[EDITOR], fid, name, factory, tmp_path)


@pytest.fixture
def page(browser: Browser, axe_source: str) -> Iterator[Page]:
    """A fresh German page at 1280×800 that may inject axe-core.

    `bypass_csp` only for this test: the workspace's CSP (no 'unsafe-inline') rightly blocks the
    injected axe script; the CSP sent by the service stays as it is and is checked elsewhere.
    """
    context = browser.new_context(locale="de-DE", viewport=SIZE, bypass_csp=True)
    yield context.new_page()
    context.close()


def _sign_in(page: Page, scene: Scene) -> None:
    sign_in_page(page, scene.service_url, EDITOR, scene.password)


def _sign_in_form(page: Page, scene: Scene) -> None:
    page.goto(f"{scene.service_url}/redaktion/anmelden")


def _sign_in_refused(page: Page, scene: Scene) -> None:
    _sign_in_form(page, scene)
    page.get_by_label("Name").fill("test-ws-unbekannt")
    page.get_by_label("Passwort").fill("falsch")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("alert")).to_contain_text("Name oder Passwort falsch")


def _overview(page: Page, scene: Scene) -> None:
    _sign_in(page, scene)
    page.goto(f"{scene.service_url}/redaktion")
    page.wait_for_function(OVERVIEW_LOADED)


def _form(page: Page, scene: Scene) -> None:
    _sign_in(page, scene)
    page.goto(f"{scene.service_url}/redaktion/areas/{scene.area_id}")


def _form_with_effect(page: Page, scene: Scene) -> None:
    _form(page, scene)
    page.get_by_label("Status", exact=False).first.select_option("connected")
    page.get_by_role("button", name="Auswirkung anzeigen").click()
    expect(page.locator(".ws-wirkung")).to_contain_text("→ erschlossen")


def _form_with_errors(page: Page, scene: Scene) -> None:
    _form(page, scene)
    page.locator("#feld-name").fill("")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("alert")).to_contain_text("Nichts wurde gespeichert")


def _any(version: int) -> None:
    """No version check: the other person's save in `_conflict` must go through."""


def _conflict(page: Page, scene: Scene) -> None:
    """Open the form, let someone else save the area meanwhile, then save the stale form."""
    _form(page, scene)
    other = {"properties": {"notes": "Inzwischen von jemand anderem geändert"}}
    areas = LAYERS["areas"]
    anyone = "test-suite"
    writes.change(scene.factory, areas, scene.area_id, other, crs.DEFAULT, anyone, _any, True)
    page.get_by_label("Anbieter").fill("Anderer Anbieter")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Konflikt")


def _feature_history(page: Page, scene: Scene) -> None:
    _sign_in(page, scene)
    page.goto(f"{scene.service_url}/redaktion/areas/{scene.area_id}/verlauf")


def _town_history(page: Page, scene: Scene) -> None:
    _sign_in(page, scene)
    page.goto(f"{scene.service_url}/redaktion/verlauf")


def _editor_loaded(page: Page, scene: Scene) -> None:
    page.goto(f"{scene.service_url}/redaktion/karte")
    page.wait_for_function(MAP_LOADED)


def _editor_selected(page: Page, scene: Scene) -> None:
    _editor_loaded(page, scene)
    page.evaluate("(id) => window.workspaceMap.select('areas', id)", scene.area_id)
    expect(page.get_by_role("heading", name=f"{scene.area_name} bearbeiten")).to_be_visible()


def _map_editor(page: Page, scene: Scene) -> None:
    _sign_in(page, scene)
    _editor_loaded(page, scene)


def _map_editor_with_selection(page: Page, scene: Scene) -> None:
    _sign_in(page, scene)
    _editor_selected(page, scene)


def _delivery_form(page: Page, scene: Scene) -> None:
    _sign_in(page, scene)
    page.goto(f"{scene.service_url}/redaktion/lieferung")


def _one_changed_area(scene: Scene) -> Path:
    """A GeoJSON delivery (CRS84) of the scene's area with another status."""
    with scene.factory() as session:
        row = session.execute(
            text(
                "SELECT name, kind, status, ST_AsGeoJSON(ST_Transform(geom, 4326), 7) AS shape "
                "FROM areas WHERE id = :id"
            ),
            {"id": scene.area_id},
        ).one()
    status = "under_construction" if row.status != "under_construction" else "planned"
    feature = {
        "type": "Feature",
        "properties": {"name": row.name, "kind": row.kind, "status": status},
        "geometry": json.loads(row.shape),
    }
    path = scene.folder / "Lieferung_ein_Gebiet.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def _delivery_preview(page: Page, scene: Scene) -> None:
    _delivery_form(page, scene)
    page.get_by_label("Datei", exact=True).set_input_files(_one_changed_area(scene))
    page.get_by_label("Ebene").select_option(label="Ausbaugebiete")
    page.get_by_role("button", name="Vorschau anzeigen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vorschau:")
    page.wait_for_function("() => window.deliveryMap && window.deliveryMap.affected")


PAGES: dict[str, Callable[[Page, Scene], None]] = {
    "Anmeldung": _sign_in_form,
    "Anmeldung abgelehnt": _sign_in_refused,
    "Übersicht": _overview,
    "Formular": _form,
    "Formular mit Auswirkung": _form_with_effect,
    "Formular mit Fehlern": _form_with_errors,
    "Konflikt": _conflict,
    "Verlauf eines Gebiets": _feature_history,
    "Gesamtverlauf": _town_history,
    "Kartenredaktion": _map_editor,
    "Kartenredaktion mit Auswahl": _map_editor_with_selection,
    "Lieferung hochladen": _delivery_form,
    "Lieferung Vorschau": _delivery_preview,
}


@pytest.mark.parametrize("name", list(PAGES))
def test_workspace_page_has_no_wcag_21_aa_violations(
    page: Page, scene: Scene, axe_source: str, name: str
) -> None:
    PAGES[name](page, scene)
    violations = helpers.axe_violations(page)
    where = f"axe-core on „{name}“ ({page.url}):"
    assert violations == [], f"{where}\n{helpers.axe_report(violations)}"


def test_the_check_finds_a_planted_violation(page: Page, scene: Scene, axe_source: str) -> None:
    """The check can fail: an unlabelled field put into a workspace page is reported."""
    _sign_in_form(page, scene)
    page.evaluate("document.querySelector('form').appendChild(document.createElement('input'))")
    violations = helpers.axe_violations(page)
    assert "label" in [v["id"] for v in violations], helpers.axe_report(violations)


def test_screenshots_of_the_overview_and_the_map_editor(page: Page, scene: Scene) -> None:
    """1280×800 pictures for the README's "Redaktion" section (copied to docs/ by hand)."""
    ARTIFACTS.mkdir(exist_ok=True)
    _overview(page, scene)
    expect(page.locator("#uebersichtskarte .leaflet-interactive").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "redaktion.png"))
    _editor_selected(page, scene)
    page.evaluate(
        "() => { const api = window.workspaceMap;"
        " api.map.fitBounds(api.state.layer.getBounds().pad(1.5), {animate: false}); }"
    )
    page.screenshot(path=str(ARTIFACTS / "redaktion-karte.png"))
    assert (ARTIFACTS / "redaktion.png").stat().st_size > 10_000
    assert (ARTIFACTS / "redaktion-karte.png").stat().st_size > 10_000
