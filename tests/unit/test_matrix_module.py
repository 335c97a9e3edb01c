"""The Trustdesk Synapse module without Synapse: config, payloads, its log, and the calls to Trustdesk.

Synapse's ``ModuleApi`` is replaced by a small fake; Trustdesk by `tests.synapse.FakeTrustdesk` on
loopback. The module imports only the standard library, so all of it runs in the project's venv.
"""

import asyncio
import hashlib
import logging
import sqlite3
import sys
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import MEDIA
from tests.synapse import FakeTrustdesk
from trustdesk.platform.matrix import eventlog
from trustdesk.platform.matrix import module as mod
from trustdesk.platform.matrix.stream import event_from_row, message_locator

TOKEN = "platform-service-token-for-tests"
SECRET = "module-secret-0123456789"


class FakeApi:
    """What the module uses of Synapse's ModuleApi."""

    def __init__(self) -> None:
        self.background: list[Awaitable[Any]] = []
        self.slept: list[float] = []

    def register_third_party_rules_callbacks(self, **_: Any) -> None: ...

    def register_spam_checker_callbacks(self, **_: Any) -> None: ...

    def register_web_resource(self, *_: Any) -> None: ...

    async def defer_to_thread(self, f: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(f, *args)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def run_as_background_process(self, _desc: str, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        self.background.append(func(*args))

    async def get_userinfo_by_id(self, user_id: str) -> Any:
        return (
            types.SimpleNamespace(creation_ts=1_700_000_000) if user_id.endswith(":trustdesk.test") else None
        )


class Codes:
    FORBIDDEN = "M_FORBIDDEN"


class FileWrapper:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def write_chunks_to(self, callback: Callable[[bytes], object]) -> None:
        for start in range(0, len(self.data), 1000):
            callback(self.data[start : start + 1000])


class Event:
    def __init__(
        self, event_id: str, content: dict[str, Any], *, sender: str = "@alice:trustdesk.test"
    ) -> None:
        self.type = "m.room.message"
        self.event_id = event_id
        self.room_id = "!room:trustdesk.test"
        self.sender = sender
        self.origin_server_ts = 1_767_225_600_000
        self.content = content
        self.internal_metadata = types.SimpleNamespace(is_outlier=lambda: False)


def state(join_rule: str, joined: int, left: int = 0) -> dict[tuple[str, str], Any]:
    events: dict[tuple[str, str], Any] = {
        ("m.room.join_rules", ""): types.SimpleNamespace(
            type="m.room.join_rules", content={"join_rule": join_rule}
        )
    }
    for index in range(joined + left):
        membership = "join" if index < joined else "leave"
        events["m.room.member", f"@u{index}:x"] = types.SimpleNamespace(
            type="m.room.member", content={"membership": membership}
        )
    return events


@pytest.fixture
def trustdesk() -> Iterator[FakeTrustdesk]:
    fake = FakeTrustdesk(TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def no_synapse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "synapse.module_api.errors", types.SimpleNamespace(Codes=Codes))
    monkeypatch.setattr(mod, "_resource", lambda _module: object())


def make_module(tmp_path: Path, api: FakeApi, **config: Any) -> mod.TrustdeskModule:
    raw = {"database_path": str(tmp_path / "log.sqlite"), "shared_secret": SECRET, **config}
    return mod.TrustdeskModule(mod.TrustdeskModule.parse_config(raw), api)


def local(file_id: str = "upload1", **extra: Any) -> Any:
    return types.SimpleNamespace(server_name=None, file_id=file_id, thumbnail=None, url_cache=False, **extra)


# ------------------------------------------------------------------------------------------ config


def test_config_defaults_keep_the_module_local(tmp_path: Path) -> None:
    config = mod.TrustdeskModule.parse_config({"database_path": str(tmp_path / "x"), "shared_secret": SECRET})

    assert config.trustdesk_url is None
    assert config.fail_mode == "open"
    assert config.timeout_seconds == 5.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"trustdesk_url": "ftp://trustdesk"}, "http"),
        ({"trustdesk_url": "https://trustdesk.example"}, "trustdesk_token"),
        ({"fail_mode": "maybe"}, "fail_mode"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": "5"}, "timeout_seconds"),
        ({"timeout_seconds": True}, "timeout_seconds"),
    ],
)
def test_config_refuses_bad_values(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mod.TrustdeskModule.parse_config(
            {"database_path": str(tmp_path / "x"), "shared_secret": SECRET, **extra}
        )


# ------------------------------------------------------------------------------------------ pure parts


@pytest.mark.parametrize(
    ("room", "expected"),
    [
        (state("public", 2), ("public", 2)),
        (state("invite", 2, left=3), ("private", 2)),
        (state("invite", 5), ("group", 5)),
        (state("knock", 1), ("group", 1)),
        ({}, ("group", 0)),
    ],
)
def test_chat_facts_from_room_state(room: dict[tuple[str, str], Any], expected: tuple[str, int]) -> None:
    assert mod.chat_facts(room) == expected


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ({"msgtype": "m.text", "body": "hi"}, None),
        ({"msgtype": "m.image", "body": "a.png", "url": "mxc://hs/abc"}, "image"),
        ({"msgtype": "m.video", "body": "v.mp4", "url": "mxc://hs/abc"}, "video"),
        ({"msgtype": "m.file", "body": "f.pdf", "url": "mxc://hs/abc"}, "file"),
        ({"msgtype": "m.audio", "body": "s.ogg", "url": "mxc://hs/abc"}, "file"),
        ({"msgtype": "m.image", "body": "encrypted, no url"}, None),
    ],
)
def test_media_kind_follows_msgtype(content: dict[str, Any], kind: str | None) -> None:
    assert eventlog.media_kind(content) == kind


