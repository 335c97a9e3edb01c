"""Issue 11, hardening: production refuses the demo data, starts only when configured, keeps its database
files private and purges expired production packages."""

import json
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.clitools import cli, cli_env
from tests.factories import CHECK, bearer, epoc
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk import migrations
from trustdesk.app import Container, build_container
from trustdesk.audit import service as audit
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings, SettingsError, load_settings
from trustdesk.db import make_engine, unit_of_work
from trustdesk.errors import Forbidden
from trustdesk.lawful import execution
from trustdesk.lawful.models import LawfulRequest, Production
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


@pytest.mark.parametrize(
    "command", [["serve"], ["worker", "scan"], ["worker", "ingest"], ["monitor", "--once"]]
)
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
                kind=IssuerKind.POLICE, domains=["fbi.gov"], check=CHECK,
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


def test_production_with_the_mail_intake_on_needs_a_relay_for_the_acknowledgements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TRUSTDESK_SMTP_LISTEN", "0.0.0.0:25")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "TRUSTDESK_SMTP_HOST" in str(refused.value)
    monkeypatch.setenv("TRUSTDESK_SMTP_HOST", "relay.platform.example")
    assert load_settings().smtp_listen == "0.0.0.0:25"


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


# ------------------------------------------------------------------------- 5. expired packages are purged


def _produced(world: World) -> str:
    tracking = world.submit(
        epoc(
            targets=[{"type": "phone", "value": SUSPECT_PHONE}],
            period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
            suspect_confirmed=True,
        )
    )
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    return tracking


def _content_length(session: Session, production_id: str) -> int:
    return session.scalar(select(func.length(Production.content)).where(Production.id == production_id)) or 0


def test_an_expired_package_is_deleted_its_record_kept_and_the_purge_audited(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    world = build_world(client, container, sessions, clock)
    tracking = _produced(world)
    with unit_of_work(sessions) as session:
        assert execution.purge_expired_productions(session, clock) == []  # the link is still valid
        production = session.scalars(select(Production)).one()
        kept = (production.id, production.sha256, production.size, production.records, production.categories)
        assert _content_length(session, production.id) == production.size > 0

    clock.advance(timedelta(days=container.settings.production_link_days, seconds=1))
    with unit_of_work(sessions) as session:
        assert execution.purge_expired_productions(session, clock) == [kept[0]]
    with unit_of_work(sessions) as session:
        assert execution.purge_expired_productions(session, clock) == []  # once
        production = session.get_one(Production, kept[0])
        assert _content_length(session, production.id) == 0
        assert (
            production.id,
            production.sha256,
            production.size,
            production.records,
            production.categories,
        ) == kept
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert (event.action, event.actor_kind) == ("lawful:production:purge", "system")
        assert event.data["after"]["production_id"] == kept[0]
        assert event.data["after"]["sha256"] == kept[1]
        assert audit.verify(session).ok
    assert (
        world.client.get(f"/api/v1/requests/{tracking}/production", headers=bearer(world.fr_key)).json()[
            "code"
        ]
        == "production_expired"
    )


def _expired_production(database_url: str, tmp_path: Path) -> tuple[dict[str, str], str]:
    """A database with the demo's requests and one production whose link expired a day ago."""
    env = cli_env(database_url, tmp_path)
    cli(env, "demo", "--users", "5")
    engine = make_engine(database_url)
    try:
        with unit_of_work(sessionmaker(bind=engine)) as session:
            request = session.scalars(select(LawfulRequest).limit(1)).one()
            now = datetime.now(UTC)
            production = Production(
                request_id=request.id, created_at=now - timedelta(days=15),
                expires_at=now - timedelta(days=1),
                recipient="age1demo", signer_key_id="k", categories=["subscriber"], records=1, size=6,
                sha256="0" * 64, content=b"secret", downloads=0,
            )  # fmt: skip
            session.add(production)
            session.flush()
            return env, production.id
    finally:
        engine.dispose()


def _content_left(database_url: str, production_id: str) -> int:
    engine = make_engine(database_url)
    try:
        with sessionmaker(bind=engine)() as session:
            return _content_length(session, production_id)
    finally:
        engine.dispose()


def test_trustdesk_production_purge_deletes_the_expired_packages(database_url: str, tmp_path: Path) -> None:
    env, production_id = _expired_production(database_url, tmp_path)

    result = cli(env, "production", "purge", "--json")

    assert json.loads(result.stdout) == {"purged": [production_id]}
    assert _content_left(database_url, production_id) == 0
    assert "0 expired production package(s) deleted" in cli(env, "production", "purge").stdout


def test_serve_purges_the_expired_packages_in_its_background_loop(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import uvicorn

    from trustdesk.lawful import monitor

    env, production_id = _expired_production(database_url, tmp_path)
    rounds = threading.Event()

    def one_round(*_: object, also: list[Callable[[], object]], **__: object) -> None:
        for job in also:
            job()
        rounds.set()

    monkeypatch.setattr(monitor, "run_monitor", one_round)
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: rounds.wait(30))

    cli(env, "serve", "--no-ingest")

    assert rounds.is_set()
    assert _content_left(database_url, production_id) == 0
