"""The contract fixture: a `connector` per implementation, each with a `ContractWorld` that seeds known data.

The contract tests speak only of protocol calls and of what `ContractWorld.seed` says it created; to run
them over another implementation (the Matrix Synapse connector), add a factory to `FACTORIES` that yields
a world for it.
"""

import hashlib
import io
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from PIL import Image, ImageDraw

from tests.synapse import MODULE_SECRET, NOTICES, Homeserver, MatrixError, shared_homeserver
from trustdesk.clock import FrozenClock
from trustdesk.platform.matrix.connector import MatrixConnector, message_locator
from trustdesk.platform.matrix.stream import parse_locator
from trustdesk.platform.protocol import ContentState, Period, PlatformConnector
from trustdesk.platform.reference import ReferencePlatform

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
"""Where every world's clock starts."""


def _contract_image() -> bytes:
    """A small PNG with some structure (so that its PDQ hash has a fair quality)."""
    image = Image.new("RGB", (96, 64), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 8, 50, 48), fill=(240, 200, 40))
    draw.rectangle((56, 20, 90, 60), fill=(200, 40, 60))
    draw.line((0, 63, 95, 0), fill=(250, 250, 250), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


MEDIA = _contract_image()
"""The seeded image (message 3): a PNG under 1 MiB, so connectors that inline images carry its bytes."""
MEDIA_SHA256 = hashlib.sha256(MEDIA).hexdigest()
MEDIA_MD5 = hashlib.md5(MEDIA, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class SeededSession:
    ip: str
    port: int
    at: datetime


@dataclass(frozen=True)
class SeededMessage:
    locator: str
    sender_id: str
    at: datetime
    text: str | None
    media_sha256: str | None


@dataclass(frozen=True)
class Seeded:
    """What `ContractWorld.seed` created, with the periods the tests use.

    The account registers at ``t0`` and has one session inside ``early`` and one after it. It shares a
    private chat with ``other_id`` (nobody else is in it); of the four messages the first three (two by
    the account, one of them the image `MEDIA` without caption, one by the other) lie inside ``early``,
    the last (by the account) after it.
    """

    account_id: str
    phone: str
    username: str
    other_id: str
    chat_id: str
    t0: datetime
    sessions: tuple[SeededSession, SeededSession]
    messages: tuple[SeededMessage, SeededMessage, SeededMessage, SeededMessage]
    early: Period
    everything: Period

    @property
    def own_messages(self) -> tuple[SeededMessage, ...]:
        return tuple(message for message in self.messages if message.sender_id == self.account_id)


class ContractWorld(Protocol):
    """What each implementation's test harness offers besides the connector itself."""

    @property
    def connector(self) -> PlatformConnector: ...

    def now(self) -> datetime:
        """The connector's clock."""
        ...

    def advance(self, delta: timedelta) -> None:
        """Move the connector's clock forward."""
        ...

    def seed(self, *, phone: str = "+4915550000001", username: str = "Alice_Contract") -> Seeded:
        """Create the known account, its counterpart, sessions, a private chat and messages."""
        ...

    def post(self, chat_id: str, sender_id: str, text: str) -> str:
        """Post a message now; returns its locator."""
        ...

    def notice_texts(self, account_id: str) -> list[str]:
        """The texts of the notices the account received, oldest first."""
        ...

    def seen_by(self, member_id: str, locator: str) -> str | None:
        """The text (or, for media, the caption or file name) ``member_id`` sees at a message locator in
        a chat of theirs; None when the message is removed or restricted for them."""
        ...


class ReferenceWorld:
    """The reference platform on a private in-memory SQLite, with a frozen clock."""

    def __init__(self) -> None:
        self.clock = FrozenClock(NOW)
        self.platform = ReferencePlatform("sqlite://", clock=self.clock)
        self.platform.create_schema()

    @property
    def connector(self) -> PlatformConnector:
        return self.platform

    def now(self) -> datetime:
        return self.clock()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def seed(self, *, phone: str = "+4915550000001", username: str = "Alice_Contract") -> Seeded:
        p = self.platform
        t0 = self.clock() - timedelta(days=30)
        account = p.add_user(
            phone=phone,
            username=username,
            display_name="Alice Contract",
            email="alice@example.org",
            registered_at=t0,
            registration_ip="203.0.113.10",
        )
        other = p.add_user(
            phone="+33655500002",
            username="bob_contract",
            display_name="Bob Contract",
            registered_at=t0,
            registration_ip="192.0.2.20",
        )
        first = SeededSession("198.51.100.7", 41000, t0 + timedelta(days=1))
        second = SeededSession("2001:db8::7", 52000, t0 + timedelta(days=20))
        for session in (first, second):
            p.add_session(account, ip=session.ip, port=session.port, at=session.at, device="Contract phone")
        chat = p.create_chat("private", [account, other], created_at=t0 + timedelta(hours=1))
        plan: list[tuple[str, timedelta, str | None, bytes | None]] = [
            (account, timedelta(days=2), "hello bob, this is the first message", None),
            (other, timedelta(days=3), "hi alice, bob answering", None),
            (account, timedelta(days=4), None, MEDIA),
            (account, timedelta(days=21), "a late message after the early period", None),
        ]
        posted = []
        for sender, offset, text, media in plan:
            locator = p.post_message(chat, sender, text=text, media=media, sent_at=t0 + offset)
            sha = None if media is None else MEDIA_SHA256
            posted.append(SeededMessage(locator, sender, t0 + offset, text, sha))
        m1, m2, m3, m4 = posted
        return Seeded(
            account_id=account,
            phone=phone,
            username=username,
            other_id=other,
            chat_id=chat,
            t0=t0,
            sessions=(first, second),
            messages=(m1, m2, m3, m4),
            early=Period(t0 + timedelta(hours=12), t0 + timedelta(days=10)),
            everything=Period(t0 - timedelta(days=1), self.clock() + timedelta(days=1)),
        )

    def post(self, chat_id: str, sender_id: str, text: str) -> str:
        return self.platform.post_message(chat_id, sender_id, text=text)

    def notice_texts(self, account_id: str) -> list[str]:
        return [notice.text for notice in self.platform.notices(account_id)]

    def seen_by(self, member_id: str, locator: str) -> str | None:
        """The reference platform shows members what its stream shows as visible (it has no per-member
        view of its own)."""
        events = self.platform.content_events(limit=1000)
        found = [event for event in events if event.locator == locator]
        if not found or found[0].state is not ContentState.VISIBLE:
            return None
        return found[0].text if found[0].text is not None else ""


@contextmanager
def reference_world() -> Iterator[ContractWorld]:
    world = ReferenceWorld()
    try:
        yield world
    finally:
        world.platform.close()


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


class SynapseWorld:
    """The Matrix connector over the session's one Synapse homeserver (`tests.synapse`).

    The contract users are registered once per session (Synapse keeps user ids for good), so each world
    starts from a clean slate: the rooms earlier worlds created are purged (and their events dropped from
    the Trustdesk module's log), account flags are cleared, threepids rebound and the client-IP history
    replaced. The connector's clock is frozen at the real time the world was made, whole seconds, so the
    times Synapse stamps (registration, notices) and the back-dated ones (messages through the seeding
    application service's ``ts``, sessions written into ``user_ips``) share one time line.
    Matrix localparts are lower case: ``seed(username="Alice_Contract")`` creates ``alice_contract``.
    """

    rooms: list[str] = []  # noqa: RUF012 - every room any world created this session, to purge
    registered: set[str] = set()  # noqa: RUF012 - Synapse user ids are never freed

    def __init__(self, server: Homeserver) -> None:
        self.server = server
        self.clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        self.started_ms = _ms(datetime.now(UTC))
        self.matrix = MatrixConnector(
            server.base_url, server.admin_token, clock=self.clock, module_secret=MODULE_SECRET
        )

    @property
    def connector(self) -> PlatformConnector:
        return self.matrix

    def now(self) -> datetime:
        return self.clock()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def _user(self, localpart: str, *, phone: str, email: str | None, displayname: str) -> str:
        user_id = self.server.user_id(localpart)
        if user_id not in self.registered:
            self.server.register(localpart)
            self.registered.add(user_id)
        self.server.reset_account(user_id)
        self.server.set_profile(user_id, phone=phone, email=email, displayname=displayname)
        return user_id

    def _clean_slate(self) -> None:
        stale = list(SynapseWorld.rooms)
        for room_id in stale:
            self.server.purge_room(room_id)
        self.server.forget_module_events(stale)
        SynapseWorld.rooms.clear()

    def seed(self, *, phone: str = "+4915550000001", username: str = "Alice_Contract") -> Seeded:
        server = self.server
        self._clean_slate()
        localpart = username.lower()
        account = self._user(localpart, phone=phone, email="alice@example.org", displayname="Alice Contract")
        other = self._user("bob_contract", phone="+33655500002", email=None, displayname="Bob Contract")
        t0 = self.clock() - timedelta(days=30)
        first = SeededSession("198.51.100.7", 41000, t0 + timedelta(days=1))
        second = SeededSession("2001:db8::7", 52000, t0 + timedelta(days=20))
        server.seed_sessions(account, [(s.ip, "Contract phone", _ms(s.at)) for s in (first, second)])
        server.seed_sessions(other, [])
        chat = server.create_private_room(account, other)
        SynapseWorld.rooms.append(chat)
        media = server.upload(MEDIA, user_id=account, content_type="image/png")
        image = {"msgtype": "m.image", "body": "contract.png", "url": media}
        plan: list[tuple[str, timedelta, str | None, dict[str, Any]]] = [
            (account, timedelta(days=2), "hello bob, this is the first message", {}),
            (other, timedelta(days=3), "hi alice, bob answering", {}),
            (account, timedelta(days=4), None, image),
            (account, timedelta(days=21), "a late message after the early period", {}),
        ]
        posted = []
        for sender, offset, text, content in plan:
            at = t0 + offset
            body = content or {"msgtype": "m.text", "body": text}
            event_id = server.send(chat, sender, body, ts_ms=_ms(at))
            posted.append(
                SeededMessage(
                    message_locator(chat, event_id), sender, at, text, MEDIA_SHA256 if content else None
                )
            )
        m1, m2, m3, m4 = posted
        return Seeded(
            account_id=account,
            phone=phone,
            username=localpart,
            other_id=other,
            chat_id=chat,
            t0=t0,
            sessions=(first, second),
            messages=(m1, m2, m3, m4),
            early=Period(t0 + timedelta(hours=12), t0 + timedelta(days=10)),
            everything=Period(t0 - timedelta(days=1), self.clock() + timedelta(days=1)),
        )

    def post(self, chat_id: str, sender_id: str, text: str) -> str:
        content = {"msgtype": "m.text", "body": text}
        event_id = self.server.send(chat_id, sender_id, content, ts_ms=_ms(self.clock()))
        return message_locator(chat_id, event_id)

    def notice_texts(self, account_id: str) -> list[str]:
        """Server notices to the account since this world began (the notice room outlives worlds)."""
        try:
            rooms = self.server.memberships(account_id)
        except MatrixError:
            return []
        notices = self.server.user_id(NOTICES)
        found = [
            event
            for room_id in sorted(set(rooms) - set(SynapseWorld.rooms))
            for event in self.server.room_messages(room_id, sender=notices)
            if int(event["origin_server_ts"]) >= self.started_ms
        ]
        found.sort(key=lambda event: int(event["origin_server_ts"]))
        return [str(event["content"].get("body")) for event in found]

    def seen_by(self, member_id: str, locator: str) -> str | None:
        """What the member's own client gets for the event (a real login): its body, or None when the
        event is redacted or the member cannot read it."""
        parsed = parse_locator(locator)
        assert parsed is not None
        assert parsed[1] is not None
        room_id, event_id = parsed[0], parsed[1]
        token = self.server.login(member_id[1:].split(":", 1)[0])
        try:
            event = self.server.call(
                "GET",
                f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/event/"
                f"{urllib.parse.quote(event_id, safe='')}",
                token=token,
            )
        except MatrixError:
            return None
        finally:
            self.server.call("POST", "/_matrix/client/v3/logout", {}, token=token)
        content = event.get("content") or {}
        return None if not content else str(content.get("body", ""))


@contextmanager
def synapse_world() -> Iterator[ContractWorld]:
    yield SynapseWorld(shared_homeserver())


WorldFactory = Callable[[], AbstractContextManager[ContractWorld]]

FACTORIES: list[Any] = [
    pytest.param(reference_world, id="reference"),
    # a real homeserver on loopback; skips without Synapse, fails under TRUSTDESK_REQUIRE_SYNAPSE=1
    pytest.param(synapse_world, id="synapse", marks=pytest.mark.slow),
]
"""One `pytest.param` per implementation: a callable returning a context manager that yields a world."""


@pytest.fixture(params=FACTORIES)
def world(request: pytest.FixtureRequest) -> Iterator[ContractWorld]:
    factory: WorldFactory = request.param
    with factory() as built:
        yield built


@pytest.fixture
def connector(world: ContractWorld) -> PlatformConnector:
    return world.connector


@pytest.fixture
def seeded(world: ContractWorld) -> Seeded:
    return world.seed()
