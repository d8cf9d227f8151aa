"""Rate limits per client address: failed sign-ins and tokens, uploads; 429 with Retry-After."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import httpx2
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.auth import accounts
from service.core.settings import Settings
from service.db.engine import transaction
from service.layers import Role
from service.main import create_app
from service.packages.export_queries import package_frames

SIGN_IN = "/redaktion/anmelden"
DELIVERY = "/redaktion/lieferung"
USER, PASSWORD = "test-rate-clara", "Glasfaser-Grenze-2026"
OTHER_CLIENT = ("10.0.0.2", 123)
BAD_TOKEN = {"Authorization": "Bearer not-a-token-of-ours"}
NO_IMPORT = "/imports/00000000-0000-4000-8000-000000000000"  # a well-formed id of nothing


@pytest.fixture
def user(factory: sessionmaker[Session], coesfeld: object) -> Iterator[str]:
    """An editor who signs in at the workspace; removed with her sessions afterwards."""
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = :n"), {"n": USER})
        accounts.create_user(session, USER, Role.EDITOR, PASSWORD)
    yield USER
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = :n"), {"n": USER})


@pytest.fixture
def imports_made(factory: sessionmaker[Session], coesfeld: object) -> Iterator[None]:
    """Previews the test uploads are deleted afterwards."""
    with factory() as session:
        last = session.execute(text("SELECT coalesce(max(id), 0) FROM imports")).scalar_one()
    yield
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM imports WHERE id > :last"), {"last": last})


@pytest.fixture
def delivery(factory: sessionmaker[Session], coesfeld: object, tmp_path: Path) -> Path:
    """The stored areas as a provider's GeoPackage, one status changed: a delivery that previews."""
    with factory() as session:
        areas = package_frames(session, None)["areas"]
    statuses = list(areas["status"])
    statuses[0] = "under_construction" if statuses[0] != "under_construction" else "connected"
    frame = gpd.GeoDataFrame(
        {"name": areas["name"], "status": statuses}, geometry=areas.geometry, crs=25832
    )
    path = tmp_path / "Lieferung.gpkg"
    frame.to_file(path, layer="areas")
    return path


def _app(settings: Settings, **limits: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=limits)))


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _sign_in(client: TestClient, name: str, password: str) -> httpx2.Response:
    """Load the form and send it back with its token, as a browser does."""
    token = _hidden(client.get(SIGN_IN).text, "csrf_token")
    return client.post(
        SIGN_IN,
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _account(factory: sessionmaker[Session]) -> tuple[int, int]:
    """The user's stored failure counter and number of sessions."""
    with factory() as session:
        row = session.execute(
            text(
                "SELECT u.failed_attempts, count(s.id) FROM users u "
                "LEFT JOIN user_sessions s ON s.user_id = u.id WHERE u.name = :n "
                "GROUP BY u.failed_attempts"
            ),
            {"n": USER},
        ).one()
    return int(row[0]), int(row[1])


def _imports(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.execute(text("SELECT count(*) FROM imports")).scalar_one())


def _upload(client: TestClient, path: Path, secret: str) -> httpx2.Response:
    with path.open("rb") as handle:
        return client.post(
            "/imports",
            files={"file": (path.name, handle)},
            data={"layer": "areas"},
            headers={"Authorization": f"Bearer {secret}"},
        )


def _wait(response: httpx2.Response, longest: int) -> int:
    """The Retry-After of a 429: whole seconds, at most the window."""
    assert response.status_code == 429, response.text
    assert re.fullmatch(r"[0-9]+", response.headers["retry-after"])
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= longest
    return seconds


def test_failed_sign_ins_refuse_the_address_even_the_right_password(
    settings: Settings, user: str, factory: sessionmaker[Session]
) -> None:
    with _app(settings, auth_failure_limit="3/minute") as client:
        assert _sign_in(client, "test-rate-niemand", PASSWORD).status_code == 401
        assert _sign_in(client, "test-rate-niemand", "anders").status_code == 401
        assert _sign_in(client, user, "falsches Passwort").status_code == 401
        assert _account(factory) == (1, 0)
        refused = _sign_in(client, user, PASSWORD)
        _wait(refused, 60)
        assert refused.headers["content-type"].startswith("text/html")
        assert '<html lang="de">' in refused.text
        assert re.search(
            r'role="alert">Zu viele fehlgeschlagene Anmeldungen von dieser Adresse\. '
            r"Bitte versuchen Sie es in ([0-9]+ Sekunden?|1 Minute) erneut\.",
            refused.text,
        )
        assert "broadband_session" not in client.cookies
        # While refused, no password is checked: a wrong one does not reach the account's counter.
        _wait(_sign_in(client, user, "noch ein Versuch"), 60)
        assert _account(factory) == (1, 0)
        elsewhere = TestClient(client.app, client=OTHER_CLIENT)
        assert _sign_in(elsewhere, user, PASSWORD).status_code == 303
    assert _account(factory) == (0, 1)


def _at_once(count: int, attempt: Callable[[], int]) -> list[int]:
    """Run attempts in parallel threads, released together, and collect their statuses."""
    start = threading.Barrier(count)

    def one() -> int:
        start.wait()
        return attempt()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: one(), range(count)))


