"""The map of a past date on Zeitdorf (tests/timemachine.py): its layers as they stood that day,
what changed since an earlier date outlined, and the "Zeitreise" slider in Chromium."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.core.settings import Settings
from service.main import create_app
from service.maps.report import build_report
from tests.helpers import axe_report, axe_violations
from tests.timemachine import AGS, AREAS_TODAY, AREAS_YESTERDAY, HAMLET

MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
# By hand from the fixture's edits: redrawn, split (the kept part redrawn, the other new),
# deleted, created. `Nachgetragen`'s back-dated status reaches back before yesterday.
CHANGED_SINCE_YESTERDAY = {
    ("areas", "Umgebaut", "redrawn"),
    ("areas", "Geteilt", "redrawn"),
    ("areas", "Geteilt (Teil 2)", "added"),
    ("areas", "Entfernt", "removed"),
    ("areas", "Neu", "added"),
}


@pytest.fixture(scope="module")
def client(settings: Settings, zeitdorf: int) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _geojson(page: str) -> dict[str, list[dict[str, Any]]]:
    """The GeoJSON layers folium wrote into the page, by their German title."""
    found: dict[str, list[dict[str, Any]]] = {}
    for match in re.finditer(r"(geo_json_[0-9a-f]+)_add\((\{.*?\})\);\n", page, re.S):
        collection = json.loads(match.group(2))
        found[match.group(1)] = collection["features"]
    return found


def _named(page: str, layer: str) -> dict[str, dict[str, Any]]:
    """The features of one map layer in the page, by name."""
    return {
        f["properties"]["name"]: f
        for features in _geojson(page).values()
        for f in features
        if f["properties"].get("layer") == layer and "change" not in f["properties"]
    }


def test_the_map_of_yesterday_draws_yesterdays_areas(client: TestClient, today: dt.date) -> None:
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    before = client.get("/map", params={"ags": AGS, "as_of": yesterday})
    after = client.get("/map", params={"ags": AGS})
    assert before.status_code == after.status_code == 200
    assert set(_named(before.text, "areas")) == AREAS_YESTERDAY
    assert set(_named(after.text, "areas")) == AREAS_TODAY
    assert set(_named(before.text, "hamlets")) == set(_named(after.text, "hamlets")) == {HAMLET[0]}
    old = _named(before.text, "areas")["Umgebaut"]["geometry"]["coordinates"]
    new = _named(after.text, "areas")["Umgebaut"]["geometry"]["coordinates"]
    assert len(old) == 1 and len(new) == 2  # one rectangle yesterday, two today
    embedded = client.get("/map/embed", params={"ags": AGS, "as_of": yesterday})
    assert set(_named(embedded.text, "areas")) == AREAS_YESTERDAY


def test_the_search_on_yesterdays_map_answers_for_yesterday(
    client: TestClient, today: dt.date
) -> None:
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    page = client.get("/map", params={"ags": AGS, "as_of": yesterday}).text
    found = re.search(r'"lookupUrl": ("[^"]*")', page)
    assert found is not None
    url = json.loads(found.group(1))
    answer = client.get(f"{url}&q=Zeitweg&limit=20").json()["matches"]  # as the page asks
    # A2 lay in Umgebaut, connected, until today's redraw left it out
    assert {m["house_number"]: m["status"] for m in answer}["A2"] == "connected"
    today_page = client.get("/map", params={"ags": AGS}).text
    found = re.search(r'"lookupUrl": ("[^"]*")', today_page)
    assert found is not None and "as_of" not in json.loads(found.group(1))


def _pixels(png: bytes) -> np.ndarray[Any, Any]:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_the_printed_map_of_yesterday_differs_and_the_future_is_refused(
    client: TestClient, today: dt.date
) -> None:
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    before = client.get("/map.png", params={"ags": AGS, "as_of": yesterday})
    after = client.get("/map.png", params={"ags": AGS, "as_of": today.isoformat()})
    assert before.status_code == after.status_code == 200
    changed = np.abs(_pixels(before.content) - _pixels(after.content)).sum(axis=2) > 0
    assert changed.sum() > 1000  # areas drawn, removed and redrawn: not a date in the subtitle
    future = client.get(
        "/map.png", params={"ags": AGS, "as_of": (today + dt.timedelta(1)).isoformat()}
    )
    assert future.status_code == 400 and "as_of" in future.text


def test_the_report_of_yesterday_draws_yesterdays_areas(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, today: dt.date
) -> None:
    yesterday = today - dt.timedelta(days=1)
    with factory() as session:
        before = build_report(session, AGS, yesterday, settings.demand_quota)
        after = build_report(session, AGS, None, settings.demand_quota)
    names = [
        {f["properties"]["name"] for f in r.layers["areas"]["features"]} for r in (before, after)
    ]
    assert names == [AREAS_YESTERDAY, AREAS_TODAY]
    page = client.get("/report", params={"ags": AGS, "as_of": yesterday.isoformat()})
    assert page.status_code == 200 and f"as_of={yesterday.isoformat()}" in page.text


def _changes(page: str) -> set[tuple[str, str, str]]:
    listed = re.findall(r'<li data-layer="(\w+)" data-change="(\w+)">[^<]*? ([^<:]+): ', page)
    return {(layer, name, change) for layer, change, name in listed}


def test_compare_outlines_exactly_what_changed(client: TestClient, today: dt.date) -> None:
    yesterday = today - dt.timedelta(days=1)
    page = client.get("/map", params={"ags": AGS, "compare": yesterday.isoformat()}).text
    assert f"Umrandet: geändert seit {yesterday.strftime('%d.%m.%Y')}" in page
    assert _changes(page) == CHANGED_SINCE_YESTERDAY
    outlines = [
        f["properties"] for fs in _geojson(page).values() for f in fs if "change" in f["properties"]
    ]
    assert {(p["layer"], p["name"], p["change"]) for p in outlines} == CHANGED_SINCE_YESTERDAY
    # The removed and the redrawn are outlined where they were: the earlier outline.
    earlier = {
        p["name"]: f["geometry"]
        for fs in _geojson(page).values()
        for f in fs
        if (p := f["properties"]).get("change") == "redrawn" and p["name"] == "Umgebaut"
    }
    assert len(earlier["Umgebaut"]["coordinates"]) == 1
    # Compared with a date before every status: everything there is now was added since.
    early = client.get("/map", params={"ags": AGS, "compare": "2019-01-01"}).text
    assert {name for _, name, change in _changes(early) if change == "added"} == (
        AREAS_TODAY | {HAMLET[0]}
    )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"compare": "today"}, "compare"),
        ({"compare": "gestern"}, "compare"),
        ({"compare": "2021-06-01", "as_of": "2021-06-01"}, "must lie before the date shown"),
        ({"compare": "2021-06-02", "as_of": "2021-06-01"}, "must lie before the date shown"),
    ],
)
def test_compare_must_be_an_earlier_date(
    client: TestClient, today: dt.date, params: dict[str, str], problem: str
) -> None:
    given = {key: today.isoformat() if v == "today" else v for key, v in params.items()}
    response = client.get("/map", params={"ags": AGS, **given})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "compare" in response.text and (problem in response.text)


def _first_month(factory: sessionmaker[Session], m: int) -> dt.date:
    with factory() as session:
        day: dt.date = session.execute(
            text("SELECT min(status_since) FROM status_history WHERE municipality_id = :m"),
            {"m": m},
        ).scalar_one()
    return day.replace(day=1)


def _month_name(day: dt.date) -> str:
    return f"{MONTHS.split()[day.month - 1]} {day.year}"


@pytest.fixture
def page(browser: Browser, zeitdorf: int) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="de-DE", bypass_csp=True
    )
    yield context.new_page()
    context.close()


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.locator(".leaflet-overlay-pane svg path").first.wait_for()


def test_the_slider_steps_back_a_month_by_keyboard(
    service_url: str,
    page: Page,
    client: TestClient,
    factory: sessionmaker[Session],
    zeitdorf: int,
    today: dt.date,
) -> None:
    _open(page, f"{service_url}/map?ags={AGS}")
    slider = page.get_by_role("slider", name="Zeitreise")
    assert slider.count() == 1
    first = _first_month(factory, zeitdorf)
    months = (today.year - first.year) * 12 + today.month - first.month
    assert slider.get_attribute("min") == "0" and slider.get_attribute("max") == str(months)
    assert slider.input_value() == str(months)
    assert slider.get_attribute("aria-valuetext") == _month_name(today)
    assert page.locator("label[for=bb-zeit]").is_visible()
    slider.focus()
    with page.expect_navigation():
        page.keyboard.press("ArrowLeft")
    page.locator(".leaflet-overlay-pane svg path").first.wait_for()
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    slider = page.get_by_role("slider", name="Zeitreise")
    assert slider.get_attribute("aria-valuetext") == _month_name(month_end)
    assert slider.input_value() == str(months - 1)
    assert page.evaluate("document.activeElement.id") == "bb-zeit"  # ready for the next step
    assert f"as_of={month_end.isoformat()}" in page.url
    headline = page.locator("#bb-headline").inner_text()
    assert month_end.strftime("%d.%m.%Y") in headline
    figure = client.get("/coverage", params={"ags": AGS, "as_of": month_end.isoformat()}).json()
    share = f"{figure['addresses']['share_pct']:.2f}".replace(".", ",")
    assert f"{share} %" in headline
    # The chart beside it: one point a month, with its table as the text alternative.
    page.locator("#bb-chart svg").wait_for()
    assert page.locator("#bb-chart svg").get_attribute("role") == "img"
    assert page.locator("#bb-chart tbody tr").count() == months + 1


def test_axe_finds_no_violation_with_changes_outlined(
    service_url: str, page: Page, today: dt.date
) -> None:
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    _open(page, f"{service_url}/map?ags={AGS}&compare={yesterday}")
    assert page.locator("path.bb-change").count() == len(CHANGED_SINCE_YESTERDAY)
    assert page.locator("path.bb-change-removed").get_attribute("stroke-dasharray")
    page.locator("#bb-chart svg").wait_for()
    page.locator("#bb-legend summary").click()
    found = axe_violations(page)
    print(f"\naxe /map?ags={AGS}&compare={yesterday}: {len(found)} violations")
    assert found == [], axe_report(found)


def test_on_a_phone_the_slider_opens_from_the_toolbar_and_stays_open_while_stepping(
    service_url: str, browser: Browser, today: dt.date
) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 667}, locale="de-DE", has_touch=True, is_mobile=True
    )
    phone = context.new_page()
    _open(phone, f"{service_url}/map?ags={AGS}")
    slider = phone.get_by_role("slider", name="Zeitreise")
    assert not slider.is_visible()  # folded into its button, like legend and search
    phone.get_by_role("button", name="Zeitreise").tap()
    box = slider.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert phone.evaluate("document.activeElement.id") == "bb-zeit"
    with phone.expect_navigation():
        phone.keyboard.press("ArrowLeft")
    phone.locator(".leaflet-overlay-pane svg path").first.wait_for()
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    assert slider.is_visible() and phone.evaluate("document.activeElement.id") == "bb-zeit"
    assert slider.get_attribute("aria-valuetext") == _month_name(month_end)
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")
    context.close()
