"""The map for keyboard and screen-reader users (BITV 2.0 / WCAG 2.1 AA), checked in Chromium.

axe-core finds what rules can find; the keyboard walk, the German control names, the metric
scale and the approximation note are what a visitor would notice that axe cannot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import axe_report, axe_violations
from tests.kreis import loaded

TARGET = "Herteler"  # a Bauerschaft of the Coesfeld data, demand too low


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="de-DE", bypass_csp=True
    )
    yield context.new_page()
    context.close()


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.locator(".leaflet-overlay-pane svg path").first.wait_for()


def _focused_label(page: Page) -> str:
    label: str = page.evaluate(
        "(() => { const e = document.activeElement; "
        "const byLabel = e.labels && e.labels.length ? e.labels[0].textContent.trim() : ''; "
        "return e.getAttribute('aria-label') || byLabel || e.textContent.trim() || ''; })()"
    )
    return label


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_axe_finds_no_wcag_21_aa_violation(service_url: str, page: Page, path: str) -> None:
    _open(page, service_url + path)
    found = axe_violations(page)
    print(f"\naxe {path}: {len(found)} violations")
    assert found == [], axe_report(found)


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_axe_finds_no_violation_with_details_open(service_url: str, page: Page, path: str) -> None:
    _open(page, service_url + path)
    page.locator("path.bb-feature").first.dispatch_event("click")
    page.locator("#bb-details").wait_for()
    found = axe_violations(page)
    print(f"\naxe {path} with details open: {len(found)} violations")
    assert found == [], axe_report(found)


def test_axe_finds_no_violation_on_a_phone_with_a_panel_open(
    service_url: str, browser: Browser
) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 667}, locale="de-DE", bypass_csp=True, is_mobile=True
    )
    phone = context.new_page()
    _open(phone, service_url + "/map")
    phone.get_by_role("button", name="Legende").click()
    found = axe_violations(phone)
    context.close()
    print(f"\naxe /map at 375x667, legend open: {len(found)} violations")
    assert found == [], axe_report(found)


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_viewport_allows_zoom(service_url: str, page: Page, path: str) -> None:
    _open(page, service_url + path)
    metas = page.locator('meta[name="viewport"]')
    assert metas.count() == 1
    content = (metas.get_attribute("content") or "").replace(" ", "")
    assert "user-scalable=no" not in content and "maximum-scale" not in content
    assert "width=device-width" in content


def test_keyboard_alone_reaches_a_bauerschaft_and_opens_its_details(
    service_url: str, page: Page
) -> None:
    _open(page, service_url + "/map")
    visited: list[str] = []
    for _ in range(120):
        page.keyboard.press("Tab")
        outline = page.evaluate("document.activeElement.matches('.bb-municipality, .bb-districts')")
        assert not outline, "an outline took focus without a purpose"
        label = _focused_label(page)
        assert label, page.evaluate("document.activeElement.outerHTML.slice(0, 200)")
        visited.append(label)
        if label.startswith(f"Bauerschaft {TARGET}"):
            break
    assert visited[-1] == f"Bauerschaft {TARGET}, Nachfrage nicht ausreichend"
    # Areas come before Bauerschaften, schools after.
    assert any(v.startswith("Ausbaugebiet ") for v in visited)
    assert not any(v.startswith("Schule ") for v in visited)
    page.keyboard.press("Enter")
    details = page.locator("#bb-details")
    assert details.is_visible()
    assert details.get_attribute("aria-labelledby") == "bb-details-title"
    assert page.locator("#bb-details-body").get_attribute("aria-live") == "polite"
    content = details.inner_text()
    assert TARGET in content and "Nachfrage nicht ausreichend" in content
    assert "Lage näherungsweise" in content
    # The panel does not cover the feature: its centre lies in the map, outside the panel.
    shape = page.locator("path.bb-selected").bounding_box()
    box = details.bounding_box()
    assert shape is not None and box is not None
    x, y = shape["x"] + shape["width"] / 2, shape["y"] + shape["height"] / 2
    assert not (
        box["x"] <= x <= box["x"] + box["width"] and box["y"] <= y <= box["y"] + box["height"]
    )
    assert 0 <= x <= 1280 and 0 <= y <= 900
    page.keyboard.press("Escape")
    assert not details.is_visible()
    assert _focused_label(page) == f"Bauerschaft {TARGET}, Nachfrage nicht ausreichend"
    page.keyboard.press("Space")  # Space opens it too
    assert details.is_visible() and TARGET in details.inner_text()


def test_every_feature_is_a_named_button(service_url: str, page: Page, db: Session) -> None:
    _open(page, service_url + "/map")
    labels: list[str] = page.locator("path.bb-feature").evaluate_all(
        "es => es.map(e => e.getAttribute('role') + '|' + e.getAttribute('tabindex') + '|' "
        "+ e.getAttribute('aria-label'))"
    )
    expected = sum(
        db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
        for t in ("areas", "hamlets", "schools")
    )
    assert len(labels) == expected
    assert all(
        re.fullmatch(r"button\|0\|(Ausbaugebiet|Bauerschaft|Schule) .+, .+", v) for v in labels
    )
    assert "button|0|Ausbaugebiet Kernstadt Süd, erschlossen" in labels
    outlines = page.locator("path.bb-municipality, path.bb-districts")
    assert outlines.count() == 4  # boundary and three districts: drawn, but no Tab stops
    assert all(e.get_attribute("tabindex") == "-1" for e in outlines.all())


def test_leaflet_controls_speak_german(service_url: str, page: Page) -> None:
    _open(page, service_url + "/map")
    assert page.locator(".leaflet-control-zoom-in").get_attribute("aria-label") == "Vergrößern"
    assert page.locator(".leaflet-control-zoom-out").get_attribute("aria-label") == "Verkleinern"
    assert page.locator(".leaflet-control-layers-toggle").get_attribute("title") == "Ebenen"
    assert page.locator(".leaflet-control-attribution").get_attribute("aria-label") == (
        "Quellenangaben"
    )
    container = page.locator(".leaflet-container")
    assert container.get_attribute("role") == "region"
    assert (container.get_attribute("aria-label") or "").startswith("Karte")
    html = page.content()
    for english in ("Zoom in", "Zoom out", '"Layers"', "Close popup", "A JavaScript library"):
        assert english not in html
    # The search marker's popup, Leaflet's only popup left, closes with a German button.
    page.fill("#bb-q", "Marktplatz 1")
    page.click("#bb-search button[type=submit]")
    page.locator("#bb-result[data-status]").wait_for()
    page.evaluate(
        "window.broadbandMap.map.eachLayer(l => { if (l.getPopup && l.getPopup()) l.openPopup(); })"
    )
    close = page.locator(".leaflet-popup-close-button")
    assert close.get_attribute("aria-label") == "Schließen"


def test_scale_is_metric_only(service_url: str, page: Page) -> None:
    _open(page, service_url + "/map")
    lines = page.locator(".leaflet-control-scale-line")
    assert lines.count() == 1
    assert re.fullmatch(r"\d+ (m|km)", lines.inner_text().strip())
    scale = page.locator(".leaflet-control-scale")
    assert re.fullmatch(r"Maßstab: \d+ (m|km)", scale.get_attribute("aria-label") or "")
    page.evaluate("window.broadbandMap.map.setZoom(17)")
    assert re.fullmatch(r"\d+ m", lines.inner_text().strip())


def test_approximate_features_say_so(service_url: str, page: Page, db: Session) -> None:
    _open(page, service_url + "/map")
    legend = page.locator("#bb-legend").inner_text()
    assert "Lage näherungsweise" in legend
    approximate = db.execute(text("SELECT name FROM areas WHERE approximate LIMIT 1")).scalar_one()
    page.locator(f'path[aria-label^="Ausbaugebiet {approximate},"]').dispatch_event("click")
    assert "Lage näherungsweise" in page.locator("#bb-details").inner_text()
    exact = db.execute(text("SELECT name FROM schools WHERE NOT approximate LIMIT 1")).scalar_one()
    page.locator(f'path[aria-label^="Schule {exact},"]').dispatch_event("click")
    details = page.locator("#bb-details").inner_text()
    assert exact in details and "Lage näherungsweise" not in details


def test_links_to_the_text_view_and_the_statement(service_url: str, page: Page) -> None:
    _open(page, service_url + "/map?as_of=2021-11-01")
    table = page.get_by_role("link", name="Tabellenansicht")
    assert table.get_attribute("href") == "/map/tabelle?as_of=2021-11-01"
    assert page.get_by_role("link", name="Barrierefreiheit").get_attribute("href") == (
        "/barrierefreiheit"
    )
    _open(page, service_url + "/map/embed?ags=05558012")
    embedded = page.locator("a.bb-textview")
    assert embedded.get_attribute("href") == "/map/tabelle?ags=05558012"
    assert embedded.get_attribute("target") == "_blank"


def test_focus_is_visible_on_controls_and_shapes(service_url: str, page: Page) -> None:
    _open(page, service_url + "/map")
    page.keyboard.press("Tab")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break  # past the last element: the browser's own controls are next
        ring = page.evaluate(
            "(() => { const e = document.activeElement, s = getComputedStyle(e); "
            "return e.tagName.toLowerCase() === 'path' ? s.strokeWidth : s.outlineStyle + ' ' "
            "+ s.outlineWidth; })()"
        )
        assert ring in ("5px", "solid 3px"), page.evaluate(
            "document.activeElement.outerHTML.slice(0, 300)"
        )


def test_a_bauerschaft_shows_its_sign_ups_against_the_quota(service_url: str, page: Page) -> None:
    """Herteler: 31 % signed up against the default quota of 40 % (BROADBAND_DEMAND_QUOTA)."""
    _open(page, service_url + "/map")
    label = page.locator(".bb-demand-label", has_text="31 % von 40 %")
    assert label.count() == 1 and label.is_visible()
    hamlet = page.locator("path.bb-feature[aria-label^='Bauerschaft Herteler']")
    hamlet.dispatch_event("click")
    details = page.locator("#bb-details")
    details.wait_for()
    assert "Anmeldungen: 31 % der Adressen, Quote 40 % (noch 9 % bis zur Quote)" in (
        details.inner_text()
    )
    bar = details.locator("progress.bb-demand-bar")
    assert bar.get_attribute("max") == "40" and bar.get_attribute("value") == "31"
    found = axe_violations(page)
    assert found == [], axe_report(found)


@pytest.fixture
def kreis_map(factory: sessionmaker[Session], coesfeld: object, tmp_path: Path) -> Iterator[str]:
    """The generated Kreis (tests/kreis.py) for one test: the others here count Coesfeld's."""
    with loaded(factory, tmp_path) as key:
        yield key