def test_wrong_tokens_sent_in_parallel_get_no_more_than_the_limit(settings: Settings) -> None:
    with _app(settings, auth_failure_limit="3/minute") as client:
        statuses = _at_once(12, lambda: client.get(NO_IMPORT, headers=BAD_TOKEN).status_code)
    assert sorted(statuses) == [401] * 3 + [429] * 9


def test_sign_ins_sent_in_parallel_check_no_more_passwords_than_the_limit(
    settings: Settings, user: str, factory: sessionmaker[Session]
) -> None:
    with _app(settings, auth_failure_limit="3/minute") as client:
        forms = [_hidden(client.get(SIGN_IN).text, "csrf_token") for _ in range(8)]

        def guess() -> int:
            token = forms.pop()
            answer = client.post(
                SIGN_IN,
                data={"name": user, "password": "geraten", "csrf_token": token},
                follow_redirects=False,
            )
            return answer.status_code

        statuses = _at_once(8, guess)
    assert sorted(statuses) == [401] * 3 + [429] * 5
    assert _account(factory) == (3, 0)  # only three passwords were ever compared


def test_a_refusal_ends_when_the_window_frees(settings: Settings) -> None:
    with _app(settings, auth_failure_limit="1 per 3 seconds") as client:
        assert client.get(NO_IMPORT, headers=BAD_TOKEN).status_code == 401
        wait = _wait(client.get(NO_IMPORT, headers=BAD_TOKEN), 3)
        time.sleep(wait + 0.1)
        assert client.get(NO_IMPORT, headers=BAD_TOKEN).status_code == 401


def test_wrong_tokens_are_counted_right_ones_are_not(
    settings: Settings, tokens: dict[str, str]
) -> None:
    editor = {"Authorization": f"Bearer {tokens['editor']}"}
    with _app(settings, auth_failure_limit="2/minute") as client:
        for _ in range(5):
            assert client.get(NO_IMPORT, headers=editor).status_code == 404
        malformed = {"Authorization": "Basic dGVzdDp0ZXN0"}
        assert client.get(NO_IMPORT, headers=malformed).status_code == 401
        assert client.get(NO_IMPORT, headers=BAD_TOKEN).status_code == 401
        refused = client.get(NO_IMPORT, headers=BAD_TOKEN)
        _wait(refused, 60)
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert (problem["status"], problem["title"]) == (429, "TooManyRequests")
        assert "2 per 1 minute" in problem["detail"]
        assert "BROADBAND_AUTH_FAILURE_LIMIT" in problem["detail"]
        # A right token still passes: it cannot be guessed, and a prober sharing the address
        # (behind one proxy) must not lock the editors out.
        assert client.get(NO_IMPORT, headers=editor).status_code == 404
        _wait(client.get(NO_IMPORT, headers=BAD_TOKEN), 60)
        elsewhere = TestClient(client.app, client=OTHER_CLIENT)
        assert elsewhere.get(NO_IMPORT, headers=editor).status_code == 404
        assert elsewhere.get(NO_IMPORT, headers=BAD_TOKEN).status_code == 401
        documented = client.get("/openapi.json").json()["paths"]["/imports"]["post"]["responses"]
        assert "Retry-After" in documented["429"]["headers"]


