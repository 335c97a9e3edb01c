"""Signed submissions (RFC 9421 HTTP Message Signatures, Ed25519, RFC 9530 Content-Digest), through the API
as an agency sends them, on SQLite and PostgreSQL.

A submission signed with the agency's registered key is recorded as signed, with the key's id, and does not
score the "unsigned" rule. A request whose signature fails any check is refused with 401 and a code saying
why, and nothing is recorded: a tampered body, another agency's key, a revoked key, a signature made outside
the five-minute window, a replayed nonce, a signature that does not cover the method, the target or the
body. An unsigned request is still accepted, and scored.
"""

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from http_message_signatures import ContentDigest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import CHECK, PDF, bearer, epoc
from tests.lawful_world import World, build_world
from tests.signing import AgencySigner, agency_of, register
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import keys
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import SignatureNonce
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful.models import LawfulRequest, RequestDocument
from trustdesk.web.signatures import purge_nonces

REQUESTS = "/api/v1/requests"


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


@pytest.fixture
def signer(world: World, sessions: sessionmaker[Session]) -> AgencySigner:
    return register(sessions, world.clock, "justice.fr", "fr-justice-2026-01")


def post_signed(
    world: World, signer: AgencySigner, payload: dict[str, Any], *, key: str | None = None, **options: Any
) -> Any:
    body, headers = signer.json(REQUESTS, payload, created=options.pop("created", world.clock()), **options)
    return world.client.post(REQUESTS, content=body, headers=headers | bearer(key or world.fr_key))


def requests_recorded(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(LawfulRequest)) or 0


def stored(sessions: sessionmaker[Session], tracking: str) -> LawfulRequest:
    with sessions() as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        session.expunge(request)
        return request


def refused(response: Any, code: str) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code, problem
    detail: str = problem["detail"]
    return detail


def test_a_signed_submission_is_recorded_as_signed_and_does_not_score_unsigned(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    response = post_signed(world, signer, epoc())
    assert response.status_code == 201, response.text
    request = stored(sessions, response.json()["tracking_number"])
    assert request.signed is True
    assert request.signature_key_id == "fr-justice-2026-01"
    assert "unsigned" not in [r["code"] for r in request.risk_reasons or []]
    assert request.risk_score == 0  # an established judge, signed: nothing fires
    with sessions() as session:
        received = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "lawful:request:receive", AuditEvent.subject_id == request.id
            )
        ).one()
        assert received.data["after"]["signature_key_id"] == "fr-justice-2026-01"
    verification = world.view(request.tracking_number)["review"]["verification"]
    assert verification["signed"] is True


def test_an_unsigned_submission_is_still_accepted_and_scored(
    world: World, sessions: sessionmaker[Session]
) -> None:
    response = world.client.post(REQUESTS, json=epoc(), headers=bearer(world.fr_key))
    assert response.status_code == 201, response.text
    request = stored(sessions, response.json()["tracking_number"])
    assert (request.signed, request.signature_key_id) == (False, None)
    assert [r["code"] for r in request.risk_reasons or []] == ["unsigned"]