def test_multipart_body_carries_the_file() -> None:
    content_type, body = mod.multipart("file", "upload", "image/png", MEDIA)

    boundary = content_type.split("boundary=", 1)[1]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b'name="file"; filename="upload"' in body
    assert MEDIA in body
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())


def test_sniff_image() -> None:
    assert mod.sniff_image(MEDIA) == "image/png"
    assert mod.sniff_image(b"\xff\xd8\xff\xe0 jpeg") == "image/jpeg"
    assert mod.sniff_image(b"%PDF-1.7") is None


ROW = {
    "seq": 7,
    "event_id": "$ev",
    "room_id": "!room:hs",
    "sender": "@alice:hs",
    "ts": 1_767_225_600_000,
    "kind": "media",
    "text": "look at this",
    "media_sha256": "a" * 64,
    "redacted": 0,
    "chat_type": "public",
    "audience": 40,
    "account_created_ts": 1_700_000_000_000,
    "media_kind": "image",
    "media_id": "abc",
    "media_server": "hs",
    "media_md5": "b" * 32,
    "media_mime": "image/png",
    "media_size": 1234,
    "media_pdq": "c" * 64,
    "media_pdq_quality": 88,
    "media_classifier_scores": {"nudity": 0.5},
}


def test_content_item_of_an_image_row() -> None:
    item = mod.content_item(ROW)

    assert item == {
        "platform": "synapse",
        "event_id": "$ev",
        "kind": "image",
        "account_id": "@alice:hs",
        "chat_id": "!room:hs",
        "chat_type": "public",
        "audience": 40,
        "at": "2026-01-01T00:00:00+00:00",
        "account_created_at": "2023-11-14T22:13:20+00:00",
        "locator": message_locator("!room:hs", "$ev"),
        "text": "look at this",
        "media": {
            "sha256": "a" * 64,
            "md5": "b" * 32,
            "mime_type": "image/png",
            "pdq": [{"hash": "c" * 64, "quality": 88}],
            "classifier_scores": {"nudity": 0.5},
        },
    }


def test_content_item_validates_as_trustdesks_content_item() -> None:
    events = pytest.importorskip("trustdesk.safety.events")

    parsed = events.item_from_json(mod.content_item(ROW))

    assert parsed.media.pdq[0].quality == 88
    text_row = {**ROW, "kind": "message", "media_kind": None, "text": "hello", "media_sha256": None}
    assert events.item_from_json(mod.content_item(text_row)).kind == "text"


def test_content_item_of_a_text_row_without_text_is_none() -> None:
    row = {**ROW, "kind": "message", "media_kind": None, "text": "", "media_sha256": None}

    assert mod.content_item(row) is None
    older = {key: ROW[key] for key in ("seq", "event_id", "room_id", "sender", "ts", "kind", "text")}
    assert mod.content_item({**older, "kind": "message"}) is not None  # a row from before the migration


def test_the_connector_reads_the_same_row() -> None:
    event = event_from_row(ROW, removed=False, media_data=b"png")

    assert (event.chat_type, event.audience, event.media_kind) == ("public", 40, "image")
    assert event.media_pdq == (("c" * 64, 88),)
    assert event.media_md5 == "b" * 32
    assert event.account_created_at is not None
    assert event.media_data == b"png"
    assert event.locator == mod.content_item(ROW)["locator"]  # type: ignore[index]


# ------------------------------------------------------------------------------------------ the log


