"""Responsiveness dossiers on SQLite and PostgreSQL: every request of an agency or a country in a period,
with its channel, timings and deadline, each line proven against one signed head of the transparency log;
a line removed or altered, a forged checkpoint, a leaf not in the log, an omitted request are each named;
a country dossier carries no salt; the portal shows an agency its own dossier only; the CLI builds and
verifies, the demo's dossier lists every demo request."""

import hashlib
import json
import pathlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.browser_login import give_officer_login, log_in
from tests.factories import bearer, epoc, tco
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container, build_container
from trustdesk.audit.models import AuditEvent
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyDomain
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings
from trustdesk.db import unit_of_work
from trustdesk.dossier import bundle, service
from trustdesk.dossier import cli as dossier_cli
from trustdesk.dossier.document import Period, parse_stamp
from trustdesk.lawful import service as lawful
from trustdesk.lawful.schemas import RequestIn
from trustdesk.signing.ed25519 import Ed25519Signer
from trustdesk.signing.protocol import public_key_pem
from trustdesk.transparency.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from trustdesk.transparency.reports import canonical_json
from trustdesk.transparency.tlog import service as tlog
from trustdesk.transparency.tlog.leaves import hash_of, receipt_json, receipt_leaf
from trustdesk.web.app import create_app

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
OFFICER = "officer@justice.fr"


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def emergency() -> dict[str, Any]:
    return epoc(
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        suspect_confirmed=True,
    )


def ordinary() -> dict[str, Any]:
    return emergency() | {"emergency": False, "emergency_justification": None}


def agency_of(container: Container, domain: str) -> str:
    with unit_of_work(container.sessions) as session:
        return str(session.scalars(select(AgencyDomain.agency_id).where(AgencyDomain.domain == domain)).one())


def submit_by_portal(container: Container, body: dict[str, Any]) -> str:
    """A request recorded through the portal's channel (the same intake, as the portal form calls it)."""
    with unit_of_work(container.sessions) as session:
        officer = authorities.find_officer(session, OFFICER)
        assert officer is not None
        intake = lawful.submit(
            session, container.clock, container.catalogue, officer, RequestIn.model_validate(body),
            idempotency_key=None, policy=container.policy, channel="portal",
        )  # fmt: skip
        return intake.request.tracking_number


def build(container: Container, scope: str, period: Period = NOVEMBER) -> service.Built:
    with unit_of_work(container.sessions) as session:
        chosen = (
            service.scope_of_country(scope) if len(scope) == 2 else service.scope_of_agency(session, scope)
        )
        return service.build(session, container.clock, container.signer, chosen, period, provider="Test")


def write(container: Container, built: service.Built, folder: Path) -> Path:
    html, signature = bundle.rendered(built, container.signer)
    bundle.write_bundle(folder, built, html, signature)
    return folder


def resign(container: Container, folder: Path, document: dict[str, Any]) -> None:
    """The document changed and signed again with the platform's key (as a dishonest operator could)."""
    data = canonical_json(document)
    (folder / bundle.DOCUMENT).write_bytes(data)
    (folder / bundle.SIGNATURE).write_bytes(container.signer.sign(data))
    (folder / bundle.SIGNATURE_JSON).unlink()
    (folder / bundle.HTML).unlink()


def key(container: Container) -> bytes:
    return container.signer.public_key_bytes()


def by_number(built: service.Built) -> dict[str, dict[str, Any]]:
    return {line["tracking_number"]: line for line in built.document["lines"]}


