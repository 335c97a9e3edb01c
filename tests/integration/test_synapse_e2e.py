"""The Matrix connector against a real Synapse on loopback (installed into .venv-synapse on first use)."""

import hashlib
import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.contract.conftest import MEDIA
from tests.synapse import BLOCKED_MEDIA, MODULE_SECRET, Homeserver, MatrixError, shared_homeserver
from trustdesk.clock import system_clock
from trustdesk.platform.matrix.connector import MatrixConnector, message_locator, parse_locator
from trustdesk.platform.matrix.restore import RESTORED_FIELD, RESTORED_MARKER
from trustdesk.platform.protocol import (
    AccountAction,
    AccountStatus,
    ContentNotFound,
    ContentState,
    Period,
    PlatformError,
    RemovalAction,
    RestoreMethod,
)
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


def _send_as(server: Homeserver, token: str, room: str, body: str) -> str:
    path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/{secrets.token_hex(8)}"
    return str(server.call("PUT", path, {"msgtype": "m.text", "body": body}, token=token)["event_id"])


def test_restore_republishes_the_preserved_message_marked_as_restored(
    server: Homeserver, people: dict[str, str], tmp_path: Path
) -> None:
    event_id = _send_as(server, people["carol_token"], people["room"], "removed, then restored on appeal")
    locator = message_locator(people["room"], event_id)
    remover = MatrixConnector(
        server.base_url,
        server.admin_token,
        clock=system_clock,
        module_secret=MODULE_SECRET,
        state_dir=tmp_path,
    )
    remover.remove_content(locator, RemovalAction.REMOVE)
    # another process restores it: the preserved content is in the state file
    restorer = MatrixConnector(
        server.base_url,
        server.admin_token,
        clock=system_clock,
        module_secret=MODULE_SECRET,
        state_dir=tmp_path,
    )

    result = restorer.remove_content(locator, RemovalAction.RESTORE)

    assert result.restored_by is RestoreMethod.REPUBLISHED
    assert result.visible_at is not None
    parsed = parse_locator(result.visible_at)
    assert parsed is not None
    assert parsed[0] == people["room"]
    assert parsed[1] is not None
    seen = server.call(
        "GET",
        f"/_matrix/client/v3/rooms/{urllib.parse.quote(people['room'])}/event/{urllib.parse.quote(parsed[1])}",
        token=people["dave_token"],
    )
    assert seen["sender"] == people["carol"]  # on the author's behalf
    assert seen["content"]["body"] == f"removed, then restored on appeal\n\n{RESTORED_MARKER}"
    assert seen["content"][RESTORED_FIELD] == {"event_id": event_id, "room_id": people["room"]}
    original = server.call(
        "GET",
        f"/_matrix/client/v3/rooms/{urllib.parse.quote(people['room'])}/event/{urllib.parse.quote(event_id)}",
        token=people["dave_token"],
    )
    assert original["content"] == {}  # the redaction stays
    assert restorer.remove_content(locator, RemovalAction.RESTORE).visible_at == result.visible_at


def _send_image_as(server: Homeserver, token: str, room: str, data: bytes) -> tuple[str, str]:
    """``(event id, mxc url)`` of an image message."""
    mxc = server.upload(data, token=token, content_type="image/png")
    path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/{secrets.token_hex(8)}"
    content = {"msgtype": "m.image", "body": "picture.png", "url": mxc}
    return str(server.call("PUT", path, content, token=token)["event_id"]), mxc


def test_fetch_content_reads_a_removed_image_past_its_quarantine(
    connector: MatrixConnector, server: Homeserver, people: dict[str, str]
) -> None:
    data = MEDIA + b"fetched after removal"  # bytes of their own: the upload is not deduplicated
    event_id, mxc = _send_image_as(server, people["carol_token"], people["room"], data)
    locator = message_locator(people["room"], event_id)
    connector.remove_content(locator, RemovalAction.REMOVE)  # redacts and quarantines the media
    with pytest.raises(MatrixError):  # nobody else can download it any more
        server.call(
            "GET",
            "/_matrix/client/v1/media/download/" + mxc.removeprefix("mxc://"),
            token=people["dave_token"],
        )

    fetched = connector.fetch_content(locator)

    assert fetched.state is ContentState.REMOVED
    assert fetched.media_data == data
    assert fetched.media_sha256 == hashlib.sha256(data).hexdigest()
    assert fetched.media_kind == "image"
    assert fetched.cursor  # from the module's log: its place in the stream


def test_fetch_content_without_the_module_uses_the_preserved_content(
    server: Homeserver, people: dict[str, str]
) -> None:
    bare = MatrixConnector(server.base_url, server.admin_token, clock=system_clock)  # no module secret
    text_id = _send_as(server, people["carol_token"], people["room"], "removed, then fetched for review")
    data = MEDIA + b"fetched without the module"
    image_id, _ = _send_image_as(server, people["carol_token"], people["room"], data)
    text, image = message_locator(people["room"], text_id), message_locator(people["room"], image_id)
    assert bare.fetch_content(text).text == "removed, then fetched for review"
    bare.remove_content(text, RemovalAction.REMOVE)
    bare.remove_content(image, RemovalAction.REMOVE)

    removed_text, removed_image = bare.fetch_content(text), bare.fetch_content(image)

    assert (removed_text.state, removed_text.kind, removed_text.text) == (
        ContentState.REMOVED,
        "message",
        "removed, then fetched for review",
    )
    assert removed_text.account_id == people["carol"]
    assert removed_text.cursor == ""  # not read from the stream
    assert (removed_image.state, removed_image.kind, removed_image.media_kind) == (
        ContentState.REMOVED,
        "media",
        "image",
    )
    assert removed_image.media_data == data
    assert removed_image.text is None  # the file name is no caption
    with pytest.raises(ContentNotFound):
        bare.fetch_content(message_locator(people["room"], text_id + "9999"))


def test_suspension_is_synapse_suspension_and_reinstate_lifts_it(
    connector: MatrixConnector, server: Homeserver, people: dict[str, str]
) -> None:
    quoted = urllib.parse.quote(people["carol"])
    event_id = _send_as(
        server, people["carol_token"], people["room"], "carol's, removed before the suspension"
    )
    locator = message_locator(people["room"], event_id)
    connector.remove_content(locator, RemovalAction.REMOVE)

    suspended = connector.act_on_account(people["carol"], AccountAction.SUSPEND, "case 7: spam")

    assert suspended.status is AccountStatus.SUSPENDED
    user = server.admin("GET", f"/_synapse/admin/v2/users/{quoted}")
    assert (user["suspended"], user["deactivated"], user["locked"]) == (True, False, False)
    with pytest.raises(MatrixError) as refused:
        _send_as(server, people["carol_token"], people["room"], "sent while suspended")
    assert refused.value.status == 403
    assert "M_USER_SUSPENDED" in str(refused.value)
    # republishing is sending as the author: refused (retryable) until the account is reinstated
    with pytest.raises(PlatformError, match="suspended"):
        connector.remove_content(locator, RemovalAction.RESTORE)

    reinstated = connector.act_on_account(people["carol"], AccountAction.REINSTATE, "appeal granted")

    assert reinstated.status is AccountStatus.ACTIVE
    assert server.admin("GET", f"/_synapse/admin/v2/users/{quoted}")["suspended"] is False
    _send_as(server, people["carol_token"], people["room"], "sent after the reinstatement")  # the same login
    assert connector.remove_content(locator, RemovalAction.RESTORE).restored_by is RestoreMethod.REPUBLISHED
