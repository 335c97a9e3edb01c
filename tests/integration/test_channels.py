"""The channel directory end to end, on SQLite and PostgreSQL: a deployment's own directory file
(``TRUSTDESK_CHANNELS_FILE``) is what ``/contact`` publishes, and every channel it lists answers where it
says: the portal's login, the API's submission, each e-mail address at the real SMTP listener of `trustdesk
mail listen` over loopback (any other address: 550), the mailroom for letters, and the emergency line. A
bad directory file stops the start. Every DNS answer comes from the test: nothing leaves loopback.
"""

import itertools
import re
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import give_officer_login, log_in
from tests.clitools import cli, cli_env
from tests.databases import TemplateDatabase
from tests.factories import bearer, epoc, officer_key
from tests.integration.test_mail_intake import console, dns, free_port, send, signed_order, stored, upload
from tests.integration.test_public_pages import VOID, get, text
from trustdesk.app import Container, build_container
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings, SettingsError
from trustdesk.db import make_engine
from trustdesk.intake import authenticity
from trustdesk.intake import cli as intake_cli
from trustdesk.intake.channels import EmailPurpose, load_directory
from trustdesk.intake.models import InboundMessage
from trustdesk.web.public import routes

CUSTOM = """\
schema_version = 1

[portal]
path = "/portal"

[api]
path = "/api/v1"
docs = "/docs"

[[email]]
address = "Requests@Desk-Channels.example"
purpose = "requests"
languages = ["en", "de"]
description = "Orders of every kind, with the signed order attached."

[[email]]
address = "preservation@desk-channels.example"
purpose = "requests"
languages = ["fr"]
description = "Preservation requests."

[[email]]
address = "urgent@desk-channels.example"
purpose = "emergency"
languages = ["en"]
description = "Emergencies only."

[postal]
name = "Channels Test Representative GmbH"
lines = ["Beispielstrasse 7", "10115 Berlin"]
country = "DE"
fax = "+49 30 5550 1009"
description = "Signed orders on paper."

[emergency]
phone = "+49 30 5550 1000"
email = "urgent@desk-channels.example"
description = "Answered by the on-call lawyer, day and night."
"""
PACKAGED_ADDRESSES = load_directory(None).intake_addresses
NOT_LISTED = "nobody@desk-channels.example"


@pytest.fixture
def channels_file(tmp_path: Path) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    return path


@pytest.fixture
def container(
    template: TemplateDatabase,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    tmp_path: Path,
    channels_file: Path,
) -> Iterator[Container]:
    """The app's container (and so conftest's ``client``) with the custom directory given through settings."""
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=template.url,
        reference_platform_url="sqlite://",
        signing_key_path=tmp_path / "signing.pem",
        channels_file=channels_file,
    )
    c = build_container(settings, clock=clock, sessions=sessions)
    yield c
    c.engine.dispose()


