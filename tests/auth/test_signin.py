"""Signing in to the workspace over HTTP: cookie, CSRF, lock-out, roles and the change log."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.auth import accounts
from service.core.settings import Settings
from service.db.engine import transaction
from service.layers import Role
from service.main import create_app

SIGN_IN = "/redaktion/anmelden"
SIGN_OUT = "/redaktion/abmelden"
AREAS = "/collections/areas/items"
PASSWORDS = {"test-anna": "Glasfaser-fuer-alle", "test-bernd": "Admin-Passwort-2026"}
ROLES = {"test-anna": Role.EDITOR, "test-bernd": Role.ADMIN}


@pytest.fixture
def users(factory: sessionmaker[Session], coesfeld: object) -> Iterator[dict[str, str]]:
    """An editor (test-anna) and an admin (test-bernd), removed with their sessions afterwards."""
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = ANY(:n)"), {"n": list(PASSWORDS)})
        for name, password in PASSWORDS.items():
            accounts.create_user(session, name, ROLES[name], password)
    yield PASSWORDS
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = ANY(:n)"), {"n": list(PASSWORDS)})


def _form_token(page: httpx2.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str) -> httpx2.Response:
    """Fill in the form as a browser does: load it, then post it with its token."""
    token = _form_token(client.get(SIGN_IN))
    return client.post(
        SIGN_IN,
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _session(factory: sessionmaker[Session], cookie: str) -> Any:
    with factory() as session:
        return session.execute(
            text("SELECT * FROM user_sessions WHERE id = :id"),
            {"id": hashlib.sha256(cookie.encode()).hexdigest()},
        ).one()


def signed_in(client: TestClient, factory: sessionmaker[Session], name: str) -> str:
    """Sign in and return the session's CSRF token (a workspace page would render it)."""
    response = sign_in(client, name, PASSWORDS[name])
    assert response.status_code == 303, response.text
    return str(_session(factory, client.cookies["broadband_session"]).csrf_token)