def test_an_agencys_dossier_lists_every_request_with_channel_and_timings_and_verifies(
    world: World, container: Container, tmp_path: Path
) -> None:
    by_api = world.submit(emergency(), document=False)
    world.clock.advance(timedelta(minutes=5))
    by_portal = submit_by_portal(container, ordinary())
    german = world.submit(tco(), key=world.de_key, document=False)
    tlog.tick(container)
    world.clock.advance(timedelta(minutes=5))
    late = world.submit(ordinary() | {"reference": "PJ-LATE"}, document=False)  # not yet sequenced
    fr = agency_of(container, "justice.fr")

    built = build(container, fr)
    document = built.document
    assert document["scope"] == {"kind": "agency", "agency_id": fr, "agency_name": "Test agency justice.fr",
                                 "country": "FR"}  # fmt: skip
    assert document["count"] == 3
    assert [line["tracking_number"] for line in document["lines"]] == [by_api, by_portal, late]
    assert german not in json.dumps(document)
    lines = by_number(built)
    assert [lines[t]["channel"] for t in (by_api, by_portal, late)] == ["api", "portal", "api"]
    for tracking in (by_api, by_portal, late):
        seen = world.officer_view(tracking)
        line = lines[tracking]
        received = parse_stamp(line["received_at"])
        assert received == datetime.fromisoformat(seen["received_at"])
        assert line["acknowledged_at"] == line["received_at"]  # acknowledged by the submission itself
        assert parse_stamp(line["due_at"]) == datetime.fromisoformat(seen["due_at"])
        assert (line["deadline"], line["answered_at"], line["outcome"]) == ("open", None, None)
        assert line["log"]["leaf_hash"] == seen["transparency_log"]["leaf_hash"]
        assert "salt" in line["log"]  # the agency's own dossier
    assert lines[by_api]["emergency"] is True
    assert lines[by_portal]["emergency"] is False
    assert [lines[t]["log"]["status"] for t in (by_api, by_portal, late)] == [
        "included",
        "included",
        "pending",
    ]
    assert document["summary"]["included"] == 2
    assert document["summary"]["pending"] == 1
    assert (
        verify_checkpoint(document["log"]["checkpoint"], key(container)).size == document["log"]["tree_size"]
    )

    folder = write(container, built, tmp_path / "fr")
    assert sorted(p.name for p in folder.iterdir()) == ["dossier.html", "dossier.json", "dossier.sig",
                                                        "signature.json"]  # fmt: skip
    verdict = bundle.verify(folder, key(container))
    assert verdict.problems == []
    assert (verdict.ok, verdict.lines, verdict.proven, verdict.pending) == (True, 3, 2, 1)
    html = (folder / "dossier.html").read_text()
    assert "<script" not in html
    assert all(t in html for t in (by_api, by_portal, late))
    with unit_of_work(container.sessions) as session:
        assert service.check_against_log(session, document) == []


def _answer(world: World, tracking: str) -> None:
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    world.act(world.reviewer, tracking, "answer")


def test_the_deadline_is_judged_met_missed_open_paused_or_withdrawn(
    world: World, container: Container, tmp_path: Path
) -> None:
    in_time = world.submit(emergency())
    late = world.submit(emergency() | {"reference": "PJ-LATE"})
    never = world.submit(emergency() | {"reference": "PJ-NEVER"})
    paused = world.submit(ordinary() | {"reference": "PJ-PAUSED"})
    withdrawn = world.submit(ordinary() | {"reference": "PJ-WITHDRAWN"})
    _answer(world, in_time)
    world.act(world.reviewer, paused, "clarify", {"question": "Which handle?", "kind": "incomplete_order"})
    gone = world.client.post(f"/api/v1/requests/{withdrawn}/withdraw", json={"reason": "Found."},
                             headers=bearer(world.fr_key))  # fmt: skip
    assert gone.status_code == 200, gone.text
    world.clock.advance(timedelta(hours=9))  # past the emergency EPOC's 8 hours
    _answer(world, late)
    refused = world.submit(emergency() | {"reference": "PJ-REFUSED"})
    world.act(world.reviewer, refused, "decide", {"outcome": "refuse", "justification": "Not our service."})
    still = world.submit(ordinary() | {"reference": "PJ-OPEN"})
    tlog.tick(container)

    lines = by_number(build(container, agency_of(container, "justice.fr")))
    states = {t: lines[t]["deadline"] for t in lines}
    assert states == {in_time: "met", late: "missed", never: "missed", paused: "paused",
                      withdrawn: "withdrawn", refused: "met", still: "open"}  # fmt: skip
    assert parse_stamp(lines[late]["answered_at"]) > parse_stamp(lines[late]["due_at"])
    assert parse_stamp(lines[in_time]["answered_at"]) <= parse_stamp(lines[in_time]["due_at"])
    assert lines[never]["answered_at"] is None
    assert (lines[in_time]["outcome"], lines[refused]["outcome"], lines[withdrawn]["outcome"]) == (
        "comply", "refuse", "withdrawn",
    )  # fmt: skip
    # a refusal decided in review is answered by its cannot-comply message
    (message,) = lines[refused]["correspondence"]
    assert (message["kind"], message["direction"]) == ("cannot_comply", "to_authority")
    assert lines[refused]["answered_at"] == message["at"]
    assert set(message) == {"at", "direction", "kind"}  # never a body
    assert [m["kind"] for m in lines[paused]["correspondence"]] == ["clarification_question"]


@pytest.fixture
def signed(world: World, container: Container, tmp_path: Path) -> tuple[Path, service.Built]:
    for reference in ("PJ-1", "PJ-2", "PJ-3"):
        world.submit(ordinary() | {"reference": reference}, document=False)
        world.clock.advance(timedelta(minutes=1))
    tlog.tick(container)
    built = build(container, agency_of(container, "justice.fr"))
    return write(container, built, tmp_path / "dossier"), built


