"""Fixtures: a real PostGIS test database, migrated once; each test in a rolled-back transaction."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service.auth import queries as token_store
from service.core.settings import DEFAULT_PACKAGE, Settings
from service.db import history, schema
from service.db.engine import make_engine, make_sessionmaker, set_actor, transaction
from service.layers import Role
from service.main import create_app
from service.ops.processes import free_port
from service.packages.diff import LayerDiff
from service.packages.seeding import seed
from tests import kreis as generated
from tests import timemachine
from tests.helpers import CHROMIUM, FLAGS, TemporaryCluster


def _test_database_url() -> str:
    settings = Settings()
    if settings.test_database_url:
        return settings.test_database_url
    if settings.database_url:
        url = make_url(settings.database_url)
        return url.set(database=f"{url.database}_test").render_as_string(hide_password=False)
    pytest.exit("no database: run `broadband db up` (or set DATABASE_URL)", returncode=2)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at the test database, which the suite may wipe."""
    url = _test_database_url()
    return Settings(database_url=url, test_database_url=url)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The test database, emptied and migrated to head once per run."""
    engine = make_engine(settings)
    schema.downgrade(engine, "base")
    schema.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the test database that really commit (for seeding tests)."""
    return make_sessionmaker(engine)


@pytest.fixture(scope="session")
def coesfeld(factory: sessionmaker[Session]) -> dict[str, LayerDiff]:
    """The bundled Coesfeld package, loaded once and committed; tests must not change it."""
    diffs = seed(factory, DEFAULT_PACKAGE, actor="test-suite")
    assert diffs is not None
    return diffs


@pytest.fixture(scope="module")
def kreis(
    factory: sessionmaker[Session], coesfeld: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Three generated municipalities of Kreis 05990 beside Coesfeld (tests/kreis.py), loaded as
    packages and removed when the module ends, so no other test sees more than Coesfeld."""
    with generated.loaded(factory, tmp_path_factory.mktemp("kreis")) as key:
        yield key


@pytest.fixture(scope="module")
def zeitdorf(factory: sessionmaker[Session], coesfeld: object) -> Iterator[int]:
    """Zeitdorf (tests/timemachine.py), whose past differs from its present in every way the
    time machine must get right, beside Coesfeld while the module runs."""
    with timemachine.zeitdorf(factory) as m:
        yield m


@pytest.fixture(scope="module")
def today(factory: sessionmaker[Session]) -> dt.date:
    """The database's date: Zeitdorf's edits are made today, its past is yesterday."""
    with factory() as session:
        day: dt.date = session.execute(text("SELECT current_date")).scalar_one()
    return day


@pytest.fixture(scope="module")
def yesterday(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=1)


@pytest.fixture(scope="session")
def spare_cluster() -> Iterator[TemporaryCluster]:
    """A second PostGIS server of our own, to migrate from scratch or to stop."""
    cluster = TemporaryCluster()
    cluster.start()
    engine = create_engine(cluster.url)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION postgis"))
    engine.dispose()
    yield cluster
    cluster.remove()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose every write is rolled back when the test ends, commits included."""
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        set_actor(session, "test")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app on the test database, with its lifespan running."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A writable copy of the Coesfeld package to break in a test."""
    target = tmp_path / "package"
    target.mkdir()
    for source in DEFAULT_PACKAGE.iterdir():
        (target / source.name).write_bytes(source.read_bytes())
    return target


@pytest.fixture(scope="session")
def service_url(settings: Settings, coesfeld: object) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, on the test database, no basemap.

    Every test of the run reaches it from 127.0.0.1, so per-address rate limits would make one
    test's uploads and wrong tokens refuse another's: they are off here and tested on their own
    apps (tests/web/test_rate_limits.py).
    """
    port = free_port()
    unlimited = {"auth_failure_limit": "off", "upload_limit": "off"}
    app = create_app(settings.model_copy(update={"basemap_url": "none", **unlimited}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def tokens(factory: sessionmaker[Session], coesfeld: object) -> Iterator[dict[str, str]]:
    """Bearer secrets of an editor and an admin, revoked when the run ends."""
    names = {"editor": "test-editor", "admin": "test-admin"}
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM api_tokens WHERE name LIKE 'test-%'"))
        secrets = {
            role: token_store.create(session, name, Role(role)) for role, name in names.items()
        }
    yield secrets
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM api_tokens WHERE name LIKE 'test-%'"))


FEATURE_TABLES = ("areas", "hamlets", "schools", "districts", "addresses")


def _fingerprints(session: Session, last: dict[str, int]) -> dict[str, str | None]:
    """Every row up to `last` of each feature table, hashed: any change to one changes it."""
    return {
        t: session.execute(
            text(f"SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM {t} t WHERE id <= :m"),
            {"m": last[t]},
        ).scalar_one()
        for t in FEATURE_TABLES
    }


@pytest.fixture
def restore(factory: sessionmaker[Session], coesfeld: object) -> Iterator[None]:
    """Tests that write through the API commit: the features they added are removed after, and
    if one of the package's was changed or deleted, the package is loaded again."""
    with factory() as session:
        before = {
            t: session.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()
            for t in FEATURE_TABLES
        }
        unchanged = _fingerprints(session, before)
    yield
    with transaction(factory, "test-suite") as session:
        history.forget(session)  # what a test added never existed, not even in the past
        for table in FEATURE_TABLES:
            session.execute(text(f"DELETE FROM {table} WHERE id > :m"), {"m": before[table]})
            session.execute(
                text("DELETE FROM status_history WHERE feature_table = :t AND feature_id > :m"),
                {"t": table, "m": before[table]},
            )
    with factory() as session:
        changed = _fingerprints(session, before) != unchanged
    if changed:
        seed(factory, DEFAULT_PACKAGE, actor="test-suite")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    if not shutil.which("chromium") and not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian package chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()