def test_a_tampered_body_is_refused_by_its_content_digest(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    body, headers = signer.json(REQUESTS, epoc(), created=world.clock())
    tampered = body.replace(b"+33612345678", b"+33699999999")
    assert tampered != body
    response = world.client.post(REQUESTS, content=tampered, headers=headers | bearer(world.fr_key))
    assert "Content-Digest does not match" in refused(response, "signature_invalid")
    assert response.json()["field"] == "Content-Digest"
    assert requests_recorded(sessions) == 0


def test_a_digest_recomputed_for_a_tampered_body_breaks_the_signature(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    """Whoever changes the body and its digest too cannot sign the new digest."""
    body, headers = signer.json(REQUESTS, epoc(), created=world.clock())
    tampered = body.replace(b"+33612345678", b"+33699999999")
    headers["Content-Digest"] = ContentDigest.create(tampered)
    response = world.client.post(REQUESTS, content=tampered, headers=headers | bearer(world.fr_key))
    refused(response, "signature_invalid")
    assert requests_recorded(sessions) == 0


def test_a_signature_with_another_agencys_key_is_refused(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    german = register(sessions, world.clock, "bka.bund.de", "bka-2026")
    response = post_signed(world, german, epoc())  # the French officer's API key, the German agency's key
    detail = refused(response, "signature_key_unknown")
    assert "bka-2026" in detail
    assert "not a registered signing key of your agency" in detail
    unknown = post_signed(world, AgencySigner("no-such-key"), epoc())
    refused(unknown, "signature_key_unknown")
    assert requests_recorded(sessions) == 0


def test_a_key_that_is_not_the_registered_one_under_its_id_is_refused(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    impostor = AgencySigner(signer.key_id)  # the right key id, another private key
    refused(post_signed(world, impostor, epoc()), "signature_invalid")
    assert requests_recorded(sessions) == 0


def test_a_revoked_key_is_refused(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions) as session:
        keys.revoke_key(session, world.clock, Actor.operator(), signer.key_id, "the key was lost")
        agency = agency_of(sessions, "justice.fr")
        authorities.verify_agency(session, world.clock, Actor.operator(), agency, CHECK)
    refused(post_signed(world, signer, epoc()), "signature_key_revoked")
    assert requests_recorded(sessions) == 0


@pytest.mark.parametrize("seconds", [-301, 301])
def test_a_signature_created_outside_the_window_is_refused(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session], seconds: int
) -> None:
    created = world.clock() + timedelta(seconds=seconds)
    detail = refused(post_signed(world, signer, epoc(), created=created), "signature_expired")
    assert "300 seconds" in detail
    assert requests_recorded(sessions) == 0


def test_a_signature_created_just_inside_the_window_is_accepted(world: World, signer: AgencySigner) -> None:
    for seconds in (-300, 300):
        created = world.clock() + timedelta(seconds=seconds)
        assert post_signed(world, signer, epoc(), created=created).status_code == 201


def test_a_replayed_nonce_is_refused_and_remembered_only_as_long_as_needed(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session], container: Container
) -> None:
    body, headers = signer.json(REQUESTS, epoc(), created=world.clock(), nonce="nonce-0001-abcd")
    first = world.client.post(REQUESTS, content=body, headers=headers | bearer(world.fr_key))
    assert first.status_code == 201
    replay = world.client.post(REQUESTS, content=body, headers=headers | bearer(world.fr_key))
    refused(replay, "signature_replayed")
    assert requests_recorded(sessions) == 1
    world.clock.advance(keys.NONCE_RETENTION - timedelta(seconds=1))
    assert purge_nonces(container) == 0
    world.clock.advance(timedelta(seconds=2))
    assert purge_nonces(container) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SignatureNonce)) == 0


@pytest.mark.parametrize(
    ("covered", "missing"),
    [
        (("@target-uri", "content-type"), '"@method"'),
        (("@method", "@authority"), '"@target-uri" (or "@authority" and "@path")'),
        (("@method", "@path"), '"@target-uri" (or "@authority" and "@path")'),
    ],
)
def test_a_signature_missing_covered_components_is_refused(
    world: World,
    signer: AgencySigner,
    sessions: sessionmaker[Session],
    covered: tuple[str, ...],
    missing: str,
) -> None:
    detail = refused(post_signed(world, signer, epoc(), covered=covered), "signature_invalid")
    assert missing in detail
    assert requests_recorded(sessions) == 0


