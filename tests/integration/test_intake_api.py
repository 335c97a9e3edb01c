"""The intake API on real SQLite and PostgreSQL: acknowledgement, deadlines, idempotency, access, errors."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import CHECK, PDF, bearer, epoc, officer_key, tco
from trustdesk.audit.models import AuditEvent
from trustdesk.clock import FrozenClock
from trustdesk.lawful.models import LawfulRequest, RequestDocument

URL = "/api/v1/requests"


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(LawfulRequest)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            s.scalar(select(func.count()).select_from(RequestDocument)) or 0,
        )


@pytest.fixture
def key(sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    return officer_key(sessions, clock)


def test_an_emergency_epoc_is_acknowledged_with_its_8_hour_deadline(
    client: TestClient, key: str, clock: FrozenClock, sessions: sessionmaker[Session]
) -> None:
    response = client.post(URL, json=epoc(), headers=bearer(key))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["instrument"] == "EU_EPOC"
    assert body["tracking_number"].startswith("TD-2026-")
    assert datetime.fromisoformat(body["received_at"]) == clock.now
    assert datetime.fromisoformat(body["due_at"]) == clock.now + timedelta(hours=8)
    assert response.headers["Location"] == f"{URL}/{body['tracking_number']}"
    assert body["period"] == {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    with sessions() as s:
        request = s.scalar(
            select(LawfulRequest).where(LawfulRequest.tracking_number == body["tracking_number"])
        )
        assert request is not None
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == request.id)).all()
        # The emergency paged on call (nobody is: the fallback) and alerted on arrival, after the
        # acknowledgement committed.
        assert actions == ["lawful:request:receive", "oncall:page:fallback", "lawful:deadline:alert"]


def test_standard_epoc_has_ten_days_and_tco_one_hour(
    client: TestClient, sessions: sessionmaker[Session], key: str, clock: FrozenClock
) -> None:
    standard = client.post(URL, json=epoc(emergency=False, emergency_justification=None), headers=bearer(key))
    assert datetime.fromisoformat(standard.json()["due_at"]) == clock.now + timedelta(days=10)

    de_key = officer_key(sessions, clock, country="DE", kind="police", domain="bka.bund.de")  # type: ignore[arg-type]
    removal = client.post(URL, json=tco(), headers=bearer(de_key))
    assert removal.status_code == 201, removal.text
    assert datetime.fromisoformat(removal.json()["due_at"]) == clock.now + timedelta(hours=1)


def test_a_retried_submission_with_the_same_idempotency_key_returns_the_same_request(
    client: TestClient, key: str, sessions: sessionmaker[Session]
) -> None:
    headers = {**bearer(key), "Idempotency-Key": "retry-0001"}
    first = client.post(URL, json=epoc(), headers=headers)
    second = client.post(URL, json=epoc(), headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json()["tracking_number"] == first.json()["tracking_number"]
    assert second.headers["Idempotency-Replayed"] == "true"
    assert "Idempotency-Replayed" not in first.headers
    assert counts(sessions)[0] == 1


def test_reusing_an_idempotency_key_for_another_request_is_refused(
    client: TestClient, key: str, sessions: sessionmaker[Session]
) -> None:
    headers = {**bearer(key), "Idempotency-Key": "retry-0002"}
    client.post(URL, json=epoc(), headers=headers)
    before = counts(sessions)

    response = client.post(URL, json=epoc(reference="OTHER-1"), headers=headers)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert counts(sessions) == before


def test_idempotency_keys_belong_to_one_officer(
    client: TestClient, key: str, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    other = officer_key(sessions, clock, domain="justice.gouv.fr")
    one = client.post(URL, json=epoc(), headers={**bearer(key), "Idempotency-Key": "k"})
    two = client.post(URL, json=epoc(), headers={**bearer(other), "Idempotency-Key": "k"})
    assert one.json()["tracking_number"] != two.json()["tracking_number"]


def test_only_the_submitting_agency_sees_a_request(
    client: TestClient, key: str, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = client.post(URL, json=epoc(), headers=bearer(key)).json()["tracking_number"]
    stranger = officer_key(sessions, clock, country="DE", domain="bka.bund.de")

    mine = client.get(f"{URL}/{tracking}", headers=bearer(key))
    theirs = client.get(f"{URL}/{tracking}", headers=bearer(stranger))
    unknown = client.get(f"{URL}/TD-2026-0000-0000", headers=bearer(key))

    assert mine.status_code == 200
    assert mine.json()["due_at"] is not None
    assert theirs.status_code == 404
    assert theirs.json() == unknown.json() | {"detail": theirs.json()["detail"]}
    assert theirs.json()["code"] == "request_not_found"


def test_officers_of_the_same_agency_share_its_requests(
    client: TestClient, key: str, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    from trustdesk.audit.vocabulary import Actor
    from trustdesk.authorities import service as authorities
    from trustdesk.authorities.models import Officer
    from trustdesk.db import unit_of_work

    tracking = client.post(URL, json=epoc(), headers=bearer(key)).json()["tracking_number"]
    with unit_of_work(sessions) as s:
        agency_id = s.scalars(select(Officer.agency_id)).one()
        colleague = authorities.add_officer(
            s, clock, Actor.operator(), agency_id=agency_id, name="C", email="c@paris.justice.fr"
        ).api_key
    # A new officer is a change the agency's verification did not vouch for: until it is verified again,
    # none of its officers can read (re-verification when its officers change).
    assert client.get(f"{URL}/{tracking}", headers=bearer(key)).status_code == 403
    with unit_of_work(sessions) as s:
        authorities.verify_agency(s, clock, Actor.operator(), agency_id, CHECK)

    assert client.get(f"{URL}/{tracking}", headers=bearer(colleague)).status_code == 200
    listed = client.get(URL, headers=bearer(colleague)).json()
    assert [r["tracking_number"] for r in listed] == [tracking]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer tdk_not-a-key"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["none", "unknown", "basic"],
)
def test_requests_without_a_valid_key_are_refused(
    client: TestClient, sessions: sessionmaker[Session], headers: dict[str, str]
) -> None:
    before = counts(sessions)
    response = client.post(URL, json=epoc(), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert counts(sessions) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"targets": []}, "targets"),
        ({"targets": [{"type": "phone", "value": "0612345678"}]}, "targets[0].value"),
        ({"targets": [{"type": "fax", "value": "+33612345678"}]}, "targets[0].type"),
        ({"instrument": "EU_WHATEVER"}, "instrument"),
        ({"emergency_justification": None}, "body"),
        ({"period": {"from": "2026-10-01T00:00:00", "to": "2026-11-01T00:00:00Z"}}, "period.from"),
        ({"period": {"from": "2026-11-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}}, "period"),
        ({"data_categories": ["subscriber", "passwords"]}, "data_categories[1]"),
        ({"offence": {"description": "x", "max_penalty_years": -1}}, "offence.max_penalty_years"),
        ({"issuing_authority": {"name": "X", "kind": "judge", "country": "FR"}}, "issuing_authority.kind"),
        ({"issuing_authority": {"name": "X", "kind": "court", "country": "DE"}}, "issuing_authority.country"),
        ({"respond_by": "2026-12-01T00:00:00Z"}, "respond_by"),
        ({"surprise": 1}, "surprise"),
        ({"reference": "x" * 101}, "reference"),
    ],
)
def test_invalid_input_gets_a_problem_naming_the_field_and_changes_nothing(
    client: TestClient, key: str, sessions: sessionmaker[Session], change: dict[str, object], field: str
) -> None:
    before = counts(sessions)
    response = client.post(URL, json=epoc(**change), headers=bearer(key))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == field, problem
    assert problem["type"].startswith("urn:trustdesk:problem:")
    assert problem["detail"]
    assert "Traceback" not in response.text
    assert counts(sessions) == before


def test_malformed_json_is_a_problem_not_a_crash(client: TestClient, key: str) -> None:
    response = client.post(
        URL, content=b'{"instrument": ', headers={**bearer(key), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_an_instrument_that_does_not_apply_to_the_agency_is_recorded_and_refused_on_receipt(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Issue 9 item 1: a US authority's EPOC gets a tracking number and a refusal, not a 4xx."""
    us_key = officer_key(sessions, clock, country="US", kind="police", domain="fbi.gov")  # type: ignore[arg-type]
    body = epoc(issuing_authority={"name": "FBI", "kind": "police", "country": "US"})
    response = client.post(URL, json=body, headers=bearer(us_key))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "refused"
    assert response.json()["grounds"] == ["instrument_not_applicable"]