def _cookies(response: httpx2.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        found[header.split("=", 1)[0]] = header
    return found


def _area(name: str = "Test area Cookie") -> dict[str, Any]:
    ring = [[7.17, 51.95], [7.172, 51.95], [7.172, 51.952], [7.17, 51.952], [7.17, 51.95]]
    return {
        "type": "Feature",
        "properties": {
            "name": name,
            "kind": "commercial",
            "status": "planned",
            "status_since": "2025-03-01",
        },
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_sign_in_sets_a_strict_session_cookie_and_goes_to_the_workspace(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session]
) -> None:
    page = client.get(SIGN_IN)
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert '<label for="name">Name</label>' in page.text
    assert '<label for="passwort">Passwort</label>' in page.text
    assert "<script" not in page.text and "style=" not in page.text
    policy = page.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    response = client.post(
        SIGN_IN,
        data={"name": "test-anna", "password": users["test-anna"], "csrf_token": _form_token(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/redaktion"
    cookie = _cookies(response)["broadband_session"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/;" in cookie
    assert "secure" not in cookie  # development: plain-HTTP localhost
    secret = client.cookies["broadband_session"]
    stored = _session(factory, secret)
    assert stored.revoked_at is None and stored.expires_at > stored.created_at
    with factory() as session:
        dump = session.execute(text("SELECT string_agg(t::text, '|') FROM user_sessions t"))
        assert secret not in dump.scalar_one()
    again = client.get(SIGN_IN, follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (303, "/redaktion")


def test_cookies_are_secure_in_production(
    settings: Settings, users: dict[str, str], coesfeld: object
) -> None:
    app = create_app(settings.model_copy(update={"environment": "production"}))
    with TestClient(app, base_url="https://testserver") as client:
        form_cookie = _cookies(client.get(SIGN_IN))["broadband_signin"].lower()
        assert "secure" in form_cookie and "httponly" in form_cookie
        response = sign_in(client, "test-anna", users["test-anna"])
    assert response.status_code == 303
    cookie = _cookies(response)["broadband_session"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_the_sign_in_form_needs_its_own_csrf_token(
    client: TestClient, users: dict[str, str]
) -> None:
    client.get(SIGN_IN)
    forged = client.post(
        SIGN_IN,
        data={"name": "test-anna", "password": users["test-anna"], "csrf_token": "x" * 43},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "Cookies" in forged.text
    assert "broadband_session" not in _cookies(forged)


def test_unknown_name_and_wrong_password_get_the_same_answer(
    client: TestClient, users: dict[str, str]
) -> None:
    unknown = sign_in(client, "test-niemand", users["test-anna"])
    wrong = sign_in(client, "test-anna", "falsches Passwort")
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert "Name oder Passwort falsch" in response.text
        assert "broadband_session" not in _cookies(response)
        assert 'value="falsches Passwort"' not in response.text
    assert 'value="test-anna"' in wrong.text  # the name stays filled in, the password never


def test_five_failures_lock_the_account_even_against_the_right_password(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session]
) -> None:
    for _ in range(4):
        assert sign_in(client, "test-anna", "falsches Passwort").status_code == 401
    fifth = sign_in(client, "test-anna", "falsches Passwort")
    assert fifth.status_code == 429
    assert re.search(r"bis [0-2][0-9]:[0-5][0-9] Uhr gesperrt", fifth.text)
    assert 0 < int(fifth.headers["retry-after"]) <= 15 * 60
    sixth = sign_in(client, "test-anna", users["test-anna"])
    assert sixth.status_code == 429
    assert "gesperrt" in sixth.text and "broadband_session" not in _cookies(sixth)
    with transaction(factory, "test") as session:  # fifteen minutes later
        session.execute(
            text(
                "UPDATE users SET locked_until = now() - interval '1 second' "
                "WHERE name = 'test-anna'"
            )
        )
    assert sign_in(client, "test-anna", users["test-anna"]).status_code == 303
    with factory() as session:
        row = session.execute(
            text("SELECT failed_attempts, locked_until FROM users WHERE name = 'test-anna'")
        ).one()
    assert tuple(row) == (0, None)


def test_a_cookie_write_needs_the_csrf_token_and_names_the_user_in_the_log(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session], restore: None
) -> None:
    csrf = signed_in(client, factory, "test-anna")
    refused = client.post(AREAS, json=_area())
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.post(AREAS, json=_area(), headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    created = client.post(AREAS, json=_area(), headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    feature = f"{AREAS}/{created.json()['id']}"
    patch = {"properties": {"status": "under_construction"}}
    headers = {"If-Match": created.headers["etag"], "Content-Type": "application/merge-patch+json"}
    assert client.patch(feature, json=patch, headers=headers).status_code == 403
    changed = client.patch(feature, json=patch, headers={**headers, "X-CSRF-Token": csrf})
    assert changed.status_code == 200, changed.text
    assert changed.json()["properties"]["status"] == "under_construction"
    log = client.get("/changes", params={"collection": "areas", "feature": created.json()["id"]})
    actors = [(c["operation"], c["actor"]) for c in log.json()["changes"]]
    assert actors == [("insert", "test-anna"), ("update", "test-anna")]


def test_a_bearer_token_needs_no_csrf_token_beside_a_cookie(
    client: TestClient,
    users: dict[str, str],
    tokens: dict[str, str],
    factory: sessionmaker[Session],
    restore: None,
) -> None:
    signed_in(client, factory, "test-anna")
    response = client.post(
        AREAS, json=_area(), headers={"Authorization": f"Bearer {tokens['editor']}"}
    )
    assert response.status_code == 201, response.text
    log = client.get("/changes", params={"collection": "areas", "feature": response.json()["id"]})
    assert log.json()["changes"][0]["actor"] == "test-editor"  # the token's holder writes


def test_after_sign_out_the_cookie_writes_nothing(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session], restore: None
) -> None:
    csrf = signed_in(client, factory, "test-anna")
    secret = client.cookies["broadband_session"]
    signed_out = client.post(SIGN_OUT, data={"csrf_token": csrf}, follow_redirects=False)
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, SIGN_IN)
    assert 'broadband_session=""' in _cookies(signed_out)["broadband_session"]
    assert _session(factory, secret).revoked_at is not None
    client.cookies.set("broadband_session", secret)  # a copy of the cookie kept somewhere
    refused = client.post(AREAS, json=_area(), headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 401
    assert "sign in again" in refused.json()["detail"]


def test_sign_out_checks_the_csrf_token(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session]
) -> None:
    signed_in(client, factory, "test-anna")
    secret = client.cookies["broadband_session"]
    forged = client.post(SIGN_OUT, data={"csrf_token": "x" * 43}, follow_redirects=False)
    assert forged.status_code == 403
    assert _session(factory, secret).revoked_at is None


def _point_address(number: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"street": "Teststraße", "house_number": number, "postcode": "48653"},
        "geometry": {"type": "Point", "coordinates": [7.171, 51.951]},
    }


def _district() -> dict[str, Any]:
    area = _area()
    return {**area, "properties": {"name": "Test district Cookie"}}


def test_an_editor_cannot_change_districts_or_addresses_an_admin_can(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session], restore: None
) -> None:
    admin_csrf = signed_in(client, factory, "test-bernd")
    made = {
        "districts": client.post(
            "/collections/districts/items", json=_district(), headers={"X-CSRF-Token": admin_csrf}
        ),
        "addresses": client.post(
            "/collections/addresses/items",
            json=_point_address("1"),
            headers={"X-CSRF-Token": admin_csrf},
        ),
    }
    for response in made.values():
        assert response.status_code == 201, response.text
    client.cookies.clear()
    editor_csrf = signed_in(client, factory, "test-anna")
    patches = {"districts": {"name": "Test district 2"}, "addresses": {"house_number": "2"}}
    for collection, response in made.items():
        url = f"/collections/{collection}/items/{response.json()['id']}"
        headers = {
            "If-Match": response.headers["etag"],
            "Content-Type": "application/merge-patch+json",
        }
        body = {"properties": patches[collection]}
        refused = client.patch(url, json=body, headers={**headers, "X-CSRF-Token": editor_csrf})
        assert refused.status_code == 403
        assert "needs role admin" in refused.json()["detail"]
    client.cookies.clear()
    admin_csrf = signed_in(client, factory, "test-bernd")
    for collection, response in made.items():
        url = f"/collections/{collection}/items/{response.json()['id']}"
        headers = {
            "If-Match": response.headers["etag"],
            "Content-Type": "application/merge-patch+json",
            "X-CSRF-Token": admin_csrf,
        }
        changed = client.patch(url, json={"properties": patches[collection]}, headers=headers)
        assert changed.status_code == 200, changed.text
        log = client.get(
            "/changes", params={"collection": collection, "feature": changed.json()["id"]}
        )
        assert [c["actor"] for c in log.json()["changes"]] == ["test-bernd", "test-bernd"]


def test_a_disabled_user_cannot_sign_in_and_their_session_ends(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session]
) -> None:
    csrf = signed_in(client, factory, "test-anna")
    with transaction(factory, "test") as session:
        accounts.disable(session, "test-anna", _now(session))
    refused = client.post(AREAS, json=_area(), headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 401
    client.cookies.clear()
    right = sign_in(client, "test-anna", users["test-anna"])
    assert right.status_code == 403 and "deaktiviert" in right.text
    assert "broadband_session" not in _cookies(right)
    wrong = sign_in(client, "test-anna", "falsches Passwort")
    assert wrong.status_code == 401 and "Name oder Passwort falsch" in wrong.text


def _now(session: Session) -> dt.datetime:
    now: dt.datetime = session.execute(text("SELECT now()")).scalar_one()
    return now


@pytest.mark.parametrize(
    "expiry",
    [
        "expires_at = now() - interval '1 second'",  # twelve hours are up
        "last_seen_at = now() - interval '2 hours 1 minute'",  # idle for too long
    ],
)
def test_an_expired_session_is_refused(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session], expiry: str
) -> None:
    csrf = signed_in(client, factory, "test-anna")
    sid = hashlib.sha256(client.cookies["broadband_session"].encode()).hexdigest()
    with transaction(factory, "test") as session:
        session.execute(text(f"UPDATE user_sessions SET {expiry} WHERE id = :id"), {"id": sid})
    refused = client.post(AREAS, json=_area(), headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 401
    page = client.get(SIGN_IN, follow_redirects=False)
    assert page.status_code == 200  # the form again, not the workspace


def test_only_an_argon2id_hash_is_stored(
    users: dict[str, str], factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        stored: dict[str, str] = dict(
            session.execute(
                text("SELECT name, password_hash FROM users WHERE name = ANY(:n)"),
                {"n": list(PASSWORDS)},
            ).all()
        )
    for name, password in users.items():
        assert stored[name].startswith("$argon2id$")
        assert password not in stored[name]
    with factory() as session, pytest.raises(Exception, match="password_hash_argon2"):
        session.execute(
            text(
                "INSERT INTO users (name, role, password_hash) "
                "VALUES ('test-plain', 'editor', 'Klartext-Passwort')"
            )
        )


def test_a_url_encoded_form_may_carry_the_token_and_its_body_stays_readable(
    client: TestClient, users: dict[str, str], factory: sessionmaker[Session]
) -> None:
    csrf = signed_in(client, factory, "test-anna")
    without = client.post(AREAS, data={"name": "Test"})
    assert without.status_code == 403
    with_field = client.post(AREAS, data={"name": "Test", "csrf_token": csrf})
    assert with_field.status_code == 415  # past the check; the route read the body and refused it