def test_a_body_not_covered_by_the_signature_is_refused(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    """Signed without a digest (body=None to the signer): the body could be anything."""
    body = json.dumps(epoc()).encode()
    headers = signer.headers(
        "POST", REQUESTS, None, created=world.clock(), headers={"Content-Type": "application/json"}
    )
    response = world.client.post(REQUESTS, content=body, headers=headers | bearer(world.fr_key))
    assert '"content-digest" (the request has a body)' in refused(response, "signature_invalid")
    assert requests_recorded(sessions) == 0


def test_the_authority_and_path_may_stand_for_the_target_uri(world: World, signer: AgencySigner) -> None:
    response = post_signed(world, signer, epoc(), covered=("@method", "@authority", "@path"))
    assert response.status_code == 201, response.text


def test_half_a_signature_or_no_nonce_is_refused(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    body, headers = signer.json(REQUESTS, epoc(), created=world.clock())
    del headers["Signature"]
    refused(
        world.client.post(REQUESTS, content=body, headers=headers | bearer(world.fr_key)), "signature_invalid"
    )
    body, headers = signer.json(REQUESTS, epoc(), created=world.clock(), nonce="short")
    assert "nonce" in refused(
        world.client.post(REQUESTS, content=body, headers=headers | bearer(world.fr_key)), "signature_invalid"
    )
    assert requests_recorded(sessions) == 0


def test_a_signed_document_upload_is_checked_against_the_bytes_received(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    tracking = post_signed(world, signer, epoc()).json()["tracking_number"]
    path = f"{REQUESTS}/{tracking}/documents"
    boundary = "trustdesk-boundary-1"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="order.pdf"\r\n'
            f"Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    content_type = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    headers = signer.headers("POST", path, form, created=world.clock(), headers=content_type)
    tampered = form.replace(b"order.pdf", b"other.pdf")
    refused(
        world.client.post(path, content=tampered, headers=headers | bearer(world.fr_key)), "signature_invalid"
    )
    uploaded = world.client.post(path, content=form, headers=headers | bearer(world.fr_key))
    assert uploaded.status_code == 201, uploaded.text
    with sessions() as session:
        assert session.scalars(select(RequestDocument.filename)).all() == ["order.pdf"]


def test_a_signed_read_is_checked_too(world: World, signer: AgencySigner) -> None:
    good = signer.headers("GET", REQUESTS, None, created=world.clock(), covered=("@method", "@target-uri"))
    assert world.client.get(REQUESTS, headers=good | bearer(world.fr_key)).status_code == 200
    late = signer.headers(
        "GET", REQUESTS, None, created=world.clock() - timedelta(hours=1), covered=("@method", "@target-uri")
    )
    refused(world.client.get(REQUESTS, headers=late | bearer(world.fr_key)), "signature_expired")
    wrong_target = signer.headers(
        "GET", f"{REQUESTS}?limit=1", None, created=world.clock(), covered=("@method", "@target-uri")
    )
    refused(world.client.get(REQUESTS, headers=wrong_target | bearer(world.fr_key)), "signature_invalid")


def test_a_signed_read_of_the_holds_is_checked_too(world: World, signer: AgencySigner) -> None:
    tracking = world.submit(epoc())
    path = f"{REQUESTS}/{tracking}/holds"
    good = signer.headers("GET", path, None, created=world.clock(), covered=("@method", "@target-uri"))
    assert world.client.get(path, headers=good | bearer(world.fr_key)).status_code == 200
    refused(world.client.get(path, headers=good | bearer(world.fr_key)), "signature_replayed")


# --- registering keys and supervisors: each change lapses the verification and is audited -----------------


def agency_events(sessions: sessionmaker[Session], agency_id: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject_type == "agency", AuditEvent.subject_id == agency_id)
                .order_by(AuditEvent.seq)
            )
        )


def verified(sessions: sessionmaker[Session], agency_id: str) -> bool:
    with sessions() as session:
        return authorities.get_agency(session, agency_id).verified


def test_each_key_and_supervisor_change_lapses_the_verification_and_is_audited(
    world: World, sessions: sessionmaker[Session]
) -> None:
    agency = agency_of(sessions, "justice.fr")
    pem = AgencySigner("unused").public_pem()
    changes = [
        lambda s: keys.register_key(s, world.clock, Actor.operator(), agency, "fr-1", pem),
        lambda s: keys.revoke_key(s, world.clock, Actor.operator(), "fr-1", "rotated"),
        lambda s: keys.add_supervisor(
            s,
            world.clock,
            Actor.operator(),
            agency,
            name="Cdt Marie Roux",
            title="Greffe, head",
            phone="+33 1 44 32 50 50",
            directory="annuaire.justice.gouv.fr",
        ),
        lambda s: keys.remove_supervisor(
            s, world.clock, Actor.operator(), keys.list_supervisors(s, agency)[0].id
        ),
    ]
    for change in changes:
        assert verified(sessions, agency)
        with unit_of_work(sessions) as session:
            change(session)
        assert not verified(sessions, agency)
        with unit_of_work(sessions) as session:
            authorities.verify_agency(session, world.clock, Actor.operator(), agency, CHECK)
    actions = agency_events(sessions, agency)
    for action in ("register", "revoke"):
        assert f"authorities:signing_key:{action}" in actions
    for action in ("add", "remove"):
        assert f"authorities:supervisor:{action}" in actions
    with sessions() as session:
        last = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "authorities:agency:verify")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert last is not None
        assert last.data["after"]["registered"]["signing_keys"] == []  # fr-1 revoked: not vouched for
    assert keys.list_keys(sessions(), agency)[0].revoked_at is not None


