"""The public pages: landing page, point of contact, per-jurisdiction requirements, instrument catalogue.

They need no login and are generated from the policy and the catalogue the desk runs on: the tests read
the expected facts from the container, not from the templates.
"""

import itertools
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.databases import TemplateDatabase
from trustdesk.app import Container, build_container
from trustdesk.clock import FrozenClock
from trustdesk.config import Settings
from trustdesk.lawful.catalogue import PauseRule, RequestField, UserNoticeRule
from trustdesk.policy.rules import DEFAULT_DIRECTORY, JurisdictionStatus
from trustdesk.vocabulary import DataCategory, InstrumentKind, IssuerKind, TargetType
from trustdesk.web.app import create_app
from trustdesk.web.public import routes

PAGES = ["/", "/contact", "/contact/instruments", "/contact/FR", "/contact/US", "/contact/RU"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
INLINE = {"a", "abbr", "b", "code", "em", "i", "span", "strong"}


class _Text(HTMLParser):
    """The visible text of a document, or of the element with a given id."""

    def __init__(self, element_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0 if element_id else 1
        self.found = element_id is None
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth and tag not in INLINE:
            self.parts.append(" ")  # block boundaries separate words; inline ones do not
        if tag in VOID:
            return
        if self.depth:
            self.depth += 1
        elif not self.found and dict(attrs).get("id") == self.element_id:
            self.found, self.depth = True, 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in INLINE:
            self.parts.append(" ")
        if tag not in VOID and self.depth and self.element_id:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text(html: str, element_id: str | None = None) -> str:
    """Whitespace-normalised text (entities decoded) of the page or of one element; fails if absent."""
    parser = _Text(element_id)
    parser.feed(html)
    assert parser.found, f"no element with id {element_id!r}"
    return " ".join("".join(parser.parts).split())


def get(client: TestClient, path: str) -> str:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return response.text


# ------------------------------------------------------------------------------------ the contact list


def test_contact_lists_every_jurisdiction_with_status_languages_and_contact(
    client: TestClient, container: Container
) -> None:
    html = get(client, "/contact")  # no cookie, no login

    assert "<title>Point of contact for authorities · Trustdesk</title>" in html
    for j in container.policy.jurisdictions.values():
        row = text(html, f"jurisdiction-{j.code}")
        assert f"{j.name} ({j.code})" in row
        assert j.status.value.capitalize() in row
        for language in j.languages:
            assert routes.language_name(language) in row, (j.code, language)
        if j.contact is not None:
            assert j.contact.email in row
            assert f'href="mailto:{j.contact.email}"' in html
            assert f'href="tel:{j.contact.phone.replace(" ", "")}"' in html
        for code in j.instruments:
            assert code in row
            assert f'href="/contact/instruments#{code}"' in html
    france = text(html, "jurisdiction-FR")
    assert "French, English" in france
    assert "(legal representative)" in france


def test_contact_shows_exited_markets_with_their_reason_and_what_happens_to_requests(
    client: TestClient, container: Container
) -> None:
    html = get(client, "/contact")

    exited = text(html, "exited")
    for code in ("RU", "IR"):
        j = container.policy.jurisdictions[code]
        assert j.status is JurisdictionStatus.EXITED
        assert j.reason is not None
        card = text(html, f"jurisdiction-{code}")
        assert "Exited" in card
        assert j.since is not None
        assert f"since {routes.long_date(j.since)}" in card
        assert j.reason[1:] in card  # the policy's own words (first letter capitalised on the page)
    assert "acknowledged" in exited
    assert "refusal" in exited
    assert "France" not in exited


def test_contact_gives_the_channels_and_the_emergency_procedure(client: TestClient) -> None:
    html = get(client, "/contact")

    channels = text(html, "how-to-send")
    assert "/portal" in channels
    assert "/api/v1/requests" in channels
    emergency = text(html, "emergency")
    assert "emergency flag" in emergency
    assert "acknowledged at once" in emergency
    assert "justification" in emergency
    assert "supervisor's contact" in emergency
    # Data-driven: the emergency tracks of the catalogue, with their deadlines.
    assert "European Production Order Certificate (EPOC)" in emergency
    assert "Emergency disclosure request" in emergency
    assert "8 hours from receipt (platform target)" in emergency
    assert "call-back" in emergency


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_no_login_have_a_csp_and_no_inline_script(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)

    assert response.status_code == 200
    assert not response.cookies
    assert "script-src 'self'" in response.headers["content-security-policy"]
    scripts = re.findall(r"<script\b[^>]*>", response.text, flags=re.IGNORECASE)
    assert scripts, "the shared script is still linked"
    assert all(re.search(r"\bsrc=", tag) for tag in scripts), scripts
    assert not re.search(r"\son[a-z]+\s*=", response.text), "no inline event handlers"
    assert " style=" not in response.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_one_h1_and_no_skipped_heading_levels(client: TestClient, path: str) -> None:
    html = get(client, path)

    levels = [int(level) for level in re.findall(r"<h([1-6])\b", html)]
    assert levels.count(1) == 1
    assert levels[0] == 1
    for previous, current in itertools.pairwise(levels):
        assert current <= previous + 1, (path, levels)
    for table in re.findall(r"<table>.*?</table>", html, flags=re.DOTALL):
        assert "<th>" not in table  # every header cell says its scope
        assert 'scope="col"' in table


# ------------------------------------------------------------------------------------ one jurisdiction


def test_france_shows_what_a_valid_epoc_must_contain(client: TestClient, container: Container) -> None:
    html = get(client, "/contact/FR")

    assert "<title>Point of contact for France (FR) · Trustdesk</title>" in html
    assert "<h1>Point of contact for France (FR)</h1>" in html
    epoc = text(html, "EU_EPOC")
    assert "Regulation (EU) 2023/1543" in epoc
    assert "10 days from receipt" in epoc
    assert "8 hours from receipt" in epoc
    assert "platform target" not in epoc  # the law fixes both periods
    assert "The issuing authority informs the person whose data is sought" in epoc
    epoc_fields = container.catalogue.get("EU_EPOC").required_fields
    for field in RequestField:
        name, what = routes.FIELD_LABELS[field]
        if field in epoc_fields:
            assert f"{name}: {what}" in epoc
    assert "In an emergency, also: An emergency justification" in epoc
    # Who may order which data: a prosecutor for subscriber and identification data only.
    for category in ("subscriber", "identification"):
        assert "Public prosecutor" in text(html, f"EU_EPOC-{category}")
    for category in ("traffic", "content"):
        row = text(html, f"EU_EPOC-{category}")
        assert "prosecutor" not in row.lower()
        assert "Investigating judge or court" in row
        assert "at least 3 years" in row
        assert "terrorism" in row
    # The preservation order: 60 days, once extendable by 30; a configurable target to place the hold.
    preservation = text(html, "EU_EPOC_PR")
    assert "Data is held for 60 days; the authority may extend it once by 30 days." in preservation
    assert "24 hours from receipt (platform target)" in preservation
    # Every recognised instrument, and only those.
    france = container.policy.jurisdictions["FR"]
    for instrument in container.catalogue:
        assert (f'id="{instrument.code}"' in html) is france.recognises(instrument.code)


def test_a_jurisdiction_page_states_the_principles_and_the_contact(
    client: TestClient, container: Container
) -> None:
    html = get(client, "/contact/FR")

    principles = text(html, "principles")
    assert "What we disclose" in principles
    for principle in container.policy.principles.statements.values():
        assert f"{principle.id} {principle.statement}" in principles
    contact = text(html, "contact")
    france = container.policy.jurisdictions["FR"]
    assert france.contact is not None
    assert france.contact.name in contact
    assert france.contact.address in contact
    assert "French, English" in contact


def test_united_states_shows_orders_dates_and_the_callback(client: TestClient) -> None:
    html = get(client, "/contact/US")

    subpoena = text(html, "US_SUBPOENA")
    assert "The date set in the order; 14 days from receipt when it sets none" in subpoena
    assert "The signed order" in subpoena
    emergency = text(html, "US_EMERGENCY")
    assert "calls the requester's supervisor back" in emergency
    assert "does not compel" in emergency
    assert "A supervisor's contact" in emergency
    assert "EU_EPOC" not in html


def test_an_exited_jurisdiction_says_the_platform_does_not_operate_there(
    client: TestClient, container: Container
) -> None:
    html = get(client, "/contact/RU")

    russia = container.policy.jurisdictions["RU"]
    body = text(html)
    assert "Point of contact for Russia (RU)" in body
    assert "The platform does not operate in Russia since 15 March 2022." in body
    assert russia.reason is not None
    assert russia.reason[1:] in body
    assert "acknowledged at once with a tracking number and answered with a refusal" in body
    assert "nothing is lost" in body
    assert 'id="requirements"' not in html  # no instruments to explain


def test_lower_case_codes_redirect_to_the_canonical_page(client: TestClient) -> None:
    response = client.get("/contact/fr", follow_redirects=False)

    assert response.status_code == 308
    assert response.headers["location"] == "/contact/FR"


@pytest.mark.parametrize("path", ["/contact/XX", "/contact/ZZZ", "/contact/nowhere"])
def test_an_unknown_jurisdiction_is_a_404_page(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text
    assert "/contact" in response.text


# ------------------------------------------------------------------------------------ instruments


def test_every_catalogue_instrument_appears_with_its_legal_basis(
    client: TestClient, container: Container
) -> None:
    html = get(client, "/contact/instruments")

    assert len(container.catalogue) == len(re.findall(r'<section class="card" id="[A-Z0-9_]+"', html))
    for instrument in container.catalogue:
        section = text(html, instrument.code)
        assert instrument.title in section
        assert instrument.legal_basis in section
        assert f'href="#{instrument.code}"' in html
        for name, _ in (routes.FIELD_LABELS[RequestField(f)] for f in instrument.required_fields):
            assert name in section, (instrument.code, name)


def test_the_instruments_page_links_each_instrument_to_the_jurisdictions_that_recognise_it(
    client: TestClient, container: Container
) -> None:
    html = get(client, "/contact/instruments")

    national = text(html, "NATIONAL_COURT_ORDER")
    assert "Authorities of any country" in national
    assert "India" in national
    assert "Russia" not in national  # exited: nothing is recognised there
    assert "EU Member States except Denmark" in text(html, "EU_EPOC")
    assert "6 months" in text(html, "EU_TCO_REMOVAL")  # calendar months (TCO Art. 6)
    assert "the full period starts again" in text(html, "EU_TCO_REMOVAL")
    assert 'href="/contact/IN"' in html


def test_every_vocabulary_value_has_words_for_people() -> None:
    vocabularies: list[tuple[Any, Any]] = [
        (RequestField, routes.FIELD_LABELS),
        (IssuerKind, routes.ISSUER_LABELS),
        (DataCategory, routes.CATEGORY_LABELS),
        (TargetType, routes.TARGET_LABELS),
        (InstrumentKind, routes.KIND_LABELS),
        (UserNoticeRule, routes.NOTICE_LABELS),
        (PauseRule, routes.PAUSE_LABELS),
        (JurisdictionStatus, routes.STATUS_LABELS),
        (JurisdictionStatus, routes.STATUS_MEANINGS),
    ]
    for enum, labels in vocabularies:
        assert set(labels) == set(enum), enum


def test_durations_read_as_people_say_them() -> None:
    assert routes.duration(timedelta(hours=1)) == "1 hour"
    assert routes.duration(timedelta(hours=24)) == "24 hours"
    assert routes.duration(timedelta(days=2)) == "2 days"
    assert routes.duration(timedelta(days=183)) == "183 days"
    assert routes.duration(timedelta(minutes=90)) == "90 minutes"
    assert routes.join(["a"]) == "a"
    assert routes.join(["a", "b", "c"], "or") == "a, b or c"


# ------------------------------------------------------------------------------------ the signing key


def test_the_published_key_verifies_the_platforms_signatures(
    client: TestClient, container: Container
) -> None:
    home = get(client, "/")
    assert container.signer.key_id in home
    assert 'href="/contact/signing-key.pem"' in home

    response = client.get("/contact/signing-key.pem")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-pem-file")
    key = load_pem_public_key(response.content)
    assert isinstance(key, Ed25519PublicKey)
    message = b"manifest.json of a production"
    key.verify(container.signer.sign(message), message)  # raises InvalidSignature if not the platform's


def test_the_landing_page_points_each_audience_somewhere(client: TestClient) -> None:
    html = get(client, "/")

    for link in ('href="/contact"', 'href="/portal"', 'href="/docs"', 'href="/contact#emergency"'):
        assert link in html
    body = text(html)
    assert "Authorities" in body
    assert "Emergencies" in body
    assert "Users" in body


# ------------------------------------------------------------------------------------ other deployments


@pytest.fixture
def client_with(
    template: TemplateDatabase, sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> Iterator[Callable[..., TestClient]]:
    """A client for a deployment with its own settings (policy folder, overrides, key path)."""
    containers: list[Container] = []
    clients: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        settings.setdefault("signing_key_path", tmp_path / "signing.pem")
        container = build_container(
            Settings(database_url=template.url, reference_platform_url="sqlite://", **settings),
            clock=clock,
            sessions=sessions,
        )
        containers.append(container)
        client = TestClient(
            create_app(container), base_url="https://testserver", raise_server_exceptions=False
        )
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    for container in containers:
        container.engine.dispose()


def test_a_restricted_jurisdiction_is_listed_with_its_notice(
    client_with: Callable[..., TestClient], tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(DEFAULT_DIRECTORY, policies)
    file = policies / "jurisdictions.toml"
    active = '[jurisdictions.GB]\nname = "United Kingdom"\nstatus = "active"\n'
    assert active in file.read_text()
    file.write_text(
        file.read_text().replace(
            active,
            '[jurisdictions.GB]\nname = "United Kingdom"\nstatus = "restricted"\nsince = 2026-01-05\n'
            'reason = "a new law demands scanning of private messages"\n',
        )
    )
    client = client_with(policy_dir=policies)

    listing = get(client, "/contact")
    restricted = text(listing, "restricted")
    assert "United Kingdom (GB)" in restricted
    assert "since 5 January 2026" in restricted
    assert "A new law demands scanning of private messages." in restricted
    assert "senior reviewer" in restricted
    page = text(get(client, "/contact/GB"))
    assert "The platform's operations in United Kingdom are restricted since 5 January 2026." in page
    assert "National court order" in page  # still operating: the requirements stay


def test_a_deadline_override_shows_as_the_platform_target(client_with: Callable[..., TestClient]) -> None:
    client = client_with(deadline_overrides={"EU_DSA_ART9": timedelta(hours=12)})

    html = get(client, "/contact/instruments")

    assert "12 hours from receipt (platform target)" in text(html, "EU_DSA_ART9")


def test_without_a_usable_signing_key_the_pages_still_work(
    client_with: Callable[..., TestClient], tmp_path: Path
) -> None:
    key = tmp_path / "open-key.pem"
    key.write_text("not a key")
    key.chmod(0o644)  # too open: the signer refuses it
    client = client_with(signing_key_path=key)

    assert "signing key is unavailable" in get(client, "/")
    response = client.get("/contact/signing-key.pem")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
