"""Issue 11, hardening: production refuses the demo data, starts only when configured, keeps its database
files private and purges expired production packages."""

import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.clitools import cli, cli_env
from trustdesk import migrations
from trustdesk.app import build_container
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings, SettingsError, load_settings
from trustdesk.db import make_engine, unit_of_work
from trustdesk.errors import Forbidden
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.productionguard import ensure_fit_for_production
from trustdesk.vocabulary import IssuerKind

PRODUCTION = {
    "TRUSTDESK_ENVIRONMENT": "production",
    "TRUSTDESK_SECRET_KEY": "a-production-secret-of-forty-characters!",
    "TRUSTDESK_NCMEC_BASE_URL": "https://report.cybertip.org/ispws",
    "TRUSTDESK_NCMEC_USERNAME": "platform",
    "TRUSTDESK_NCMEC_PASSWORD": "secret",
}


def production_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.PRODUCTION,
        database_url=database_url,
        reference_platform_url="sqlite://",
        signing_key_path=tmp_path / "signing.pem",
        secret_key=PRODUCTION["TRUSTDESK_SECRET_KEY"],  # type: ignore[arg-type]
        ncmec_base_url=PRODUCTION["TRUSTDESK_NCMEC_BASE_URL"],
        ncmec_username=PRODUCTION["TRUSTDESK_NCMEC_USERNAME"],
        ncmec_password=PRODUCTION["TRUSTDESK_NCMEC_PASSWORD"],  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------- 1. demo data


@pytest.mark.parametrize("command", [["serve"], ["worker", "scan"], ["worker", "ingest"]])
def test_production_refuses_to_start_while_the_demo_data_exists(
    database_url: str, tmp_path: Path, command: list[str]
) -> None:
    env = cli_env(database_url, tmp_path)
    cli(env, "demo", "--users", "5")

    result = cli({**env, **PRODUCTION}, *command, expect=2)

    message = result.stderr
    assert "demo data" in message
    assert "staff user admin@platform.example" in message
    assert "officer dana.reyes@fbi.gov" in message
    assert "agency 'Bundeskriminalamt' (bka.bund.de)" in message
    assert "Traceback" not in result.output


def test_production_starts_without_demo_data_and_a_real_agency_of_a_demo_name_is_not_demo_data(
    database_url: str, tmp_path: Path
) -> None:
    c = build_container(production_settings(database_url, tmp_path))
    try:
        ensure_fit_for_production(c)  # a fresh database
        with unit_of_work(c.sessions) as session:
            fbi = authorities.create_agency(
                session, c.clock, Actor.operator(), name="Federal Bureau of Investigation", country="US",
                kind=IssuerKind.POLICE, domains=["fbi.gov"], verified=True,
            )  # fmt: skip
            authorities.add_officer(
                session, c.clock, Actor.operator(), agency_id=fbi.id, name="Real Agent", email="agent@fbi.gov"
            )
        ensure_fit_for_production(c)
        with unit_of_work(c.sessions) as session:
            authorities.add_officer(
                session, c.clock, Actor.operator(), agency_id=fbi.id, name="Dana", email="dana.reyes@fbi.gov"
            )
        with pytest.raises(Forbidden, match=r"remove officer dana\.reyes@fbi\.gov \(or start"):
            ensure_fit_for_production(c)
    finally:
        c.engine.dispose()


def test_development_starts_with_the_demo_data(database_url: str, tmp_path: Path) -> None:
    env = cli_env(database_url, tmp_path)
    cli(env, "demo", "--users", "5")
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=database_url,
        reference_platform_url=env["TRUSTDESK_REFERENCE_PLATFORM_URL"],
        signing_key_path=tmp_path / "signing.pem",
    )
    c = build_container(settings)
    try:
        ensure_fit_for_production(c)
    finally:
        c.engine.dispose()


# ------------------------------------------------------------------------------- 2. production by default


def test_the_default_environment_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUSTDESK_ENVIRONMENT", raising=False)
    for name, value in PRODUCTION.items():
        if name != "TRUSTDESK_ENVIRONMENT":
            monkeypatch.setenv(name, value)

    assert load_settings().environment is Environment.PRODUCTION


def test_a_fresh_start_without_settings_says_what_production_needs_and_how_to_try_the_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from trustdesk.cli import app

    monkeypatch.delenv("TRUSTDESK_ENVIRONMENT", raising=False)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    for needed in ("TRUSTDESK_SECRET_KEY", "TRUSTDESK_NCMEC_BASE_URL", "TRUSTDESK_NCMEC_PASSWORD"):
        assert needed in message
    assert "make run" in message
    assert "TRUSTDESK_ENVIRONMENT=development" in message

    env = {"TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db", "TRUSTDESK_ENVIRONMENT": None}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "runs in production unless TRUSTDESK_ENVIRONMENT says otherwise" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "fresh.db").exists()  # refused before anything was created


def test_make_run_says_development_for_every_command() -> None:
    root = Path(__file__).resolve().parents[2]
    planned = subprocess.run(
        ["make", "-n", "run"], cwd=root, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    commands = [line for line in planned.splitlines() if "bin/trustdesk " in line]
    assert len(commands) == 3
    assert all(line.startswith("TRUSTDESK_ENVIRONMENT=development ") for line in commands)


# ------------------------------------------------------------------------------- 4. private database files


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022): a file made without care would be world-readable."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_database_and_its_wal_and_shm_are_created_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    database = tmp_path / "var" / "trustdesk.db"
    migrations.upgrade(f"sqlite:///{database}")
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:  # WAL: the -wal and -shm files exist while it is open
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.commit()
            made = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert all(path.exists() for path in made)
            assert {path.name: mode(path) for path in made} == {path.name: 0o600 for path in made}
    finally:
        engine.dispose()


def test_the_reference_platforms_sqlite_file_is_created_owner_only(tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "platform.db"
    platform = ReferencePlatform(
        f"sqlite:///{database}", clock=FrozenClock(datetime(2026, 11, 2, tzinfo=UTC))
    )
    try:
        platform.create_schema()
    finally:
        platform.close()
    assert mode(database) == 0o600


def test_an_existing_database_file_keeps_the_mode_its_operator_gave_it(tmp_path: Path) -> None:
    database = tmp_path / "trustdesk.db"
    database.touch()
    database.chmod(0o640)
    migrations.upgrade(f"sqlite:///{database}")
    assert mode(database) == 0o640
