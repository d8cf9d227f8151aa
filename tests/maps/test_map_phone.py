"""The map on a phone (375×667) and reflowed to 320×256 (WCAG 1.4.10), and in a 600 px iframe.

Measured in Chromium: how much of the map our panels and controls cover with everything closed,
whether every control can be tapped (nothing lies over its centre) and reached by Tab, and that
the page never scrolls sideways.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from tests.maps.test_map_browser import ARTIFACTS

SIZES = [(375, 667), (320, 256)]
MAX_COVERED = 0.20
TOGGLES = {"Suche": "bb-search", "Ebenen": "bb-layers", "Legende": "bb-legend"}

# Everything of ours that lies over the map: panels, the toolbar's buttons and link, and
# Leaflet's controls (zoom, scale, attribution). Hidden elements have no client rects.
OVERLAYS = """() => {
  const visible = (e) =>
    e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const rect = (e) => {
    const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  };
  const map = document.querySelector(".leaflet-container");
  const items = [...document.querySelectorAll(".bb-panel, .bb-toolbar > *, .leaflet-control")];
  return { map: rect(map), rects: items.filter(visible).map(rect) };
}"""

# Every control a visitor can operate: links, buttons, inputs and the map itself, not the
# shapes (those are data, reached by Tab and tested in test_map_accessibility.py).
CONTROLS = """() => {
  const visible = (e) =>
    e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const name = (e) => e.getAttribute("aria-label") || e.textContent.trim() || e.id || e.tagName;
  return [...document.querySelectorAll("a[href], button, input, select")]
    .filter(visible)
    .map((e) => {
      const r = e.getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      const hit = document.elementFromPoint(x, y);
      return { name: name(e), x: x, y: y, hit: hit !== null && (hit === e || e.contains(hit)),
               inside: x >= 0 && y >= 0 && x <= innerWidth && y <= innerHeight,
               key: e.dataset.bbKey || "" };
    });
}"""


def covered_share(page: Page) -> float:
    """The share of the map's pixels under any overlay: the union of their rectangles, each cut
    to the map's rectangle, rasterised on a 1 px grid (so overlapping overlays count once)."""
    found: dict[str, Any] = page.evaluate(OVERLAYS)
    left, top, right, bottom = found["map"]
    width, height = int(right - left), int(bottom - top)
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in found["rects"]:
        cols = slice(max(0, int(x0 - left)), max(0, min(width, int(np.ceil(x1 - left)))))
        rows = slice(max(0, int(y0 - top)), max(0, min(height, int(np.ceil(y1 - top)))))
        mask[rows, cols] = True
    return float(mask.mean())


@pytest.fixture(params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = request.param
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="de-DE",
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    yield context.new_page()
    context.close()


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.locator(".leaflet-overlay-pane svg path").first.wait_for()


def _size(page: Page) -> str:
    viewport = page.viewport_size
    assert viewport is not None
    return f"{viewport['width']}x{viewport['height']}"


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_closed_panels_cover_at_most_a_fifth_of_the_map(
    service_url: str, phone: Page, path: str
) -> None:
    _open(phone, service_url + path)
    share = covered_share(phone)
    print(f"\ncovered share {path} at {_size(phone)}: {share:.1%}")
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / f"phone{path.replace('/', '-')}-{_size(phone)}.png"))
    assert share <= MAX_COVERED
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")
    headline = phone.locator("#bb-headline")
    assert re.search(r"\d+,\d\d %.*\d\d\.\d\d\.\d{4}", headline.inner_text(), re.S)
    box = headline.bounding_box()
    assert box is not None and box["height"] < 30  # one line …
    assert headline.evaluate("e => e.scrollWidth <= e.clientWidth")  # … and not cut off


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_every_control_can_be_tapped_and_reached_by_tab(
    service_url: str, phone: Page, path: str
) -> None:
    _open(phone, service_url + path)
    controls: list[dict[str, Any]] = phone.evaluate(CONTROLS)
    names = {control["name"] for control in controls}
    assert {"Suche", "Ebenen", "Legende", "Vergrößern", "Verkleinern"} <= names
    assert any(name.startswith("Tabellenansicht") for name in names)
    blocked = [c["name"] for c in controls if not (c["hit"] and c["inside"])]
    assert blocked == []
    # Tab round the page once: every visible control takes focus on the way.
    phone.evaluate(
        "document.querySelectorAll('a[href], button, input').forEach((e, i) => "
        "e.dataset.bbKey = String(i))"
    )
    wanted = {c["key"] for c in phone.evaluate(CONTROLS)}
    reached: set[str] = set()
    for _ in range(150):
        phone.keyboard.press("Tab")
        reached.add(phone.evaluate("document.activeElement.dataset.bbKey || ''"))
        if wanted <= reached:
            break
    assert wanted - reached == set()


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_each_panel_opens_alone_and_closes_again(service_url: str, phone: Page, path: str) -> None:
    _open(phone, service_url + path)
    for label, panel_id in TOGGLES.items():
        button = phone.locator(f'.bb-toggle[aria-controls="{panel_id}"]')
        panel = phone.locator(f"#{panel_id}")
        assert button.inner_text() == label
        assert button.get_attribute("aria-expanded") == "false" and not panel.is_visible()
        button.click()  # open by tapping the button …
        assert button.get_attribute("aria-expanded") == "true" and panel.is_visible()
        assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")
        others = [p for p in TOGGLES.values() if p != panel_id]
        assert not any(phone.locator(f"#{other}").is_visible() for other in others)
        button.click()  # … closed by tapping it again
        assert button.get_attribute("aria-expanded") == "false" and not panel.is_visible()
        button.click()
        phone.keyboard.press("Escape")  # … by Escape, focus back on the button
        assert not panel.is_visible()
        assert phone.evaluate("document.activeElement.getAttribute('aria-controls')") == panel_id
        button.click()
        panel.get_by_role("button", name="Schließen").click()  # … by its close button
        assert not panel.is_visible()
        assert button.get_attribute("aria-expanded") == "false"


