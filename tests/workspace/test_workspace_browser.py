"""The workspace in Chromium: preview and save, conflicts between two people, restore, CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.auth import accounts
from service.db.engine import transaction
from service.layers import Role
from tests.workspace.conftest import ADMIN, SIGN_IN, sign_in_page
from tests.workspace.helpers import area_with_addresses, put_back, stored


@pytest.fixture
def area(factory: sessionmaker[Session], coesfeld: object) -> Iterator[tuple[int, str, str]]:
    """An area with unconnected addresses; its values are written back after the test."""
    found = area_with_addresses(factory)
    with put_back(factory, "areas", found[0]):
        yield found


def _connected(page: Page, service_url: str) -> int:
    figure: int = page.request.get(f"{service_url}/coverage").json()["addresses"]["numerator"]
    return figure


def test_status_change_previewed_then_saved_moves_the_public_figure(
    signed_in: Page, service_url: str, area: tuple[int, str, str], factory: sessionmaker[Session]
) -> None:
    page = signed_in
    fid, name, _ = area
    before = _connected(page, service_url)
    response = page.goto(f"{service_url}/redaktion")
    assert response is not None
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    page.locator("section", has=page.locator("#h-areas")).get_by_role(
        "link", name=name, exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    page.get_by_label("Status", exact=False).first.select_option("connected")
    page.get_by_role("button", name="Auswirkung anzeigen").click()
    effect = page.locator(".ws-wirkung")
    expect(effect).to_contain_text(f"{name} → erschlossen: +")
    added = int(re.search(r"\+([\d.]+) Adressen", effect.inner_text()).group(1).replace(".", ""))  # type: ignore[union-attr]
    assert _connected(page, service_url) == before
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Gespeichert")
    assert _connected(page, service_url) == before + added
    assert stored(factory, "areas", fid)["status"] == "connected"


def test_second_editor_gets_the_conflict_and_applies_on_top(
    signed_in: Page,
    browser: Browser,
    service_url: str,
    workspace_users: dict[str, str],
    area: tuple[int, str, str],
    factory: sessionmaker[Session],
) -> None:
    fid = area[0]
    other = browser.new_context(locale="de-DE")
    try:
        second = other.new_page()
        sign_in_page(second, service_url, ADMIN, workspace_users[ADMIN])
        signed_in.goto(f"{service_url}/redaktion/areas/{fid}")
        second.goto(f"{service_url}/redaktion/areas/{fid}")
        signed_in.get_by_label("Anmerkungen").fill("Stand laut Kollegin")
        signed_in.get_by_role("button", name="Speichern").click()
        expect(signed_in.get_by_role("status")).to_contain_text("Gespeichert")
        second.get_by_label("Anbieter").fill("Zweiter Anbieter")
        second.get_by_role("button", name="Speichern").click()
        expect(second.get_by_role("heading", level=1)).to_contain_text("Konflikt")
        expect(second.get_by_role("alert")).to_contain_text("test-ws-editor hat diesen Eintrag")
        expect(second.locator("table")).to_contain_text("Stand laut Kollegin")
        assert stored(factory, "areas", fid)["provider"] != "Zweiter Anbieter"
        second.get_by_role("button", name="Meine Änderung darauf anwenden").click()
        expect(second.get_by_role("status")).to_contain_text("Gespeichert")
        # the form carries all of my values: the page showed theirs, and I chose mine
        assert stored(factory, "areas", fid)["provider"] == "Zweiter Anbieter"
    finally:
        other.close()


def test_restoring_an_older_version_adds_exactly_one_change(
    signed_in: Page, service_url: str, area: tuple[int, str, str], factory: sessionmaker[Session]
) -> None:
    page = signed_in
    fid = area[0]
    original = stored(factory, "areas", fid)["notes"]
    page.goto(f"{service_url}/redaktion/areas/{fid}")
    page.get_by_label("Anmerkungen").fill("vorübergehend")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Gespeichert")
    log = f"{service_url}/changes?collection=areas&feature={fid}"
    count = page.request.get(log).json()["numberMatched"]
    page.goto(f"{service_url}/redaktion/areas/{fid}/verlauf")
    expect(page.locator(".ws-verlauf li").first).to_contain_text("vorübergehend")
    page.get_by_role("button", name=re.compile("Diese Fassung wiederherstellen")).first.click()
    expect(page.get_by_role("status")).to_contain_text("wiederhergestellt")
    assert page.request.get(log).json()["numberMatched"] == count + 1
    assert stored(factory, "areas", fid)["notes"] == original


def test_a_post_without_csrf_token_is_refused_in_the_browser(
    signed_in: Page, service_url: str, area: tuple[int, str, str], factory: sessionmaker[Session]
) -> None:
    fid = area[0]
    version = stored(factory, "areas", fid)["version"]
    response = signed_in.request.post(
        f"{service_url}/redaktion/areas/{fid}",
        form={"status": "connected", "version": str(version), "action": "save"},
    )
    assert response.status == 403
    assert stored(factory, "areas", fid)["version"] == version


def test_a_write_after_sign_out_is_refused_in_the_browser(
    signed_in: Page, service_url: str, area: tuple[int, str, str], factory: sessionmaker[Session]
) -> None:
    page = signed_in
    fid = area[0]
    page.goto(f"{service_url}/redaktion/areas/{fid}")
    version = stored(factory, "areas", fid)["version"]
    token = page.locator("form.abmelden input[name=csrf_token]").get_attribute("value")
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url(re.compile("/redaktion/anmelden"))
    response = page.request.post(
        f"{service_url}/redaktion/areas/{fid}",
        form={
            "status": "connected",
            "version": str(version),
            "action": "save",
            "csrf_token": token or "",
        },
    )
    assert response.status in (401, 403)
    assert stored(factory, "areas", fid)["version"] == version


def test_the_sixth_password_is_refused_even_when_right(
    browser: Browser, service_url: str, factory: sessionmaker[Session], coesfeld: object
) -> None:
    name, password = "test-ws-locked", "Richtiges-Passwort-2026"
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = :n"), {"n": name})
        accounts.create_user(session, name, Role.EDITOR, password)
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    try:
        for attempt in range(5):
            page.goto(f"{service_url}{SIGN_IN}")
            page.get_by_label("Name").fill(name)
            page.get_by_label("Passwort").fill(f"falsch-{attempt}-xxxxx")
            page.get_by_role("button", name="Anmelden").click()
            expect(page.get_by_role("alert")).to_be_visible()
        page.goto(f"{service_url}{SIGN_IN}")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Passwort").fill(password)
        page.get_by_role("button", name="Anmelden").click()
        expect(page.get_by_role("alert")).to_contain_text("gesperrt")
        assert SIGN_IN in page.url
        page.goto(f"{service_url}/redaktion")
        assert page.url.startswith(f"{service_url}{SIGN_IN}")  # still not signed in
    finally:
        context.close()
        with transaction(factory, "test-suite") as session:
            session.execute(text("DELETE FROM users WHERE name = :n"), {"n": name})