def test_duplicate_keys_and_bad_supervisors_are_refused_and_change_nothing(
    world: World, signer: AgencySigner, sessions: sessionmaker[Session]
) -> None:
    from trustdesk.errors import Conflict, InvalidInput, NotFound

    agency = agency_of(sessions, "justice.fr")
    op, other = Actor.operator(), AgencySigner("x").public_pem()
    sup = {"name": "A", "title": "B", "phone": "+33 1 44 32 50 50", "directory": "annuaire"}
    attempts: list[tuple[Any, type[Exception], str]] = [
        (lambda s: keys.register_key(s, world.clock, op, agency, signer.key_id, other), Conflict,
         "never reused"),
        (lambda s: keys.register_key(s, world.clock, op, agency, "fr-2", signer.public_pem()), Conflict,
         f"already registered, as {signer.key_id}"),
        (lambda s: keys.revoke_key(s, world.clock, op, "no-such", "lost"), NotFound, "no signing"),
        (lambda s: keys.revoke_key(s, world.clock, op, signer.key_id, " "), InvalidInput, "say why"),
        (lambda s: keys.add_supervisor(s, world.clock, op, agency, **sup | {"phone": "call me"}),
         InvalidInput, "not a telephone number"),
        (lambda s: keys.add_supervisor(s, world.clock, op, agency, **sup | {"directory": " "}), InvalidInput,
         "the official directory"),
    ]  # fmt: skip
    before = agency_events(sessions, agency)
    for attempt, error, says in attempts:
        with pytest.raises(error, match=says), unit_of_work(sessions) as session:
            attempt(session)
    assert agency_events(sessions, agency) == before
    assert verified(sessions, agency)


# --- the console and the CLI ---------------------------------------------------------------------------