class _Balance(HTMLParser):
    """Every element closed, in order (void elements aside)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.open[-1] if self.open else 'nothing'}>")
        else:
            self.open.pop()


def section(html: str, element_id: str) -> str:
    """The markup of the <section> with this id."""
    found = re.search(rf'<section[^>]* id="{element_id}".*?</section>', html, flags=re.DOTALL)
    assert found, element_id
    return found.group(0)


# ------------------------------------------------------------------------------------------ /contact


@pytest.mark.parametrize("path", ["/contact", "/contact/FR"])
def test_the_contact_pages_publish_every_channel_of_the_directory_file(
    client: TestClient, container: Container, path: str
) -> None:
    directory = container.channels
    assert directory.intake_addresses == (
        "requests@desk-channels.example",
        "preservation@desk-channels.example",
        "urgent@desk-channels.example",
    )
    html = get(client, path)
    how = section(html, "how-to-send")
    words = text(html, "how-to-send")

    assert f'<a href="{directory.portal.path}">' in how
    assert f"POST {directory.api.submit}" in words
    assert f'href="{directory.api.docs}"' in how
    for number, entry in enumerate(directory.email, 1):
        item = text(html, f"email-{number}")
        assert f'href="mailto:{entry.address}"' in how
        assert entry.address in item
        assert ("Emergencies only" if entry.purpose is EmailPurpose.EMERGENCY else "Requests") in item
        assert entry.description in item
        languages = ", ".join(routes.language_name(code) for code in entry.languages)
        assert f"Languages: {languages}." in item
    postal = directory.postal
    address = re.search(r'<address id="postal-address">.*?</address>', how, flags=re.DOTALL)
    assert address, "the postal address is an <address>"
    postal_words = text(address.group(0), "postal-address")
    for part in (postal.name, *postal.lines, "Germany", f"Fax: {postal.fax}"):
        assert part in postal_words
    assert 'href="tel:+493055501009"' in address.group(0)
    assert postal.description in words
    assert "the date of the postmark" in words
    for packaged in set(PACKAGED_ADDRESSES) - set(directory.intake_addresses):
        assert packaged not in html  # the packaged example is not what this deployment publishes

    parser = _Balance()
    parser.feed(html)
    assert parser.problems == []
    assert parser.open == []
    levels = [int(level) for level in re.findall(r"<h([1-6])\b", html)]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def test_the_emergency_line_and_address_are_published_and_the_address_is_an_emergency_one(
    client: TestClient, container: Container
) -> None:
    directory = container.channels
    html = get(client, "/contact")
    emergency = section(html, "emergency")

    line = re.search(r'<address id="emergency-line">.*?</address>', emergency, flags=re.DOTALL)
    assert line, "the emergency line is an <address>"
    assert f'<a href="tel:+493055501000">{directory.emergency.phone}</a>' in line.group(0)
    assert f'<a href="mailto:{directory.emergency.email}">{directory.emergency.email}</a>' in line.group(0)
    assert directory.emergency.description in text(html, "emergency-line")
    assert "emergency flag" in text(html, "emergency")  # and the procedure stays
    assert directory.is_emergency_address(directory.emergency.email)
    assert [e.address for e in directory.email if directory.is_emergency_address(e.address)] == [
        "urgent@desk-channels.example"
    ]


# ------------------------------------------------------------------------------------------ portal, API


def test_the_portal_path_listed_serves_the_portal_login(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    path = container.channels.portal.path
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303
    login = anonymous.headers["location"]
    assert login == f"{path}/login?next={path}"
    form = get(client, login)
    assert f'action="{path}/login"' in form
    assert 'type="password"' in form

    officer_key(sessions, clock)
    secret = give_officer_login(sessions, clock, "officer@justice.fr")
    log_in(client, "portal", "officer@justice.fr", secret, clock)
    assert client.get(path, follow_redirects=False).status_code == 200


def test_the_api_path_listed_takes_an_authenticated_submission(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    api = container.channels.api
    key = officer_key(sessions, clock)

    assert client.post(api.submit, json=epoc()).status_code == 401
    response = client.post(api.submit, json=epoc(), headers=bearer(key))
    assert response.status_code == 201, response.text
    assert response.json()["tracking_number"].startswith("TD-2026-")
    assert api.submit in client.get("/openapi.json").json()["paths"]
    docs = client.get(api.docs)
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")


# ------------------------------------------------------------------------------------------ e-mail


def test_mail_listen_accepts_every_address_listed_and_refuses_any_other(
    database_url: str, tmp_path: Path, channels_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(authenticity, "system_lookup", dns())  # no DNS beyond the test
    directory = load_directory(channels_file)
    port = free_port()
    refused: dict[str, tuple[int, bytes]] = {}

    class Conversation:
        """Stands in for the event `mail listen` waits on: mails the listener the command started, over
        loopback, then stops the command as Ctrl-C would."""

        def wait(self) -> None:
            for entry in directory.email:  # as published: the listener compares without case
                send(port, signed_order(to=entry.address), to=entry.address)
            try:
                send(port, signed_order(to=NOT_LISTED), to=NOT_LISTED)
            except smtplib.SMTPRecipientsRefused as exc:
                refused.update(exc.recipients)
            raise KeyboardInterrupt

    monkeypatch.setattr(intake_cli, "threading", SimpleNamespace(Event=Conversation))
    env = cli_env(database_url, tmp_path) | {"TRUSTDESK_CHANNELS_FILE": str(channels_file)}

    result = cli(env, "mail", "listen", "--port", str(port))

    assert f"listening on 127.0.0.1:{port} for {', '.join(directory.intake_addresses)}" in result.output
    assert refused[NOT_LISTED][0] == 550
    engine = make_engine(database_url)
    try:
        messages = stored(sessionmaker(bind=engine))
    finally:
        engine.dispose()
    assert sorted(m.recipient for m in messages) == sorted(e.address for e in directory.email)  # no other
    assert all(m.channel == "email" and m.status == "triage" for m in messages)
    urgent = [m.recipient for m in messages if directory.is_emergency_address(m.recipient or "")]
    assert urgent == [directory.emergency.email]


# ------------------------------------------------------------------------------------------ post


def test_letters_to_the_postal_address_are_scanned_in_by_the_mailroom_which_shows_the_addresses(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    csrf = console(client, sessions, clock, "legal_reviewer")
    page = client.get("/console/mailroom")
    assert page.status_code == 200
    for address in container.channels.intake_addresses:
        assert f"<code>{address}</code>" in page.text
    for packaged in set(PACKAGED_ADDRESSES) - set(container.channels.intake_addresses):
        assert packaged not in page.text

    postal = container.channels.postal
    response = upload(client, csrf, sender_address="Staatsanwaltschaft Berlin", note=f"to {postal.name}")
    assert response.status_code == 303, response.text
    with sessions() as session:
        (letter,) = session.scalars(select(InboundMessage)).all()
    assert letter.channel == "mailroom"
    assert letter.received_at == datetime(2026, 10, 30, tzinfo=UTC)  # the postmark, as /contact says
    assert "Letter from Procureur de Lyon" in client.get("/console/mailroom").text


# ------------------------------------------------------------------------------------------ start


BAD = CUSTOM.replace('email = "urgent@desk-channels.example"', 'email = "requests@desk-channels.example"')
BAD_MESSAGE = (
    "key 'emergency.email': 'requests@desk-channels.example' is email #1, whose purpose is 'requests': "
    "the emergency address needs purpose = 'emergency'"
)


def test_a_bad_directory_file_stops_the_container_with_the_file_and_the_key(
    template: TemplateDatabase, sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, encoding="utf-8")
    settings = Settings(environment=Environment.DEVELOPMENT, database_url=template.url, channels_file=bad)
    with pytest.raises(SettingsError) as refused:
        build_container(settings, clock=clock, sessions=sessions)
    assert str(refused.value) == f"invalid channel directory: {bad}: {BAD_MESSAGE}"


@pytest.mark.parametrize("command", [["serve", "--no-monitor", "--no-ingest"], ["mail", "listen"]])
def test_serve_and_mail_listen_refuse_to_start_on_a_bad_directory_file(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(args))
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, encoding="utf-8")
    env = cli_env(database_url, tmp_path) | {"TRUSTDESK_CHANNELS_FILE": str(bad)}

    result = cli(env, *command, "--port", str(free_port()), expect=2)

    assert f"invalid channel directory: {bad}: {BAD_MESSAGE}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert served == []


def test_the_directory_is_also_published_as_json_with_absolute_links(
    client: TestClient, container: Container
) -> None:
    response = client.get("/api/v1/channels")
    assert response.status_code == 200
    data = response.json()
    assert data["portal"].endswith("/portal")
    assert data["portal"].startswith("http")
    assert data["submit"].endswith("/api/v1/requests")
    assert [e["address"] for e in data["emails"]] == [e.address for e in container.channels.email]
    assert data["emergency"]["email"] == container.channels.emergency.email
    assert data["emergency"]["tel"] == container.channels.emergency.phone.replace(" ", "")
    assert "/api/v1/channels" in client.get("/openapi.json").json()["paths"]
