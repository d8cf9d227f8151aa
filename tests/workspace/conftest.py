"""Workspace fixtures: users that sign in, and a Chromium page signed in as the editor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.auth import accounts
from service.db.engine import transaction
from service.layers import Role

EDITOR = "test-ws-editor"
ADMIN = "test-ws-admin"
PASSWORDS = {EDITOR: "Redaktion-Glasfaser-2026", ADMIN: "Verwaltung-Glasfaser-2026"}
ROLES = {EDITOR: Role.EDITOR, ADMIN: Role.ADMIN}
SIGN_IN = "/redaktion/anmelden"


def _drop(factory: sessionmaker[Session]) -> None:
    with transaction(factory, "test-suite") as session:
        session.execute(
            text("DELETE FROM users WHERE name = ANY(:names)"), {"names": list(PASSWORDS)}
        )


@pytest.fixture(scope="session")
def workspace_users(factory: sessionmaker[Session], coesfeld: object) -> Iterator[dict[str, str]]:
    """An editor and an admin with known passwords (name → password), removed afterwards."""
    _drop(factory)
    with transaction(factory, "test-suite") as session:
        for name, password in PASSWORDS.items():
            accounts.create_user(session, name, ROLES[name], password)
    yield dict(PASSWORDS)
    _drop(factory)


def sign_in_page(page: Page, service_url: str, name: str, password: str) -> None:
    """Fill in the sign-in form as a person does and wait for the workspace."""
    page.goto(f"{service_url}{SIGN_IN}")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(lambda url: SIGN_IN not in url)


@pytest.fixture
def signed_in(
    browser: Browser, service_url: str, workspace_users: dict[str, str]
) -> Iterator[Page]:
    """A fresh browser context signed in as the editor; closed after the test."""
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    sign_in_page(page, service_url, EDITOR, workspace_users[EDITOR])
    yield page
    context.close()