def test_an_older_log_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,"
        " room_id TEXT NOT NULL, sender TEXT NOT NULL, ts INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT,"
        " media_id TEXT, media_sha256 TEXT, redacted INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE media (media_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL);"
        "INSERT INTO events (event_id, room_id, sender, ts, kind, text)"
        " VALUES ('$old', '!r', '@a', 1, 'message', 'hi');"
        "INSERT INTO media VALUES ('m1', '" + "d" * 64 + "');"
    )
    old.commit()
    old.close()

    log = eventlog.EventLog(str(path))
    eventlog.EventLog(str(path))  # a second start finds nothing to add

    [row] = log.events(0, 10)
    assert row["event_id"] == "$old"
    assert row["chat_type"] is None
    assert row["media_classifier_scores"] == {}
    assert log.media_sha256("m1") == "d" * 64
    log.record_media("m2", "e" * 64, md5="f" * 32, size=3, match={"hashes": {"pdq": "1" * 64, "quality": 70}})
    assert log.media("m2") == {
        "sha256": "e" * 64,
        "md5": "f" * 32,
        "mime": None,
        "size": 3,
        "pdq": "1" * 64,
        "pdq_quality": 70,
        "classifier_scores": {},
        "verdict": None,
    }


# ------------------------------------------------------------------------------------------ uploads


def test_without_trustdesk_an_upload_is_recorded_with_its_hashes(tmp_path: Path) -> None:
    module = make_module(tmp_path, FakeApi())

    assert asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), local())) == "NOT_SPAM"

    record = module.log.media("upload1")
    assert record is not None
    assert record["sha256"] == hashlib.sha256(MEDIA).hexdigest()
    assert record["md5"] == hashlib.md5(MEDIA, usedforsecurity=False).hexdigest()
    assert (record["mime"], record["size"], record["pdq"]) == ("image/png", len(MEDIA), None)


def test_an_upload_is_matched_at_trustdesk_and_its_hashes_kept(
    tmp_path: Path, trustdesk: FakeTrustdesk
) -> None:
    module = make_module(tmp_path, FakeApi(), trustdesk_url=trustdesk.url, trustdesk_token=TOKEN)

    assert asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), local())) == "NOT_SPAM"

    assert trustdesk.uploads == [("image/png", MEDIA)]
    record = module.log.media("upload1")
    assert record is not None
    assert (record["pdq"], record["pdq_quality"], record["verdict"]) == (FakeTrustdesk.PDQ, 90, "allow")
    assert record["classifier_scores"] == {"nudity": 0.02}


def test_a_block_verdict_refuses_the_upload(tmp_path: Path, trustdesk: FakeTrustdesk) -> None:
    trustdesk.blocked.add(hashlib.sha256(MEDIA).hexdigest())
    module = make_module(tmp_path, FakeApi(), trustdesk_url=trustdesk.url, trustdesk_token=TOKEN)

    assert asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), local())) == Codes.FORBIDDEN
    assert module.log.media("upload1") is None


def test_a_file_that_is_no_image_is_matched_by_its_hashes(tmp_path: Path, trustdesk: FakeTrustdesk) -> None:
    data = b"%PDF-1.7 not really"
    module = make_module(tmp_path, FakeApi(), trustdesk_url=trustdesk.url, trustdesk_token=TOKEN)

    assert asyncio.run(module.check_media_file_for_spam(FileWrapper(data), local())) == "NOT_SPAM"

    assert trustdesk.uploads == []
    assert trustdesk.hash_queries == [
        {
            "md5": [hashlib.md5(data, usedforsecurity=False).hexdigest()],
            "sha256": [hashlib.sha256(data).hexdigest()],
        }
    ]


def test_thumbnails_are_not_sent_again(tmp_path: Path, trustdesk: FakeTrustdesk) -> None:
    module = make_module(tmp_path, FakeApi(), trustdesk_url=trustdesk.url, trustdesk_token=TOKEN)
    thumbnail = types.SimpleNamespace(
        server_name=None, file_id="upload1", thumbnail=object(), url_cache=False
    )

    assert asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), thumbnail)) == "NOT_SPAM"

    assert trustdesk.uploads == []
    assert module.log.media("upload1") is None  # the original's record is not overwritten by a thumbnail


@pytest.mark.parametrize(("fail_mode", "expected"), [("open", "NOT_SPAM"), ("closed", Codes.FORBIDDEN)])
def test_when_trustdesk_is_down_the_fail_mode_decides(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fail_mode: str, expected: str
) -> None:
    down = FakeTrustdesk(TOKEN)  # never started: nothing listens there
    url = down.url
    down.stop()
    module = make_module(
        tmp_path, FakeApi(), trustdesk_url=url, trustdesk_token=TOKEN, fail_mode=fail_mode, timeout_seconds=1
    )

    with caplog.at_level(logging.WARNING, logger=mod.__name__):
        assert asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), local())) == expected

    assert f"fail_mode {fail_mode}" in caplog.text
    assert (module.log.media("upload1") is not None) == (fail_mode == "open")