def test_the_default_allows_ten_failures_a_minute(settings: Settings, coesfeld: object) -> None:
    with _app(settings) as client:
        for _ in range(10):
            assert client.get(NO_IMPORT, headers=BAD_TOKEN).status_code == 401
        _wait(client.get(NO_IMPORT, headers=BAD_TOKEN), 60)


def test_uploads_over_the_limit_are_refused_and_store_nothing(
    settings: Settings,
    tokens: dict[str, str],
    factory: sessionmaker[Session],
    delivery: Path,
    imports_made: None,
) -> None:
    before = _imports(factory)
    with _app(settings, upload_limit="2/hour") as client:
        assert _upload(client, delivery, tokens["editor"]).status_code == 201
        assert _upload(client, delivery, tokens["editor"]).status_code == 201
        refused = _upload(client, delivery, tokens["editor"])
        _wait(refused, 3600)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "BROADBAND_UPLOAD_LIMIT" in refused.json()["detail"]
        assert _imports(factory) == before + 2
        elsewhere = TestClient(client.app, client=OTHER_CLIENT)
        assert _upload(elsewhere, delivery, tokens["editor"]).status_code == 201
    assert _imports(factory) == before + 3


def test_the_workspace_upload_answers_with_its_german_page(
    settings: Settings,
    user: str,
    factory: sessionmaker[Session],
    delivery: Path,
    imports_made: None,
) -> None:
    before = _imports(factory)
    with _app(settings, upload_limit="1/hour") as client:
        assert _sign_in(client, user, PASSWORD).status_code == 303
        csrf = _hidden(client.get(DELIVERY).text, "csrf_token")
        answers = []
        for _ in range(2):
            with delivery.open("rb") as handle:
                answers.append(
                    client.post(
                        DELIVERY,
                        files={"file": (delivery.name, handle)},
                        data={"layer": "areas", "match": "name", "csrf_token": csrf},
                        follow_redirects=False,
                    )
                )
    first, second = answers
    assert first.status_code == 303, first.text
    _wait(second, 3600)
    assert second.headers["content-type"].startswith("text/html")
    assert "Die Lieferung wurde nicht übernommen: zu viele Lieferungen" in second.text
    assert re.search(r"Bitte versuchen Sie es in [0-9]+ Minuten? erneut", second.text)
    assert _imports(factory) == before + 1


def test_off_switches_a_limit_off(
    settings: Settings, tokens: dict[str, str], coesfeld: object
) -> None:
    editor = {"Authorization": f"Bearer {tokens['editor']}"}
    fileless = {"layer": "areas"}  # refused (400), but an upload that counts all the same
    with _app(settings, auth_failure_limit="off", upload_limit="OFF") as client:
        for _ in range(15):
            assert client.get(NO_IMPORT, headers=BAD_TOKEN).status_code == 401
        for _ in range(3):
            assert client.post("/imports", data=fileless, headers=editor).status_code == 400
    with _app(settings, upload_limit="2/hour") as client:
        for _ in range(2):
            assert client.post("/imports", data=fileless, headers=editor).status_code == 400
        _wait(client.post("/imports", data=fileless, headers=editor), 3600)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BROADBAND_AUTH_FAILURE_LIMIT", "ten a minute"),
        ("BROADBAND_AUTH_FAILURE_LIMIT", "10/fortnight"),
        ("BROADBAND_UPLOAD_LIMIT", "0/hour"),
        ("BROADBAND_UPLOAD_LIMIT", ""),
    ],
)
def test_a_bad_setting_is_refused_at_start(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=f"{variable}: expected e.g. `10/minute`"):
        Settings()


def test_good_settings_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADBAND_AUTH_FAILURE_LIMIT", " 5 per minute;20/hour ")
    monkeypatch.setenv("BROADBAND_UPLOAD_LIMIT", "Off")
    settings = Settings()
    assert (settings.auth_failure_limit, settings.upload_limit) == ("5 per minute;20/hour", "Off")