def test_a_removed_line_is_named(signed: tuple[Path, service.Built], container: Container) -> None:
    folder, built = signed
    document = json.loads(built.data)
    removed = document["lines"].pop(1)
    (folder / bundle.DOCUMENT).write_bytes(canonical_json(document))
    verdict = bundle.verify(folder, key(container))
    assert not verdict.ok
    assert any(p.startswith("dossier.json: the signature is not the platform's") for p in verdict.problems)
    assert "the dossier counts 3 lines but holds 2: lines were removed or added" in verdict.problems
    assert "line 2 (of 3) is missing" in verdict.problems
    # re-signed by the platform itself (count and numbers redone), the log still shows the omission
    document["count"], document["lines"][1]["n"] = 2, 2
    resign(container, folder, document)
    assert bundle.verify(folder, key(container)).ok
    with unit_of_work(container.sessions) as session:
        problems = service.check_against_log(session, document)
    assert problems == [
        (
            f"{removed['tracking_number']} (received {removed['received_at']}, channel api) is in the "
            "records but not in the dossier: omitted"
        )
    ]


def test_an_altered_line_fails_the_signature_and_its_proof(
    signed: tuple[Path, service.Built], container: Container
) -> None:
    folder, built = signed
    document = json.loads(built.data)
    line = document["lines"][0]
    line["received_at"] = line["received_at"].replace("T09:", "T10:")  # received an hour later, it says
    document["lines"][2]["log"]["leaf_index"] += 1
    (folder / bundle.DOCUMENT).write_bytes(canonical_json(document))
    problems = bundle.verify(folder, key(container)).problems
    assert any(p.startswith("dossier.json: the signature is not the platform's") for p in problems)
    first, third = (f"line {n} ({document['lines'][n - 1]['tracking_number']}): " for n in (1, 3))
    assert first + ("its leaf does not commit to this line's tracking number, instrument and time of "
                    "receipt with its salt: the line was altered") in problems  # fmt: skip
    assert any(p.startswith(third + "the inclusion proof does not lead") for p in problems), problems
    assert not any(p.startswith("line 2 ") for p in problems)
    # the readable copy is signed too
    html = folder / bundle.HTML
    html.write_text(html.read_text().replace("open", "met"))
    assert any(
        p.startswith("dossier.html: not signed") for p in bundle.verify(folder, key(container)).problems
    )


def test_a_forged_checkpoint_is_named(signed: tuple[Path, service.Built], container: Container) -> None:
    folder, built = signed
    document = json.loads(built.data)
    real = verify_checkpoint(document["log"]["checkpoint"], key(container))
    impostor = Ed25519Signer.from_seed(bytes(32))
    forged = sign_checkpoint(Checkpoint(real.origin, real.size, bytes(32)), impostor)
    document["log"] |= {"checkpoint": forged, "root_hash": bytes(32).hex()}
    resign(container, folder, document)
    problems = bundle.verify(folder, key(container)).problems
    assert problems[0].startswith("the checkpoint: ")
    assert all(p.endswith("no valid checkpoint to prove it against") for p in problems[1:])
    assert len(problems) == 4


def test_a_line_whose_leaf_is_not_in_the_log_is_named(
    signed: tuple[Path, service.Built], container: Container
) -> None:
    folder, built = signed
    document = json.loads(built.data)
    line = document["lines"][1]
    received = parse_stamp(line["received_at"])
    salt = bytes(32)
    receipt = receipt_json(
        received_at=received, tracking_number=line["tracking_number"], instrument="EU_EPOC"
    )
    leaf = receipt_leaf(salt=salt, receipt=receipt, country="FR", received_at=received)
    line["log"] |= {"leaf": leaf, "leaf_hash": hash_of(leaf), "salt": salt.hex()}  # consistent, but invented
    resign(container, folder, document)
    problems = bundle.verify(folder, key(container)).problems
    assert problems == [
        (
            f"line 2 ({line['tracking_number']}): the inclusion proof does not lead to the checkpoint's root "
            f"(tree of {document['log']['tree_size']}): its leaf is not proven to be in the log"
        )
    ]
    with unit_of_work(container.sessions) as session:
        assert service.check_against_log(session, document) == [
            f"line 2 ({line['tracking_number']}): its leaf is not the request's receipt leaf in the log"
        ]


