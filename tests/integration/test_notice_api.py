"""The notice and appeal API (DSA Arts 16, 20, 22): every route's success and every refusal."""

from datetime import timedelta
from typing import Any, cast

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration import test_due_process
from tests.integration.test_due_process import NO_ACTION, REMOVE, Desk, claim, decide
from trustdesk.audit.vocabulary import Actor
from trustdesk.db import unit_of_work
from trustdesk.safety import appeals, flaggers
from trustdesk.safety.models import Appeal, Case, Notice
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword

desk = test_due_process.desk  # the fixture: an author, a reader, a posted message, two moderators

BODY: dict[str, Any] = {
    "reason": "It calls for an attack on a railway station.",
    "category": DsaCategory.RISK_FOR_PUBLIC_SECURITY.value,
    "keyword": DsaKeyword.TERRORIST_CONTENT.value,
    "notifier_name": "Jo Doe",
    "notifier_email": "jo@example.org",
    "good_faith": True,
}


def body(desk: Desk, **overrides: Any) -> dict[str, Any]:
    return {"location": desk.locator, **BODY} | overrides


def count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def notify(client: TestClient, desk: Desk, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/notices", json=body(desk, **overrides))
    assert response.status_code == 201, response.text
    return cast(dict[str, Any], response.json())


def test_a_notice_is_acknowledged_with_its_reference_key_target_and_links(
    client: TestClient, desk: Desk
) -> None:
    receipt = notify(client, desk)
    assert receipt["reference"].startswith("NT-2026-")
    assert receipt["key"].startswith("tdn_")
    assert receipt["trusted_flagger"] is False
    assert receipt["target_at"] is not None
    assert receipt["status_url"] == f"/notice/{receipt['reference']}?key={receipt['key']}"
    assert receipt["appeal_url"] == f"/appeal?key={receipt['key']}"
    assert count(desk.sessions, Notice) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"location": None}, "location", "invalid_input"),
        ({"location": " "}, "location", "invalid_input"),
        ({"good_faith": False}, "good_faith", "invalid_input"),
        ({"notifier_name": None}, "notifier_name", "invalid_input"),
        ({"notifier_email": "not-an-address"}, "notifier_email", "invalid_input"),
        ({"location": "ref://chat/999/message/999"}, "location", "content_not_found"),
        ({"category": "STATEMENT_CATEGORY_NONSENSE"}, "category", "invalid_input"),
        ({"extra": 1}, "extra", "invalid_input"),
    ],
)
def test_a_bad_notice_is_refused_with_a_problem_and_changes_nothing(
    client: TestClient, desk: Desk, overrides: dict[str, Any], field: str, code: str
) -> None:
    sent = {k: v for k, v in body(desk, **overrides).items() if v is not None or k != "location"}
    response = client.post("/api/v1/notices", json=sent)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert count(desk.sessions, Notice) == 0
    assert count(desk.sessions, Case) == 0


def test_a_child_sexual_abuse_notice_may_be_anonymous(client: TestClient, desk: Desk) -> None:
    receipt = notify(
        client, desk, notifier_name=None, notifier_email=None,
        category=DsaCategory.PROTECTION_OF_MINORS.value, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL.value,
    )  # fmt: skip
    assert receipt["reference"]


def test_a_notifier_is_throttled_with_429_and_retry_after(client: TestClient, desk: Desk) -> None:
    anonymous = {
        "notifier_name": None,
        "notifier_email": None,
        "category": DsaCategory.PROTECTION_OF_MINORS.value,
        "keyword": DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL.value,
    }
    for _ in range(20):  # the default hourly allowance, counted per client address
        notify(client, desk, **anonymous)
    response = client.post("/api/v1/notices", json=body(desk, **anonymous))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3600"
    assert response.json()["code"] == "too_many_notices"
    desk.clock.advance(timedelta(minutes=20))
    later = client.post("/api/v1/notices", json=body(desk, **anonymous))
    assert later.status_code == 429
    assert later.headers["retry-after"] == "2400"  # when the oldest notice of the hour leaves the count
    assert count(desk.sessions, Notice) == 20


def register_flagger(desk: Desk) -> str:
    with unit_of_work(desk.sessions) as session:
        _, key = flaggers.register(
            session, desk.clock, Actor.operator(), name="Hate Aid", country="DE",
            contact_email="notices@hateaid.example", expertise=[DsaCategory.RISK_FOR_PUBLIC_SECURITY],
        )  # fmt: skip
    return key


