"""The text view and the accessibility statement: the figures of /coverage, accessible, printed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.settings import PROJECT_ROOT, Settings
from service.main import create_app
from tests.helpers import axe_report, axe_violations

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


class DataRows(HTMLParser):
    """Collects the `data-*` attributes of every element that carries `data-unit`."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k[5:]: v or "" for k, v in attrs if k.startswith("data-")}
        if "unit" in data:
            self.rows.append(data)


def _rows(html: str, unit: str) -> dict[str, dict[str, str]]:
    parser = DataRows()
    parser.feed(html)
    return {row["name"]: row for row in parser.rows if row["unit"] == unit and "name" in row}


def _figures(row: dict[str, str]) -> tuple[int, int, float]:
    return int(row["numerator"]), int(row["denominator"]), float(row["share"])


def _api(unit: dict[str, object]) -> tuple[int, int, float]:
    figure = unit["addresses"]
    assert isinstance(figure, dict)
    return figure["numerator"], figure["denominator"], figure["share_pct"]


@pytest.mark.parametrize("as_of", [None, "2021-06-30"])
def test_the_text_view_shows_the_figures_of_coverage(
    coesfeld: object, client: TestClient, as_of: str | None
) -> None:
    params = {"as_of": as_of} if as_of else {}
    html = client.get("/map/tabelle", params=params).text
    whole = client.get("/coverage", params=params).json()
    (headline,) = _rows(html, "municipality").values()
    assert _figures(headline) == _api(whole)
    assert headline["as-of"] == whole["as_of"]
    for unit in ("districts", "hamlets", "kinds"):
        expected = {u["name"]: u for u in client.get(f"/coverage/{unit}", params=params).json()}
        shown = _rows(html, unit)
        assert set(shown) == set(expected), unit
        assert {n: _figures(r) for n, r in shown.items()} == {
            n: _api(u) for n, u in expected.items()
        }
    for unit in client.get("/coverage/hamlets", params=params).json():
        row = _rows(html, "hamlets")[unit["name"]]
        share = unit["demand_share"]
        gap = unit["demand_gap_addresses"]
        assert row["demand-share"] == ("" if share is None else str(share))
        assert float(row["demand-quota"]) == unit["demand_quota"]
        assert row["demand-gap"] == ("" if gap is None else str(gap))
    schools = whole["schools"]
    shown_schools = _rows(html, "schools")
    assert sum(int(r["pupils"]) for r in shown_schools.values()) == schools["pupils"]
    assert len(shown_schools) == schools["schools"]


def test_every_area_is_listed_with_its_status_and_approximation(
    coesfeld: object, client: TestClient, db: Session
) -> None:
    html = client.get("/map/tabelle").text
    areas: dict[str, str] = dict(db.execute(text("SELECT name, status FROM areas")).all())
    assert {name: row["status"] for name, row in _rows(html, "areas").items()} == areas
    approximate = db.execute(text("SELECT count(*) FROM areas WHERE approximate")).scalar_one()
    hamlets = db.execute(text("SELECT count(*) FROM hamlets WHERE approximate")).scalar_one()
    schools = db.execute(text("SELECT count(*) FROM schools WHERE approximate")).scalar_one()
    note = '<span class="lage">(Lage näherungsweise)</span>'
    assert html.count(note) == approximate + hamlets + schools
    assert "Die Lage der Ortsteile, Ausbaugebiete, Bauerschaften" in html
    assert 'href="/map"' in html


def test_the_text_view_is_cached_per_data_version_with_the_maps_csp(
    coesfeld: object, client: TestClient
) -> None:
    first = client.get("/map/tabelle", params={"as_of": "2022-01-01"})
    csp = first.headers["content-security-policy"]
    assert csp == client.get("/map").headers["content-security-policy"]
    assert "frame-ancestors" in csp
    assert 'href="/map?as_of=2022-01-01"' in first.text
    again = client.get(
        "/map/tabelle",
        params={"as_of": "2022-01-01"},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    assert client.get("/map/tabelle", params={"as_of": "2999-01-01"}).status_code == 400


def test_the_statement_shows_contact_and_date_from_the_settings(
    coesfeld: object, settings: Settings
) -> None:
    configured = settings.model_copy(
        update={
            "accessibility_contact_email": "barrierefrei@coesfeld.example",
            "accessibility_contact_phone": "02541 939-0",
            "accessibility_contact_address": "Stadt Coesfeld, Markt 8, 48653 Coesfeld",
            "accessibility_statement_date": dt.date(2026, 11, 30),
            "accessibility_arbitration": "Ombudsstelle für barrierefreie IT des Landes NRW",
        }
    )
    with TestClient(create_app(configured)) as client:
        page = client.get("/barrierefreiheit")
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    for shown in (
        'href="mailto:barrierefrei@coesfeld.example"',
        'href="tel:02541939-0"',
        "Stadt Coesfeld, Markt 8, 48653 Coesfeld",
        '<time datetime="2026-11-30">30.11.2026</time>',
        "Ombudsstelle für barrierefreie IT des Landes NRW",
    ):
        assert shown in page.text
    assert "bitte einstellen" not in page.text


def test_the_statement_says_what_is_not_set(client: TestClient) -> None:
    page = client.get("/barrierefreiheit").text
    for variable in (
        "EMAIL",
        "PHONE",
        "ADDRESS",
    ):
        assert f"bitte einstellen (BROADBAND_ACCESSIBILITY_CONTACT_{variable})" in page
    assert "bitte einstellen (BROADBAND_ACCESSIBILITY_STATEMENT_DATE)" in page
    for heading in (
        "Stand der Vereinbarkeit",
        "Nicht barrierefreie Inhalte",
        "Erstellung dieser Erklärung",
        "Feedback und Kontaktangaben",
        "Schlichtungsverfahren",
    ):
        assert heading in page
    assert "§ 16" in page
    assert 'href="/map/tabelle"' in page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="de-DE", bypass_csp=True
    )
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("path", ["/map/tabelle", "/barrierefreiheit"])
def test_no_wcag_violations(page: Page, service_url: str, path: str) -> None:
    page.goto(service_url + path, wait_until="load")
    violations = axe_violations(page)
    assert violations == [], axe_report(violations)


@pytest.mark.parametrize("size", [(375, 667), (320, 256)])
def test_the_text_view_reflows_on_a_phone(
    browser: Browser, service_url: str, size: tuple[int, int]
) -> None:
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="de-DE")
    try:
        phone = context.new_page()
        phone.goto(service_url + "/map/tabelle", wait_until="load")
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        context.close()


def test_the_text_view_prints(page: Page, service_url: str) -> None:
    page.goto(service_url + "/map/tabelle", wait_until="load")
    assert page.locator(".kopf").is_visible()
    page.emulate_media(media="print")
    tables = page.locator("table")
    assert tables.count() == 6
    for index in range(tables.count()):
        assert tables.nth(index).is_visible()
        assert tables.nth(index).locator("caption").is_visible()
    assert not page.locator(".kopf").is_visible()  # navigation is left off the paper
    assert page.locator("#naeherung").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = page.pdf(path=str(ARTIFACTS / "tabelle.pdf"), format="A4")
    assert pdf.startswith(b"%PDF")
