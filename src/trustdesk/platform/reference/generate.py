"""Deterministic synthetic data for the reference platform.

The same seed and size on a fresh store give identical rows: everything is drawn from one
``random.Random(seed)`` in a fixed order, and rows are written in bulk. Phones use plausible country
prefixes, IP addresses come only from the documentation ranges (RFC 5737, RFC 3849), e-mail addresses only
from the example domains (RFC 2606).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from trustdesk.platform.protocol import require_aware
from trustdesk.platform.reference.store import chats, members, messages, sessions
from trustdesk.platform.reference.store import users as users_table

_IPV4_NETWORKS = ("192.0.2.", "198.51.100.", "203.0.113.")
_IPV6_BASE = int(ipaddress.IPv6Address("2001:db8::"))
_EMAIL_DOMAINS = ("example.org", "example.net", "example.com")
_DEVICES = (
    "Android 14 / ref 10.4",
    "Android 13 / ref 10.1",
    "iOS 17.5 / ref 10.4",
    "iOS 16.7 / ref 9.8",
    "Web / Firefox 128",
    "Web / Chrome 126",
    "Desktop / Linux 10.3",
    "Desktop / Windows 10.4",
    "Desktop / macOS 10.4",
)
_FIRST = (
    "Ada", "Ahmed", "Aiko", "Amara", "Ana", "Anton", "Aurélie", "Bea", "Carlos", "Chen", "Chiara",
    "Dmytro", "Elif", "Emma", "Farah", "Finn", "Giulia", "Hana", "Ines", "Ivan", "Jakob", "Jana",
    "Jonas", "Karim", "Kasia", "Lars", "Lea", "Lucas", "Maja", "Marek", "Maria", "Mateo", "Mia",
    "Nadia", "Noah", "Olga", "Omar", "Paul", "Priya", "Rafael", "Sara", "Sofia", "Tomás", "Yara",
)  # fmt: skip
_LAST = (
    "Almeida", "Becker", "Bianchi", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen",
    "Horvat", "Ivanova", "Jansen", "Kaya", "Kowalski", "Laine", "Lopez", "Martin", "Meyer", "Moreau",
    "Nagy", "Novak", "Öztürk", "Petrov", "Rossi", "Santos", "Schmidt", "Silva", "Smith", "Tanaka",
    "Weber", "Wójcik", "Yilmaz", "Zhang",
)  # fmt: skip
_ADJECTIVES = (
    "amber", "bold", "calm", "clever", "cosmic", "eager", "gentle", "happy", "lucky", "misty",
    "nimble", "quiet", "rapid", "silent", "sunny", "swift", "tiny", "urban", "vivid", "wild",
)  # fmt: skip
_NOUNS = (
    "badger", "comet", "falcon", "fox", "harbor", "lynx", "maple", "meteor", "otter", "panda",
    "pixel", "raven", "river", "rocket", "sparrow", "tiger", "voyager", "walrus", "willow", "zebra",
)  # fmt: skip
_WORDS = (
    "the", "a", "we", "you", "they", "meet", "tomorrow", "today", "tonight", "at", "in", "on", "see",
    "photo", "video", "link", "call", "me", "later", "ok", "thanks", "great", "news", "match", "game",
    "train", "late", "early", "coffee", "lunch", "dinner", "party", "birthday", "weekend", "work",
    "school", "homework", "price", "sale", "new", "old", "city", "park", "beach", "rain", "sun",
    "happy", "sorry", "love", "miss", "this", "that", "where", "when", "why", "how", "is", "are",
    "was", "will", "be", "there", "here", "soon", "now", "ticket", "concert", "song", "book", "film",
)  # fmt: skip
_GROUP_TOPICS = (
    "Book club", "Climbing", "Family", "Flatmates", "Football", "Gardening", "Hiking", "Neighbours",
    "Photography", "Running", "Study group", "Team", "Travel", "Volunteers",
)  # fmt: skip


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


_PHONE_PLANS: tuple[tuple[int, Callable[[random.Random], str]], ...] = (
    (16, lambda r: "+49" + r.choice(("151", "152", "157", "160", "170", "176", "179")) + _digits(r, 8)),
    (12, lambda r: "+33" + r.choice("67") + _digits(r, 8)),
    (8, lambda r: "+316" + _digits(r, 8)),
    (8, lambda r: "+34" + r.choice("67") + _digits(r, 8)),
    (8, lambda r: "+393" + _digits(r, 9)),
    (6, lambda r: "+48" + r.choice("5678") + _digits(r, 8)),
    (8, lambda r: "+447" + r.choice("4579") + _digits(r, 8)),
    (10, lambda r: "+1" + r.choice(("202", "212", "415", "512", "617")) + _digits(r, 7)),
    (8, lambda r: "+5511" + "9" + _digits(r, 8)),
    (8, lambda r: "+91" + r.choice("6789") + _digits(r, 9)),
    (4, lambda r: "+380" + r.choice(("50", "63", "67", "93")) + _digits(r, 7)),
    (4, lambda r: "+905" + _digits(r, 9)),
)  # fmt: skip
_PHONE_WEIGHTS = tuple(weight for weight, _ in _PHONE_PLANS)
_PHONE_MAKERS = tuple(maker for _, maker in _PHONE_PLANS)


@dataclass(frozen=True)
class GenerationSummary:
    """Rows written by one `generate` call."""

    users: int
    sessions: int
    chats: int
    memberships: int
    messages: int


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(_IPV4_NETWORKS) + str(rng.randrange(1, 255))
    return str(ipaddress.IPv6Address(_IPV6_BASE | rng.getrandbits(96)))


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(2, 12))).capitalize()


def _next_id(conn: Connection, column: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def generate(conn: Connection, *, users: int, seed: int, start: datetime, end: datetime) -> GenerationSummary:
    """Write ``users`` synthetic users with sessions, chats, memberships and messages.

    Every timestamp lies in ``[start, end)``; a session or message never precedes its user's
    registration or chat membership. Runs inside the caller's transaction.
    """
    start = require_aware(start, "start")
    end = require_aware(end, "end")
    if users < 1:
        raise ValueError(f"users must be at least 1, got {users}")
    if end - start < timedelta(hours=1):
        raise ValueError("the generation period must be at least an hour")
    return _Generator(conn, users, seed, start, end).run()


class _Generator:
    """One generation run; the order of the draws from ``rng`` is what makes it reproducible."""

    def __init__(self, conn: Connection, users: int, seed: int, start: datetime, end: datetime) -> None:
        self.conn = conn
        self.users = users
        self.start = start
        self.span = int((end - start).total_seconds())
        self.rng = random.Random(seed)  # noqa: S311 - synthetic demo data; reproducibility, not secrecy
        self.media_pool = [self.rng.randbytes(32).hex() for _ in range(max(10, users // 20))]
        self.first_user = _next_id(conn, users_table.c.id)
        self.next_chat = _next_id(conn, chats.c.id)
        self.registered: list[int] = []
        self.user_rows: list[dict[str, Any]] = []
        self.session_rows: list[dict[str, Any]] = []
        self.chat_rows: list[dict[str, Any]] = []
        self.member_rows: list[dict[str, Any]] = []
        # (offset, order, chat, sender, text, media); sorted by time before ids are given
        self.pending: list[tuple[int, int, int, int, str | None, str | None]] = []

    def at(self, offset: int) -> datetime:
        return self.start + timedelta(seconds=offset)

    def later(self, earliest: int) -> int:
        """A random offset from ``earliest`` to the end of the period."""
        return self.rng.randrange(earliest, self.span)

    def run(self) -> GenerationSummary:
        self.make_users()
        self.make_sessions()
        if self.users >= 2:
            self.make_private_chats()
        if self.users >= 3:
            self.make_public_chats("group", max(1, self.users // 25), (3, 30), (5, 30))
            self.make_public_chats("channel", max(1, self.users // 100), (10, 200), (1, 15))
        message_rows = self.message_rows()
        for table, rows in (
            (users_table, self.user_rows),
            (sessions, self.session_rows),
            (chats, self.chat_rows),
            (members, self.member_rows),
            (messages, message_rows),
        ):
            if rows:
                self.conn.execute(insert(table), rows)
        return GenerationSummary(
            users=len(self.user_rows),
            sessions=len(self.session_rows),
            chats=len(self.chat_rows),
            memberships=len(self.member_rows),
            messages=len(message_rows),
        )

    def make_users(self) -> None:
        rng = self.rng
        taken_phones = set(self.conn.execute(select(users_table.c.phone)).scalars())
        taken_names = set(self.conn.execute(select(users_table.c.username_key)).scalars())
        for index in range(self.users):
            phone = rng.choices(_PHONE_MAKERS, weights=_PHONE_WEIGHTS)[0](rng)
            while phone in taken_phones:
                phone = rng.choices(_PHONE_MAKERS, weights=_PHONE_WEIGHTS)[0](rng)
            taken_phones.add(phone)
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            username = None
            if rng.random() < 0.7:
                username = f"{rng.choice(_ADJECTIVES)}_{rng.choice(_NOUNS)}{rng.randrange(1000)}"
                if rng.random() < 0.3:
                    username = username.capitalize()
                while username.lower() in taken_names:
                    username += str(rng.randrange(10))
                taken_names.add(username.lower())
            email = None
            if rng.random() < 0.4:
                email = f"{first}.{last}{rng.randrange(100)}@{rng.choice(_EMAIL_DOMAINS)}".lower()
            offset = rng.randrange(0, self.span * 4 // 5)
            self.registered.append(offset)
            self.user_rows.append(
                {
                    "id": self.first_user + index,
                    "username": username,
                    "username_key": None if username is None else username.lower(),
                    "phone": phone,
                    "email": email,
                    "display_name": f"{first} {last}" if rng.random() < 0.9 else None,
                    "registered_at": self.at(offset),
                    "registration_ip": _ip(rng),
                    "status": rng.choices(("active", "restricted", "suspended"), weights=(98, 1, 1))[0],
                }
            )

    def make_sessions(self) -> None:
        rng = self.rng
        next_session = _next_id(self.conn, sessions.c.id)
        for index in range(self.users):
            for _ in range(rng.randint(1, 5)):
                self.session_rows.append(
                    {
                        "id": next_session,
                        "user_id": self.first_user + index,
                        "ip": _ip(rng),
                        "port": rng.randrange(1024, 65536),
                        "device": rng.choice(_DEVICES),
                        "at": self.at(self.later(self.registered[index])),
                    }
                )
                next_session += 1

    def new_chat(self, kind: str, created: int, title: str | None) -> int:
        chat_id = self.next_chat
        self.next_chat += 1
        self.chat_rows.append(
            {
                "id": chat_id,
                "kind": kind,
                "title": title,
                "created_at": self.at(created),
                "state": "visible",
                "scope": None,
            }
        )
        return chat_id

    def join(self, chat_id: int, user: int, role: str, offset: int) -> None:
        self.member_rows.append(
            {
                "chat_id": chat_id,
                "user_id": self.first_user + user,
                "role": role,
                "joined_at": self.at(offset),
            }
        )

    def message(self, offset: int, chat_id: int, sender: int, media_share: float) -> None:
        rng = self.rng
        media = None
        text: str | None = _sentence(rng)
        if rng.random() < media_share:
            media = rng.choice(self.media_pool) if rng.random() < 0.5 else rng.randbytes(32).hex()
            if rng.random() < 0.5:
                text = None
        self.pending.append((offset, len(self.pending), chat_id, self.first_user + sender, text, media))

    def make_private_chats(self) -> None:
        rng = self.rng
        pairs: set[tuple[int, int]] = set()
        for user in range(self.users):
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                partner = rng.randrange(self.users - 1)
                partner += partner >= user
                pair = (min(user, partner), max(user, partner))
                if pair in pairs:
                    continue
                pairs.add(pair)
                created = self.later(max(self.registered[pair[0]], self.registered[pair[1]]))
                chat_id = self.new_chat("private", created, None)
                self.join(chat_id, pair[0], "member", created)
                self.join(chat_id, pair[1], "member", created)
                for _ in range(rng.randint(1, 12)):
                    self.message(self.later(created), chat_id, rng.choice(pair), 0.1)

    def make_public_chats(
        self, kind: str, count: int, sizes: tuple[int, int], posts: tuple[int, int]
    ) -> None:
        rng = self.rng
        for _ in range(count):
            chosen = rng.sample(range(self.users), min(self.users, rng.randint(*sizes)))
            owner = chosen[0]
            created = self.later(self.registered[owner])
            title = f"{rng.choice(_GROUP_TOPICS)} {rng.choice(_NOUNS).capitalize()}"
            chat_id = self.new_chat(kind, created, title)
            self.join(chat_id, owner, "owner", created)
            joined = {owner: created}
            for member in chosen[1:]:
                joined[member] = self.later(max(created, self.registered[member]))
                self.join(chat_id, member, "member", joined[member])
            for _ in range(rng.randint(*posts)):
                if kind == "channel":
                    self.message(self.later(created), chat_id, owner, 0.3)
                else:
                    sender = rng.choice(chosen)
                    self.message(self.later(joined[sender]), chat_id, sender, 0.1)

    def message_rows(self) -> list[dict[str, Any]]:
        self.pending.sort()
        first_message = _next_id(self.conn, messages.c.id)
        return [
            {
                "id": first_message + index,
                "chat_id": chat_id,
                "sender_id": sender,
                "sent_at": self.at(offset),
                "text": text,
                "media_sha256": media,
                "state": "visible",
                "scope": None,
            }
            for index, (offset, _, chat_id, sender, text, media) in enumerate(self.pending)
        ]