def test_an_error_answer_counts_as_unavailable(tmp_path: Path, trustdesk: FakeTrustdesk) -> None:
    trustdesk.failures = 1
    module = make_module(
        tmp_path, FakeApi(), trustdesk_url=trustdesk.url, trustdesk_token=TOKEN, fail_mode="closed"
    )

    assert asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), local())) == Codes.FORBIDDEN


def test_a_wrong_token_counts_as_unavailable(tmp_path: Path, trustdesk: FakeTrustdesk) -> None:
    module = make_module(tmp_path, FakeApi(), trustdesk_url=trustdesk.url, trustdesk_token="wrong-token-xyz")

    assert asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), local())) == "NOT_SPAM"
    assert trustdesk.uploads == []


# ------------------------------------------------------------------------------------------ messages


def run_event(module: mod.TrustdeskModule, api: FakeApi, event: Event, room: dict[Any, Any]) -> list[Any]:
    async def go() -> list[Any]:
        await module.on_new_event(event, room)
        return list(await asyncio.gather(*api.background))

    return asyncio.run(go())


def test_a_message_is_logged_and_pushed_as_a_content_item(tmp_path: Path, trustdesk: FakeTrustdesk) -> None:
    api = FakeApi()
    module = make_module(tmp_path, api, trustdesk_url=trustdesk.url, trustdesk_token=TOKEN)
    asyncio.run(module.check_media_file_for_spam(FileWrapper(MEDIA), local("pic")))
    image = {"msgtype": "m.image", "body": "cat.png", "url": "mxc://trustdesk.test/pic"}

    assert run_event(module, api, Event("$img", image), state("public", 30)) == [True]
    api.background.clear()
    assert run_event(module, api, Event("$txt", {"msgtype": "m.text", "body": "hi"}), state("invite", 2)) == [
        True
    ]

    [logged_image, _] = module.log.events(0, 10)
    assert (logged_image["chat_type"], logged_image["audience"]) == ("public", 30)
    assert logged_image["account_created_ts"] == 1_700_000_000_000
    first, second = trustdesk.items
    assert first["kind"] == "image"
    assert first["media"]["pdq"] == [{"hash": FakeTrustdesk.PDQ, "quality": 90}]
    assert first["media"]["sha256"] == hashlib.sha256(MEDIA).hexdigest()
    assert "text" not in first  # the body is the file name, not a caption
    assert second == {
        "platform": "synapse",
        "event_id": "$txt",
        "kind": "text",
        "account_id": "@alice:trustdesk.test",
        "chat_id": "!room:trustdesk.test",
        "chat_type": "private",
        "audience": 2,
        "at": "2026-01-01T00:00:00+00:00",
        "account_created_at": "2023-11-14T22:13:20+00:00",
        "locator": message_locator("!room:trustdesk.test", "$txt"),
        "text": "hi",
    }


def test_a_push_is_retried_then_left_to_polling(
    tmp_path: Path, trustdesk: FakeTrustdesk, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeApi()
    module = make_module(tmp_path, api, trustdesk_url=trustdesk.url, trustdesk_token=TOKEN)
    trustdesk.failures = 1

    assert run_event(module, api, Event("$a", {"msgtype": "m.text", "body": "one"}), state("invite", 3)) == [
        True
    ]
    assert api.slept == [mod.PUSH_DELAYS[0]]
    assert [item["event_id"] for item in trustdesk.items] == ["$a"]

    trustdesk.failures = 10
    api.background.clear()
    with caplog.at_level(logging.WARNING, logger=mod.__name__):
        assert run_event(
            module, api, Event("$b", {"msgtype": "m.text", "body": "two"}), state("invite", 3)
        ) == [False]
    assert "left to polling" in caplog.text
    assert [row["event_id"] for row in module.log.events(0, 10)] == ["$a", "$b"]  # the log keeps both


def test_without_trustdesk_nothing_is_pushed(tmp_path: Path) -> None:
    api = FakeApi()
    module = make_module(tmp_path, api)

    assert run_event(module, api, Event("$a", {"msgtype": "m.text", "body": "one"}), state("invite", 3)) == []
    assert module.log.event("$a") is not None


def test_remote_senders_have_no_creation_time(tmp_path: Path) -> None:
    api = FakeApi()
    module = make_module(tmp_path, api)

    run_event(module, api, Event("$r", {"msgtype": "m.text", "body": "x"}, sender="@bob:elsewhere"), {})

    row = module.log.event("$r")
    assert row is not None
    assert row["account_created_ts"] is None