def test_a_country_dossier_carries_no_salt(world: World, container: Container, tmp_path: Path) -> None:
    french = world.submit(ordinary(), document=False)
    german = world.submit(tco(), key=world.de_key, document=False)
    tlog.tick(container)
    built = build(container, "FR")
    assert built.document["salts_included"] is False
    assert [line["tracking_number"] for line in built.document["lines"]] == [french]
    assert german not in built.data.decode()
    assert all("salt" not in line["log"] for line in built.document["lines"])
    assert b'"salt"' not in built.data
    folder = write(container, built, tmp_path / "fr")
    assert bundle.verify(folder, key(container)).ok
    with unit_of_work(container.sessions) as session:
        assert service.check_against_log(session, built.document) == []
    document = json.loads(built.data)
    document["lines"][0]["log"]["salt"] = "00" * 32
    resign(container, folder, document)
    assert bundle.verify(folder, key(container)).problems[0] == (
        f"line 1 ({french}): carries a salt in a dossier that must carry none "
        "(salts go only to their authority)"
    )
    # a country dossier missing a request of its country is caught by the log's leaves of that country
    omitted = json.loads(built.data)
    omitted["lines"], omitted["count"] = [], 0
    with unit_of_work(container.sessions) as session:
        problems = service.check_against_log(session, omitted)
    assert problems[-1].endswith("holds 1 receipts of FR in the period, the dossier proves 0: requests are "
                                 "missing from the dossier")  # fmt: skip


def _download(client: TestClient, page: str, name: str) -> bytes:
    link = next(part for part in page.split('"') if part.startswith(f"/portal/dossier/{name}?"))
    response = client.get(link.replace("&amp;", "&"))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    return response.content