def test_the_open_layer_list_leaves_the_buttons_tappable(service_url: str, phone: Page) -> None:
    _open(phone, service_url + "/map")
    phone.locator('.bb-toggle[aria-controls="bb-layers"]').click()
    controls: list[dict[str, Any]] = phone.evaluate(CONTROLS)
    blocked = [c["name"] for c in controls if not (c["hit"] and c["inside"])]
    assert blocked == []
    assert phone.locator("#bb-layers input[type=checkbox]").count() == 5
    phone.locator('.bb-toggle[aria-controls="bb-search"]').click()  # the lost tap
    assert phone.locator("#bb-q").is_visible()


def test_details_sit_above_the_panels_and_beside_the_feature(service_url: str, phone: Page) -> None:
    _open(phone, service_url + "/map?layers=hamlets")
    phone.locator('.bb-toggle[aria-controls="bb-legend"]').click()
    feature = phone.locator("path.bb-feature").first
    feature.dispatch_event("click")
    details = phone.locator("#bb-details")
    assert details.is_visible()
    assert not phone.locator("#bb-legend").is_visible()  # one thing at a time
    box, shape = details.bounding_box(), feature.bounding_box()
    assert box is not None and shape is not None
    centre = (shape["x"] + shape["width"] / 2, shape["y"] + shape["height"] / 2)
    assert not (box["y"] <= centre[1] <= box["y"] + box["height"])
    topmost = phone.evaluate(
        "([x, y]) => document.getElementById('bb-details')"
        ".contains(document.elementFromPoint(x, y))",
        [box["x"] + box["width"] / 2, box["y"] + 10],
    )
    assert topmost


EMBED_PAGE = """<!doctype html><html lang="de"><head><title>Stadt</title></head><body>
<h1>Glasfaser in Coesfeld</h1>
<iframe src="{url}" title="Glasfaserausbau in Coesfeld – Karte" width="100%" height="600"
        style="border:0" loading="lazy"></iframe></body></html>"""


@pytest.mark.parametrize("width", [1280, 800, 375])
def test_embedded_legend_takes_at_most_a_quarter_of_600_px(
    browser: Browser, service_url: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="de-DE")
    page = context.new_page()
    # The parent is the service's own origin, as frame-ancestors 'self' (the default) allows.
    page.route(
        service_url + "/__embed-test",
        lambda route: route.fulfill(
            content_type="text/html",
            body=EMBED_PAGE.format(url=service_url + "/map/embed?layers=areas,hamlets,schools"),
        ),
    )
    page.goto(service_url + "/__embed-test")
    frame = page.frame_locator("iframe")
    frame.locator(".leaflet-overlay-pane svg path").first.wait_for()
    legend = frame.locator("#bb-legend")
    height = legend.evaluate(
        "e => e.getClientRects().length ? e.getBoundingClientRect().height : 0"
    )
    print(f"\nembedded legend at {width}x600: {height:.0f} px = {height / 600:.1%} of the height")
    page.screenshot(path=str(ARTIFACTS / f"embed-iframe-{width}.png"))
    context.close()
    assert height <= 0.25 * 600
