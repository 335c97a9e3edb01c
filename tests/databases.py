"""Real test databases built by the migrations: SQLite files and PostgreSQL databases from a template."""

import itertools
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from trustdesk import migrations

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_counter = itertools.count()


def postgres_admin_url() -> str:
    """The maintenance database; tests that need PostgreSQL fail in CI and skip on a laptop without it."""
    url = os.environ.get("TRUSTDESK_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except OperationalError as exc:
        message = f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is unreachable: {exc}"
        if os.environ.get("TRUSTDESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (TRUSTDESK_REQUIRE_POSTGRES=1: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message + " (set TRUSTDESK_TEST_POSTGRES_URL, or run .ci/run to start it)")
    return url


def _admin_execute(admin_url: str, *statements: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


class TemplateDatabase:
    """A migrated database that fresh per-test databases are copied from."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.prefix = f"td_test_{os.getpid()}"
        if backend == "sqlite":
            self.path = workdir / "template.db"
            self.url = f"sqlite:///{self.path}"
        else:
            self.admin_url = postgres_admin_url()
            self.name = f"{self.prefix}_template"
            _admin_execute(
                self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}"', f'CREATE DATABASE "{self.name}"'
            )
            self.url = self._url_of(self.name)
        migrations.upgrade(self.url)

    def _url_of(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        """A new database with the migrated schema and no data; committed work in it is real."""
        n = next(_counter)
        if self.backend == "sqlite":
            path = self.workdir / f"db{n}.db"
            shutil.copyfile(self.path, path)
            return f"sqlite:///{path}"
        name = f"{self.prefix}_{n}"
        _admin_execute(self.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return self._url_of(name)

    def drop(self, url: str) -> None:
        if self.backend == "postgresql":
            name = make_url(url).database
            _admin_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.backend == "postgresql":
            _admin_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