def test_a_trusted_flagger_notifies_with_its_key_and_no_name(client: TestClient, desk: Desk) -> None:
    key = register_flagger(desk)
    response = client.post(
        "/api/v1/notices",
        json=body(desk, notifier_name=None, notifier_email=None),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["trusted_flagger"] is True
    with desk.sessions() as session:
        (notice,) = session.scalars(select(Notice))
        assert notice.trusted_flagger_id is not None


@pytest.mark.parametrize("authorization", ["Bearer tdf_not-a-key", "Basic dXNlcjpwYXNz"])
def test_a_bad_flagger_key_is_401_never_anonymous(client: TestClient, desk: Desk, authorization: str) -> None:
    register_flagger(desk)
    response = client.post("/api/v1/notices", json=body(desk), headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert count(desk.sessions, Notice) == 0


def test_a_notices_status_with_its_key_and_404_otherwise(client: TestClient, desk: Desk) -> None:
    receipt = notify(client, desk)
    ref, key = receipt["reference"], receipt["key"]
    by_header = client.get(f"/api/v1/notices/{ref}", headers={"X-Notice-Key": key})
    assert by_header.status_code == 200
    status = by_header.json()
    assert status["status"] == "received"
    assert status["outcome"] is None
    assert status["appeal_url"] is None
    assert "jo@example.org" not in by_header.text
    assert "Jo Doe" not in by_header.text
    assert client.get(f"/api/v1/notices/{ref}", params={"key": key}).json() == status
    other = notify(client, desk, notifier_email="kim@example.org")
    wrong = [
        client.get(f"/api/v1/notices/{ref}", params={"key": key + "x"}),
        client.get(f"/api/v1/notices/{ref}", params={"key": other["key"]}),
        client.get("/api/v1/notices/NT-2026-AAAA-BBBB", params={"key": key}),
        client.get(f"/api/v1/notices/{ref}"),
    ]
    assert {r.status_code for r in wrong} == {404}
    assert len({r.text for r in wrong}) == 1  # indistinguishable


def decided(client: TestClient, desk: Desk, decision: Any = NO_ACTION) -> dict[str, Any]:
    receipt = notify(client, desk)
    with desk.sessions() as session:
        case_id = session.scalars(select(Notice.case_id)).one()
    claim(desk, desk.mia, case_id)
    decide(desk, desk.mia, case_id, decision)
    return receipt


def test_a_notifier_appeals_a_refusal_and_reads_the_answer(client: TestClient, desk: Desk) -> None:
    receipt = decided(client, desk)
    status = client.get(f"/api/v1/notices/{receipt['reference']}", params={"key": receipt["key"]}).json()
    assert (status["status"], status["outcome"]) == ("decided", "not_actioned")
    assert status["appeal_url"] == receipt["appeal_url"]
    filed = client.post("/api/v1/appeals", json={"key": receipt["key"], "body": "It is a call to violence."})
    assert filed.status_code == 201, filed.text
    ref = filed.json()["reference"]
    assert ref.startswith("AP-2026-")
    open_ = client.get(f"/api/v1/appeals/{ref}", params={"key": receipt["key"]})
    assert open_.status_code == 200
    assert (open_.json()["status"], open_.json()["answer"]) == ("open", None)
    with unit_of_work(desk.sessions) as session:
        appeal = session.scalars(select(Appeal)).one()
        appeals.decide_appeal(
            session, desk.clock, desk.user(session, desk.ola), appeal.id, grant=True, answer="It incites."
        )
    answered = client.get(f"/api/v1/appeals/{ref}", headers={"X-Notice-Key": receipt["key"]}).json()
    assert answered["status"] == "granted"
    assert "It incites." in answered["answer"]
    assert "out-of-court" in answered["answer"]
    assert client.get(f"/api/v1/appeals/{ref}", params={"key": "tdn_wrong"}).status_code == 404
    assert client.get("/api/v1/appeals/AP-2026-AAAA-BBBB", params={"key": receipt["key"]}).status_code == 404


def test_an_undecided_notice_cannot_be_appealed(client: TestClient, desk: Desk) -> None:
    receipt = notify(client, desk)
    response = client.post("/api/v1/appeals", json={"key": receipt["key"], "body": "Please act."})
    assert response.status_code == 409
    assert response.json()["code"] == "not_decided"


def test_an_actioned_notice_cannot_be_appealed_409(client: TestClient, desk: Desk) -> None:
    receipt = decided(client, desk, REMOVE)
    response = client.post("/api/v1/appeals", json={"key": receipt["key"], "body": "Why?"})
    assert response.status_code == 409
    assert response.json()["code"] == "notice_actioned"
    assert count(desk.sessions, Appeal) == 0


def test_an_appeal_after_six_months_is_409_window_closed(client: TestClient, desk: Desk) -> None:
    receipt = decided(client, desk)
    desk.clock.now = desk.clock.now + relativedelta(months=6) + timedelta(seconds=1)
    response = client.post("/api/v1/appeals", json={"key": receipt["key"], "body": "Too late?"})
    assert response.status_code == 409
    assert response.json()["code"] == "appeal_window_closed"
    assert count(desk.sessions, Appeal) == 0


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"key": "tdn_wrong", "body": "Please."}, 404, "bad_appeal_key"),
        ({"body": "Please."}, 422, "invalid_input"),
        ({"key": None, "body": " "}, 422, "invalid_input"),
    ],
)
def test_a_bad_appeal_is_refused(
    client: TestClient, desk: Desk, payload: dict[str, Any], status: int, code: str
) -> None:
    receipt = decided(client, desk)
    if payload.get("key", "") is None:
        payload = payload | {"key": receipt["key"]}
    response = client.post("/api/v1/appeals", json=payload)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert count(desk.sessions, Appeal) == 0
