"""Deterministic synthetic data for the reference platform.

The same seed and size on a fresh store give identical rows: everything is drawn from one
``random.Random(seed)`` in a fixed order, and rows are written in bulk. Phones use plausible country
prefixes, IP addresses come only from the documentation ranges (RFC 5737, RFC 3849), e-mail addresses only
from the example domains (RFC 2606).

Media are real uploads (`trustdesk.platform.reference.media`): synthetic pictures drawn with Pillow
(a pool per run, shared as people forward pictures), a few small text files, and resized, recompressed
copies of `trustdesk.platform.reference.pictures.known_demo_images`, so that a demo bank of the originals'
PDQ hashes has something to find. A small share of texts is what the starter text rules are for
(crypto-doubling scams, phishing links, phone numbers posted in public channels); the rest is benign.
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
from trustdesk.platform.reference import pictures
from trustdesk.platform.reference.media import describe, media_row
from trustdesk.platform.reference.store import chats, media, members, messages, sessions
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


_SCAMS = (
    "Send 1 BTC to {wallet} and get 2 BTC back! Giveaway ends tonight",
    "Crypto doubling: send 0.5 ETH and get 1 ETH back within the hour, wallet {wallet}",
    "send 1 BTC and get 2 BTC back, guaranteed, only today",
)
_PHISHING = (
    "Your account will be suspended. Verify your account at http://{domain}/login within 24 hours",
    "Security alert: please verify your account at http://{domain}/verify?id={number}",
)
_PHISHING_DOMAINS = ("secure-login.example.net", "account-check.example.com", "verify-now.example.org")
_PHONE_POSTS = (
    "Call or text me on {phone} for details",
    "Cheap tickets, WhatsApp {phone}",
    "Questions? Ring {phone} any time",
)
_FILE_NAMES = ("notes", "shopping list", "minutes", "timetable", "recipe")


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
    media: int = 0


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(_IPV4_NETWORKS) + str(rng.randrange(1, 255))
    return str(ipaddress.IPv6Address(_IPV6_BASE | rng.getrandbits(96)))


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(2, 12))).capitalize()


def _fictional_phone(rng: random.Random) -> str:
    """A number from ranges reserved for fiction (UK 07700 900xxx, North America 555-01xx)."""
    if rng.random() < 0.5:
        return f"+44 7700 900{rng.randrange(1000):03d}"
    return f"+1 202 555 01{rng.randrange(100):02d}"


def _text(rng: random.Random, chat_kind: str) -> str:
    """Mostly benign; now and then a scam, a phishing link, or (in a channel) a phone number."""
    roll = rng.random()
    if roll < 0.015:
        wallet = "bc1q" + "".join(rng.choices("023456789acdefghjklmnpqrstuvwxyz", k=38))
        return rng.choice(_SCAMS).format(wallet=wallet)
    if roll < 0.03:
        return rng.choice(_PHISHING).format(domain=rng.choice(_PHISHING_DOMAINS), number=rng.randrange(10**6))
    if chat_kind == "channel" and roll < 0.25:
        return rng.choice(_PHONE_POSTS).format(phone=_fictional_phone(rng))
    return _sentence(rng)


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
        # (bytes, mime) of every upload this run may post, and which of them are pictures, files, copies
        self.media_items: list[tuple[bytes, str]] = []
        self.pictures, self.files, self.copies = self.make_media(max(8, users // 15))
        self.first_user = _next_id(conn, users_table.c.id)
        self.next_chat = _next_id(conn, chats.c.id)
        self.registered: list[int] = []
        self.user_rows: list[dict[str, Any]] = []
        self.session_rows: list[dict[str, Any]] = []
        self.chat_rows: list[dict[str, Any]] = []
        self.member_rows: list[dict[str, Any]] = []
        # (offset, order, chat, sender, text, index into media_items); sorted by time before ids are given
        self.pending: list[tuple[int, int, int, int, str | None, int | None]] = []

    def make_media(self, count: int) -> tuple[list[int], list[int], list[int]]:
        """``count`` synthetic pictures, a few text files and two altered copies of each known image.

        Drawn from a generator of their own (seeded from the main one), so that how many draws a picture
        takes does not shift the rest of the data. Returns the indexes into ``media_items`` of each.
        """
        rng = random.Random(self.rng.getrandbits(64))  # noqa: S311 - synthetic demo data

        def add(items: list[tuple[bytes, str]]) -> list[int]:
            first = len(self.media_items)
            self.media_items.extend(items)
            return list(range(first, len(self.media_items)))

        drawn = add([pictures.random_picture(rng) for _ in range(count)])
        files = add(
            [(f"{name}\n{_sentence(rng)}\n{_sentence(rng)}\n".encode(), "text/plain") for name in _FILE_NAMES]
        )
        copies = add(
            [
                (pictures.altered_copy(known.data, rng), "image/jpeg")
                for known in pictures.known_demo_images()
                for _ in range(2)
            ]
        )
        return drawn, files, copies

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
        media_rows, media_ids = self.media_rows()
        message_rows = self.message_rows(media_ids)
        for table, rows in (
            (users_table, self.user_rows),
            (sessions, self.session_rows),
            (chats, self.chat_rows),
            (members, self.member_rows),
            (media, media_rows),
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
            media=len(media_rows),
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

    def message(self, offset: int, chat_id: int, sender: int, media_share: float, kind: str) -> None:
        rng = self.rng
        item = None
        text: str | None = _text(rng, kind)
        if rng.random() < media_share:
            roll = rng.random()
            pool = self.copies if roll < 0.08 else self.files if roll < 0.18 else self.pictures
            item = rng.choice(pool)
            if rng.random() < 0.5:
                text = None
        self.pending.append((offset, len(self.pending), chat_id, self.first_user + sender, text, item))

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
                    self.message(self.later(created), chat_id, rng.choice(pair), 0.1, "private")

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
                    self.message(self.later(created), chat_id, owner, 0.3, kind)
                else:
                    sender = rng.choice(chosen)
                    self.message(self.later(joined[sender]), chat_id, sender, 0.1, kind)

    def media_rows(self) -> tuple[list[dict[str, Any]], dict[int, tuple[int, str]]]:
        """Rows for the media items posted (bytes stored before are reused) and item -> (id, sha256)."""
        used = sorted({item for *_, item in self.pending if item is not None})
        facts = {item: describe(*self.media_items[item]) for item in used}
        wanted = {f.sha256 for f in facts.values()}
        known: dict[str, int] = {
            str(sha): int(media_id)
            for sha, media_id in self.conn.execute(
                select(media.c.sha256, media.c.id).where(media.c.sha256.in_(wanted))
            )
        }
        next_media = _next_id(self.conn, media.c.id)
        rows: list[dict[str, Any]] = []
        ids: dict[int, tuple[int, str]] = {}
        for item in used:
            sha = facts[item].sha256
            if sha not in known:
                known[sha] = next_media
                rows.append(media_row(next_media, self.media_items[item][0], facts[item]))
                next_media += 1
            ids[item] = (known[sha], sha)
        return rows, ids

    def message_rows(self, media_ids: dict[int, tuple[int, str]]) -> list[dict[str, Any]]:
        self.pending.sort()
        first_message = _next_id(self.conn, messages.c.id)
        return [
            {
                "id": first_message + index,
                "chat_id": chat_id,
                "sender_id": sender,
                "sent_at": self.at(offset),
                "text": text,
                "media_sha256": None if item is None else media_ids[item][1],
                "media_id": None if item is None else media_ids[item][0],
                "state": "visible",
                "scope": None,
            }
            for index, (offset, _, chat_id, sender, text, item) in enumerate(self.pending)
        ]
