"""Content safety through a real Synapse: the Trustdesk module asks Trustdesk at upload and pushes messages.

Trustdesk here is `tests.synapse.FakeTrustdesk`, which speaks the platform API's contract
(``POST /api/v1/match``, ``POST /api/v1/content-events``); a homeserver of its own is configured with
``trustdesk_url``. The run against a real ``trustdesk serve`` (a banked image's altered copy refused, a
rule match redacted, a review case opened) is in ``test_synapse_trustdesk_e2e.py``.
"""

import hashlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import MEDIA
from tests.synapse import MODULE_SECRET, FakeTrustdesk, Homeserver, MatrixError, synapse_or_skip
from trustdesk.clock import system_clock
from trustdesk.platform.matrix.connector import MatrixConnector, message_locator

pytestmark = pytest.mark.slow
TOKEN = "platform-service-token-for-the-e2e"
BLOCKED = MEDIA[:-12] + b"blocked-copy"  # other bytes (the fake blocks by SHA-256)


@pytest.fixture(scope="module")
def trustdesk() -> Iterator[FakeTrustdesk]:
    fake = FakeTrustdesk(TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(trustdesk: FakeTrustdesk) -> Iterator[Homeserver]:
    directory = Path(tempfile.mkdtemp(prefix="trustdesk-synapse-safety-"))
    config = {"trustdesk_url": trustdesk.url, "trustdesk_token": TOKEN, "timeout_seconds": 2}
    homeserver = synapse_or_skip(directory, module_config=config)
    yield homeserver
    homeserver.stop()


@pytest.fixture(scope="module")
def room(server: Homeserver) -> dict[str, str]:
    for name in ("safety_erin", "safety_finn"):
        server.register(name)
    erin, finn = server.user_id("safety_erin"), server.user_id("safety_finn")
    return {"erin": erin, "finn": finn, "room": server.create_private_room(erin, finn)}


@pytest.fixture
def connector(server: Homeserver) -> MatrixConnector:
    return MatrixConnector(
        server.base_url, server.admin_token, clock=system_clock, module_secret=MODULE_SECRET
    )


def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_an_image_is_matched_at_upload_and_its_message_pushed(
    server: Homeserver, trustdesk: FakeTrustdesk, room: dict[str, str], connector: MatrixConnector
) -> None:
    mxc = server.upload(MEDIA, user_id=room["erin"], content_type="image/png")
    event_id = server.send(room["room"], room["erin"], {"msgtype": "m.image", "body": "a.png", "url": mxc})

    assert ("image/png", MEDIA) in trustdesk.uploads
    wait_for(lambda: any(item["event_id"] == event_id for item in trustdesk.items))
    item = next(item for item in trustdesk.items if item["event_id"] == event_id)
    assert item["kind"] == "image"
    assert (item["chat_type"], item["audience"]) == ("private", 2)
    assert item["locator"] == message_locator(room["room"], event_id)
    assert item["media"]["pdq"] == [{"hash": FakeTrustdesk.PDQ, "quality": 90}]
    assert item["media"]["classifier_scores"] == {"nudity": 0.02}
    assert "account_created_at" in item
    [event] = [e for e in connector.content_events(limit=1000) if e.event_id == event_id]
    assert event.media_pdq == ((FakeTrustdesk.PDQ, 90),)  # polling sees what was pushed
    assert event.media_md5 == item["media"]["md5"]
    assert event.media_data == MEDIA


def test_a_block_verdict_refuses_the_upload(
    server: Homeserver, trustdesk: FakeTrustdesk, room: dict[str, str]
) -> None:
    trustdesk.blocked.add(hashlib.sha256(BLOCKED).hexdigest())

    with pytest.raises(MatrixError) as refused:
        server.upload(BLOCKED, user_id=room["erin"], content_type="image/png")

    assert refused.value.status == 400
    assert "Bad content" in str(refused.value)


def test_text_is_pushed_within_seconds(
    server: Homeserver, trustdesk: FakeTrustdesk, room: dict[str, str]
) -> None:
    body = "send 1 BTC and get 2 BTC back"
    event_id = server.send(room["room"], room["finn"], {"msgtype": "m.text", "body": body})

    wait_for(lambda: any(item["event_id"] == event_id for item in trustdesk.items), timeout=5)
    item = next(item for item in trustdesk.items if item["event_id"] == event_id)
    assert (item["kind"], item["text"], item["account_id"]) == ("text", body, room["finn"])


def test_an_outage_fails_open(server: Homeserver, trustdesk: FakeTrustdesk, room: dict[str, str]) -> None:
    trustdesk.failures = 1_000
    try:
        mxc = server.upload(
            b"\x89PNG\r\n\x1a\n" + b"during an outage", user_id=room["erin"], content_type="image/png"
        )
        event_id = server.send(room["room"], room["erin"], {"msgtype": "m.text", "body": "still works"})
    finally:
        trustdesk.failures = 0
    assert mxc.startswith("mxc://")
    log = (server.directory / "synapse.log").read_text(errors="replace")
    assert "allowed (fail_mode open)" in log
    assert event_id