def test_the_portal_shows_an_agency_its_own_dossier_and_the_downloads_verify(
    world: World, container: Container, sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> None:
    french = world.submit(ordinary(), document=False)
    german = world.submit(tco(), key=world.de_key, document=False)
    tlog.tick(container)
    log_in(world.client, "portal", OFFICER, give_officer_login(sessions, clock, OFFICER), clock)
    page = world.client.get("/portal/dossier")
    assert page.status_code == 200, page.text
    assert french in page.text
    assert german not in page.text
    assert 'value="2025-11-02"' in page.text
    assert 'value="2026-11-02"' in page.text
    folder = tmp_path / "downloaded"
    folder.mkdir()
    for name in ("dossier.json", "signature.json", "dossier.html"):
        (folder / name).write_bytes(_download(world.client, page.text, name))
    verdict = bundle.verify(folder, key(container))
    assert verdict.problems == []
    assert (verdict.lines, verdict.proven) == (1, 1)
    document = json.loads((folder / "dossier.json").read_bytes())
    assert document["scope"]["agency_id"] == agency_of(container, "justice.fr")
    assert "salt" in document["lines"][0]["log"]
    with sessions() as session:  # every issue of the agency's own copy (it carries salts) is audited
        issued = session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier:dossier:issue")).all()
    assert len(issued) == 4  # the page and its three downloads
    assert issued[-1].actor_kind == "officer"
    assert issued[-1].data["sha256"] == hashlib.sha256((folder / "dossier.json").read_bytes()).hexdigest()
    # a link kept for too long is refused rather than build a dossier in the past
    for _ in range(3):  # 75 minutes later, the session kept alive (it idles out after 30)
        clock.advance(timedelta(minutes=25))
        assert world.client.get("/portal", follow_redirects=False).status_code == 200
    stale = next(p for p in page.text.split('"') if p.startswith("/portal/dossier/dossier.json?"))
    refused = world.client.get(stale.replace("&amp;", "&"), follow_redirects=False)
    assert refused.status_code == 422
    assert "expired" in refused.text
    bad = world.client.get("/portal/dossier?since=2026-13-01", follow_redirects=False)
    assert bad.status_code == 422, bad.text[-3000:]


@pytest.fixture
def committed(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[World, Container]]:
    settings = Settings(
        environment=Environment.DEVELOPMENT, database_url=database_url, reference_platform_url="sqlite://",
        signing_key_path=tmp_path / "signing.pem",
    )  # fmt: skip
    container = build_container(settings, clock=clock)
    with TestClient(create_app(container), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield build_world(c, container, container.sessions, clock), container
    container.engine.dispose()


def dossier(database_url: str, signing_key: Path, *args: str, expect: int = 0) -> Any:
    app = typer.Typer()
    dossier_cli.mount(app)
    env = {"TRUSTDESK_DATABASE_URL": database_url, "TRUSTDESK_SIGNING_KEY_PATH": str(signing_key)}
    result = CliRunner().invoke(app, ["dossier", *args], env=env)
    assert result.exit_code == expect, (result.exit_code, result.output, result.stderr)
    return result


def test_the_cli_builds_and_verifies(committed: tuple[World, Container], tmp_path: Path) -> None:
    world, container = committed
    tracking = world.submit(ordinary(), document=False)
    tlog.tick(container)
    url, signing = container.settings.database_url, tmp_path / "signing.pem"
    pem = tmp_path / "platform.pem"
    pem.write_bytes(public_key_pem(key(container)))
    out = tmp_path / "cli"
    fr = agency_of(container, "justice.fr")
    built = json.loads(dossier(url, signing, "build", "--agency", fr, "--since", "2026-11-01", "--until",
                               "2026-11-30", "--out", str(out), "--json").stdout)  # fmt: skip
    assert (built["count"], built["tree_size"]) == (1, 2)
    assert tracking in (out / "dossier.json").read_text()
    verified = dossier(url, signing, "verify", str(out), "--public-key", str(pem), "--json")
    assert json.loads(verified.stdout)["ok"] is True
    document = json.loads((out / "dossier.json").read_bytes())
    document["lines"] = []
    (out / "dossier.json").write_bytes(canonical_json(document))
    broken = dossier(url, signing, "verify", str(out), "--public-key", str(pem), expect=1)
    assert "line 1 (of 1) is missing" in broken.stdout
    dossier(url, signing, "verify", str(tmp_path / "nowhere"), expect=2)
    dossier(url, signing, "build", "--since", "2026-11-01", "--out", str(out), expect=2)  # no scope
    dossier(url, signing, "build", "--country", "FR", "--since", "2026-11-31", "--out", str(out), expect=2)
    country = dossier(url, signing, "build", "--country", "fr", "--since", "2026-11-01", "--out",
                      str(tmp_path / "country"), "--json")  # fmt: skip
    assert json.loads(country.stdout)["count"] == 1
    dossier(url, signing, "verify", str(tmp_path / "country" / "dossier.json"), "--public-key", str(pem))


def test_the_demos_dossier_lists_every_demo_request_with_its_channel(
    database_url: str, tmp_path: Path
) -> None:
    from trustdesk.cli import app

    env = {"TRUSTDESK_DATABASE_URL": database_url, "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{tmp_path}/p.db",
           "TRUSTDESK_SIGNING_KEY_PATH": str(tmp_path / "signing.pem")}  # fmt: skip
    loaded = CliRunner().invoke(app, ["demo", "--users", "30", "--json"], env=env)
    assert loaded.exit_code == 0, loaded.output
    samples = set(json.loads(loaded.stdout)["sample_requests"])
    assert len(samples) == 3
    today = datetime.now(UTC).date()
    seen: dict[str, str] = {}
    for country in ("FR", "DE", "US"):
        out = tmp_path / country
        result = dossier(database_url, tmp_path / "signing.pem", "build", "--country", country, "--since",
                         (today - timedelta(days=2)).isoformat(), "--out", str(out))  # fmt: skip
        assert "requests, signed by key" in result.stdout
        dossier(database_url, tmp_path / "signing.pem", "verify", str(out))
        document = json.loads((out / "dossier.json").read_bytes())
        seen |= {line["tracking_number"]: line["channel"] for line in document["lines"]}
        assert all(line["log"]["status"] == "included" for line in document["lines"])
        container = build_container(Settings(database_url=database_url, reference_platform_url="sqlite://",
                                             signing_key_path=tmp_path / "signing.pem"))  # fmt: skip
        try:
            with unit_of_work(container.sessions) as session:
                assert service.check_against_log(session, document) == []
        finally:
            container.engine.dispose()
    assert samples <= set(seen)
    assert {seen[t] for t in samples} == {"demo"}
    # `make run` shows the mailroom (three messages in triage) and writes the FR agency's dossier, which
    # verifies and lists the magistrate's e-mailed order as in triage with the tracking number it was given.
    assert json.loads(loaded.stdout)["mail"] == {"mailroom_messages": 3, "dossier": "var/demo-dossier"}
    dossier(database_url, tmp_path / "signing.pem", "verify", "var/demo-dossier")
    demo = json.loads(pathlib.Path("var/demo-dossier/dossier.json").read_bytes())
    (mailed,) = demo["inbound"]
    assert (mailed["channel"], mailed["status"]) == ("email", "triage")
    assert mailed["tracking_number"].startswith("TD-")
    fr = json.loads((tmp_path / "FR" / "dossier.json").read_bytes())
    assert [m["sha256"] for m in fr["inbound"]] == [mailed["sha256"]]  # the look-alike is nobody's