def test_a_kreis_map_names_every_municipality_and_passes_axe(
    kreis_map: str, service_url: str, browser: Browser
) -> None:
    """One figure per municipality, by hand: Westdorf 3 of 7, Mittelbach 4 of 9, Ostheim 2 of 4."""
    shares = [("Westdorf", "42,86 %", "3 von 7"), ("Mittelbach", "44,44 %", "4 von 9")]
    shares.append(("Ostheim", "50,00 %", "2 von 4"))
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="de-DE", bypass_csp=True
    )
    page = context.new_page()
    _open(page, f"{service_url}/map?ags={kreis_map}")
    towns = page.locator("path.bb-feature")
    labels = towns.evaluate_all(
        "es => es.map(e => e.getAttribute('role') + '|' + e.getAttribute('tabindex') + '|' "
        "+ e.getAttribute('aria-label'))"
    )
    assert labels == [f"button|0|Gemeinde {name}, {share} erschlossen" for name, share, _ in shares]
    written = [" ".join(t.split()) for t in page.locator(".bb-town-label").all_inner_texts()]
    assert written == [f"{name} {share}" for name, share, _ in shares]
    legend = page.locator("#bb-legend ol.bb-towns li").all_inner_texts()
    assert legend == [f"{name}: {share} ({counts} Adressen)" for name, share, counts in shares]
    found = axe_violations(page)
    print(f"\naxe /map?ags={kreis_map}: {len(found)} violations")
    assert found == [], axe_report(found)
    towns.nth(1).focus()
    page.keyboard.press("Enter")
    details = page.locator("#bb-details")
    assert details.is_visible()
    text_shown = details.inner_text()
    assert "Mittelbach" in text_shown and "44,44 %" in text_shown and "4 von 9" in text_shown
    found = axe_violations(page)
    print(f"axe /map?ags={kreis_map} with details open: {len(found)} violations")
    assert found == [], axe_report(found)
    context.close()
