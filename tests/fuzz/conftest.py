"""Fixtures of the API fuzz run: one world per module over SQLite, with real officer, staff and platform keys.

SQLite only: the routes are the same on both databases, and a PostgreSQL pass would double the run for no
route the SQLite pass misses (the database tests under tests/integration/ run on both).
"""

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import T0
from tests.databases import TemplateDatabase
from tests.route_world import RouteWorld, build_route_world
from trustdesk.app import build_container
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings
from trustdesk.web.app import create_app


def schema_app() -> FastAPI:
    """An app only to read the OpenAPI document from at collection time (no database is opened)."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            environment=Environment.DEVELOPMENT,
            database_url="sqlite://",
            reference_platform_url="sqlite://",
            signing_key_path=Path(folder) / "signing.pem",
        )
        return create_app(build_container(settings))


@dataclass
class FuzzWorld:
    app: FastAPI
    world: RouteWorld


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    """A fresh migrated SQLite database whose work really commits, shared by every operation of the run."""
    folder = tmp_path_factory.mktemp("fuzz")
    template = TemplateDatabase("sqlite", folder)
    url = template.fresh()
    clock = FrozenClock(T0)
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=url,
        reference_platform_url="sqlite://",
        signing_key_path=folder / "signing.pem",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # default paths (var/...) land in the run's own folder
        container = build_container(settings, clock=clock)
        app = create_app(container)
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
            world = build_route_world(client, container, container.sessions, clock)
            yield FuzzWorld(app, world)
        container.engine.dispose()
        template.close()
