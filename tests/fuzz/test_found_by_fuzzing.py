"""What the fuzz run found, pinned as plain tests on both databases (a fuzz run may not draw it again)."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, officer_key
from trustdesk.clock import FrozenClock


def test_a_huge_offset_is_refused_not_a_server_error(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Databases take 64-bit offsets; a larger one was a 500 (OverflowError) before it was bounded."""
    key = officer_key(sessions, clock)
    response = client.get("/api/v1/requests", params={"offset": 10**20}, headers=bearer(key))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "offset"
    assert client.get("/api/v1/requests", params={"offset": 10**9}, headers=bearer(key)).status_code == 200
