"""Shared fixtures: real SQLite and PostgreSQL built by the migrations, a frozen clock, the app."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy.orm import Session, sessionmaker

from tests.databases import TemplateDatabase
from trustdesk.app import Container, build_container
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings
from trustdesk.db import make_engine
from trustdesk.web import login_routes
from trustdesk.web.app import create_app
from trustdesk.web.browser import LoginThrottle

# CI runs the same examples every time (a failure there must be reproducible); laptops explore anew.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Trustdesk runs in production unless told otherwise; the tests are development unless they say production
# (every Settings and CLI run in this process, and the servers and workers it starts with its environment).
os.environ["TRUSTDESK_ENVIRONMENT"] = "development"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session", params=BACKENDS)
def template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TemplateDatabase]:
    database = TemplateDatabase(request.param, tmp_path_factory.mktemp(request.param))
    yield database
    database.close()


@pytest.fixture
def database_url(template: TemplateDatabase) -> Iterator[str]:
    """A fresh, migrated database of its own for tests whose work must really commit (CLI, servers)."""
    url = template.fresh()
    yield url
    template.drop(url)


@pytest.fixture
def sessions(template: TemplateDatabase) -> Iterator[sessionmaker[Session]]:
    """Sessions inside one outer transaction that is rolled back after the test: commits are savepoints."""
    engine = make_engine(template.url)
    connection = engine.connect()
    outer = connection.begin()
    try:
        yield sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    finally:
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def container(
    template: TemplateDatabase, sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> Iterator[Container]:
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=template.url,
        reference_platform_url="sqlite://",
        signing_key_path=tmp_path / "signing.pem",
    )
    c = build_container(settings, clock=clock, sessions=sessions)
    yield c
    c.engine.dispose()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_login_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with an empty per-address login throttle (tests log in far more than people)."""
    monkeypatch.setattr(login_routes, "throttle", LoginThrottle())


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default paths (var/...) land in the test's own folder, never in the checkout."""
    monkeypatch.chdir(tmp_path)