def test_a_removal_order_takes_content_urls_only(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    de_key = officer_key(sessions, clock, country="DE", kind="police", domain="bka.bund.de")  # type: ignore[arg-type]
    response = client.post(
        URL, json=tco(targets=[{"type": "username", "value": "someone"}]), headers=bearer(de_key)
    )
    assert response.status_code == 422
    assert response.json()["field"] == "targets[0].type"


def test_a_us_subpoena_honours_the_date_it_sets(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    us_key = officer_key(sessions, clock, country="US", kind="prosecutor", domain="usdoj.gov")  # type: ignore[arg-type]
    body = {
        "instrument": "US_SUBPOENA",
        "reference": "GJ-2026-118",
        "issuing_authority": {"name": "US Attorney, SDNY", "kind": "prosecutor", "country": "US"},
        "legal_basis": "18 U.S.C. 2703(c)(2)",
        "targets": [{"type": "username", "value": "@suspect"}],
        "data_categories": ["subscriber"],
        "respond_by": "2026-11-20T17:00:00-05:00",
    }
    response = client.post(URL, json=body, headers=bearer(us_key))
    assert response.status_code == 201, response.text
    assert response.json()["due_at"] == "2026-11-20T22:00:00Z"


def test_an_unverified_agency_cannot_submit(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, verified=False)
    before = counts(sessions)
    response = client.post(URL, json=epoc(), headers=bearer(key))
    assert response.status_code == 403
    assert response.json()["code"] == "agency_not_verified"
    assert counts(sessions) == before


def test_an_oversized_body_is_refused_before_parsing(
    client: TestClient, key: str, sessions: sessionmaker[Session]
) -> None:
    before = counts(sessions)
    response = client.post(URL, json=epoc(legal_basis="x" * 2_000_000), headers=bearer(key))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert counts(sessions) == before


class TestDocuments:
    def submit(self, client: TestClient, key: str) -> str:
        tracking: str = client.post(URL, json=epoc(), headers=bearer(key)).json()["tracking_number"]
        return tracking

    def test_the_signed_pdf_is_stored_with_its_sha256(self, client: TestClient, key: str) -> None:
        import hashlib

        tracking = self.submit(client, key)
        response = client.post(
            f"{URL}/{tracking}/documents",
            files={"file": ("../../etc/order<1>.pdf", PDF, "application/pdf")},
            headers=bearer(key),
        )
        assert response.status_code == 201, response.text
        document = response.json()
        assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert document["size"] == len(PDF)
        assert document["filename"] == "order_1_.pdf"
        shown = client.get(f"{URL}/{tracking}", headers=bearer(key)).json()
        assert [d["sha256"] for d in shown["documents"]] == [document["sha256"]]

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            (b"GIF89a....", "application/pdf"),
            (PDF, "image/png"),
            (b"%PDF-1.7 truncated", "application/pdf"),
            (
                b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
                "application/pdf",
            ),
        ],
        ids=["not-pdf-bytes", "wrong-type", "truncated", "looks-like-pdf-but-does-not-parse"],
    )
    def test_anything_but_a_complete_pdf_is_refused(
        self, client: TestClient, key: str, sessions: sessionmaker[Session], content: bytes, content_type: str
    ) -> None:
        tracking = self.submit(client, key)
        before = counts(sessions)
        response = client.post(
            f"{URL}/{tracking}/documents",
            files={"file": ("x.pdf", content, content_type)},
            headers=bearer(key),
        )
        assert response.status_code == 422
        assert response.json()["code"] == "unsupported_media_type"
        assert counts(sessions) == before

    def test_an_oversized_document_is_refused(
        self, client: TestClient, key: str, sessions: sessionmaker[Session]
    ) -> None:
        tracking = self.submit(client, key)
        before = counts(sessions)
        huge = PDF[:-6] + b"0" * (21 * 1024 * 1024) + b"\n%%EOF\n"
        response = client.post(
            f"{URL}/{tracking}/documents",
            files={"file": ("big.pdf", huge, "application/pdf")},
            headers=bearer(key),
        )
        assert response.status_code == 413
        assert counts(sessions) == before

    def test_another_agency_cannot_attach_to_a_request(
        self, client: TestClient, key: str, sessions: sessionmaker[Session], clock: FrozenClock
    ) -> None:
        tracking = self.submit(client, key)
        stranger = officer_key(sessions, clock, country="DE", domain="bka.bund.de")
        response = client.post(
            f"{URL}/{tracking}/documents",
            files={"file": ("x.pdf", PDF, "application/pdf")},
            headers=bearer(stranger),
        )
        assert response.status_code == 404


def test_the_api_documents_itself_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    schema = client.get("/openapi.json").json()

    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text
    script = page.text.split('<script src="', 1)[1].split('"', 1)[0]
    assert client.get(script).status_code == 200
    assert "/api/v1/requests" in schema["paths"]
    assert "/api/v1/requests/{tracking_number}/documents" in schema["paths"]
