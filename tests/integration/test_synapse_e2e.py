"""The Matrix connector against a real Synapse on loopback (installed into .venv-synapse on first use)."""

import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest

from tests.synapse import BLOCKED_MEDIA, MODULE_SECRET, Homeserver, MatrixError, shared_homeserver
from trustdesk.clock import system_clock
from trustdesk.platform.matrix.connector import MatrixConnector, message_locator
from trustdesk.platform.protocol import Period, RemovalAction
from trustdesk.vocabulary import DataCategory, TargetType


@pytest.fixture(scope="module")
def server() -> Homeserver:
    return shared_homeserver()


@pytest.fixture(scope="module")
def people(server: Homeserver) -> dict[str, str]:
    """Two users with phones, really logged in, sharing a room with two messages."""
    carol, dave = server.user_id("e2e_carol"), server.user_id("e2e_dave")
    server.register("e2e_carol")
    server.register("e2e_dave")
    server.set_profile(carol, phone="+4915550000777", email="carol@example.org", displayname="Carol")
    server.set_profile(dave, phone="+4915550000778", displayname="Dave")
    carol_token = server.login("e2e_carol")
    dave_token = server.login("e2e_dave")
    room = server.create_private_room(carol, dave)
    event = server.send(room, carol, {"msgtype": "m.text", "body": "a message that will be removed"})
    return {
        "carol": carol,
        "dave": dave,
        "room": room,
        "event": event,
        "dave_token": dave_token,
        "carol_token": carol_token,
    }


@pytest.fixture
def connector(server: Homeserver) -> MatrixConnector:
    return MatrixConnector(
        server.base_url, server.admin_token, clock=system_clock, module_secret=MODULE_SECRET
    )


def test_lookup_by_phone_returns_the_account(connector: MatrixConnector, people: dict[str, str]) -> None:
    account = connector.lookup_account(TargetType.PHONE, "0049 1555 0000 777")

    assert account is not None
    assert account.platform_id == people["carol"]
    assert account.username == "e2e_carol"
    assert account.phone == "+4915550000777"


def test_export_has_real_session_ips_and_no_text(connector: MatrixConnector, people: dict[str, str]) -> None:
    now = datetime.now(UTC)
    period = Period(now - timedelta(days=1), now + timedelta(days=1))

    export = connector.export(people["carol"], [DataCategory.SUBSCRIBER, DataCategory.IDENTIFICATION], period)

    sessions = [record for record in export.records if record.kind == "session"]
    assert sessions
    assert {record.fields["ip"] for record in sessions} == {"127.0.0.1"}
    assert all(record.fields["port"] is None for record in sessions)
    keys = {key for record in export.records for key in record.fields}
    assert "text" not in keys
    values = {str(value) for record in export.records for value in record.fields.values()}
    assert "a message that will be removed" not in values
    assert "+4915550000777" in values


def test_removal_redacts_the_real_event(
    connector: MatrixConnector, server: Homeserver, people: dict[str, str]
) -> None:
    locator = message_locator(people["room"], people["event"])

    connector.remove_content(locator, RemovalAction.REMOVE)

    seen = server.call(
        "GET",
        f"/_matrix/client/v3/rooms/{urllib.parse.quote(people['room'])}/event/{urllib.parse.quote(people['event'])}",
        token=people["dave_token"],
    )
    assert seen["content"] == {}
    assert "redacted_because" in seen["unsigned"]
    stream = [event for event in connector.content_events(limit=1000) if event.locator == locator]
    assert [event.text for event in stream] == ["a message that will be removed"]  # preserved for Trustdesk
    assert stream[0].state == "removed"


def test_module_refuses_blocked_media(server: Homeserver, people: dict[str, str]) -> None:
    allowed = server.upload(b"harmless holiday photo", token=people["carol_token"])
    assert allowed.startswith("mxc://")

    with pytest.raises(MatrixError) as refused:
        server.upload(BLOCKED_MEDIA, token=people["carol_token"])

    assert refused.value.status == 400  # Synapse answers a spam-checker refusal of media so
    assert "Bad content" in str(refused.value)