def test_staff_register_and_revoke_keys_and_supervisors_on_the_console_and_call_them_back(
    world: World, sessions: sessionmaker[Session]
) -> None:
    from tests.browser_login import add_staff_login, log_in

    secret = add_staff_login(sessions, world.clock, "admin@platform.example", "admin", "legal_reviewer")
    csrf = log_in(world.client, "console", "admin@platform.example", secret, world.clock)
    agency = agency_of(sessions, "justice.fr")

    def post(path: str, **data: str) -> Any:
        return world.client.post(path, data=data | {"csrf_token": csrf}, follow_redirects=False)

    signer = AgencySigner("fr-console-1")
    added = post(f"/console/agencies/{agency}/keys", key_id=signer.key_id, public_key=signer.public_pem())
    assert added.headers["location"] == "/console/agencies?done=key_added"
    assert not verified(sessions, agency)
    page = world.client.get("/console/agencies?done=key_added").text
    assert "fr-console-1" in page
    assert "verification lapsed" in page
    bad = post(f"/console/agencies/{agency}/keys", key_id="fr-console-2", public_key="not a key")
    assert bad.status_code == 422
    assert "not base64url" in bad.text
    sup = post(
        f"/console/agencies/{agency}/supervisors", name="Cdt Marie Roux", title="Head of the registry",
        phone="+33 1 44 32 50 51", directory="annuaire.justice.gouv.fr",
    )  # fmt: skip
    assert sup.headers["location"] == "/console/agencies?done=supervisor_added"
    with unit_of_work(sessions) as session:
        authorities.verify_agency(session, world.clock, Actor.operator(), agency, CHECK)
    without_csrf = world.client.post(
        f"/console/agencies/{agency}/keys/revoke", data={"key_id": signer.key_id, "reason": "x"}
    )
    assert without_csrf.status_code == 403
    revoked = post(f"/console/agencies/{agency}/keys/revoke", key_id=signer.key_id, reason="Rotated.")
    assert revoked.headers["location"] == "/console/agencies?done=key_revoked"
    with sessions() as session:
        assert keys.list_keys(session, agency)[0].revoked_at is not None
    with unit_of_work(sessions) as session:
        authorities.verify_agency(session, world.clock, Actor.operator(), agency, CHECK)

    # The callback page offers the supervisor's directory number; choosing it records that number.
    tracking = world.submit(epoc())
    callback = world.client.get(f"/console/requests/{tracking}/callback")
    assert callback.status_code == 200
    assert "+33 1 44 32 50 51" in callback.text
    assert "annuaire.justice.gouv.fr" in callback.text
    (supervisor,) = keys.list_supervisors(sessions(), agency)
    recorded = post(
        f"/console/requests/{tracking}/callback", supervisor_id=supervisor.id, outcome="confirmed",
        note="Confirmed the request.",
    )  # fmt: skip
    assert recorded.status_code == 303, recorded.text
    calls = world.view(tracking)["review"]["verification"]["callbacks"]
    assert [(c["number"], c["directory"], c["person_reached"]) for c in calls] == [
        ("+33 1 44 32 50 51", "annuaire.justice.gouv.fr", "Cdt Marie Roux, Head of the registry")
    ]
    removed = post(f"/console/agencies/{agency}/supervisors/remove", supervisor_id=supervisor.id)
    assert removed.headers["location"] == "/console/agencies?done=supervisor_removed"
    assert keys.list_supervisors(sessions(), agency) == []


def test_the_cli_adds_lists_and_revokes_keys_and_supervisors(run: Any, tmp_path: Any) -> None:
    from tests.integration.test_cli import add_agency

    agency = add_agency(run, "justice.fr")
    pem = tmp_path / "agency.pem"
    signer = AgencySigner("fr-cli-1")
    pem.write_text(signer.public_pem())
    run("authority", "key", "add", agency, "--key-id", "fr-cli-1", "--public-key", str(pem))
    run("authority", "key", "add", agency, "--key-id", "fr-cli-2", "--public-key", "short", expect=2)
    (listed,) = json.loads(run("authority", "key", "list", agency, "--json").stdout)
    assert (listed["key_id"], listed["revoked_at"]) == ("fr-cli-1", None)
    assert keys.parse_public_key(signer.public_pem()) == listed["public_key"]
    run("authority", "key", "revoke", "fr-cli-1", "--reason", "Rotated.")
    assert json.loads(run("authority", "key", "list", agency, "--json").stdout)[0]["revoked_at"] is not None
    added = run(
        "authority", "supervisor", "add", agency, "--name", "Cdt Marie Roux",
        "--title", "Head of the registry", "--phone", "+33 1 44 32 50 51",
        "--directory", "annuaire.justice.gouv.fr", "--json",
    )  # fmt: skip
    supervisor = json.loads(added.stdout)["id"]
    assert "Cdt Marie Roux" in run("authority", "supervisor", "list").stdout
    run("authority", "supervisor", "remove", supervisor)
    assert run("authority", "supervisor", "list").stdout.strip() == "no supervisors"
