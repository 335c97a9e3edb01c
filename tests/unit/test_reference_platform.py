"""The reference platform beyond the contract: generator, retention against holds, storage details."""

import ipaddress
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select
from sqlalchemy.exc import StatementError

from trustdesk.clock import FrozenClock
from trustdesk.platform.protocol import Period, canonical_export, normalise_phone
from trustdesk.platform.reference import (
    ReferencePlatform,
    chat_locator,
    message_locator,
    parse_locator,
)
from trustdesk.platform.reference.store import chats, holds, members, messages, sessions, users
from trustdesk.vocabulary import DataCategory, TargetType

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 15, tzinfo=UTC)
DOC_NETWORKS = [
    ipaddress.ip_network(net)
    for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
FIELDS = {
    DataCategory.SUBSCRIBER: {
        "platform_id", "username", "phone", "email", "display_name", "registered_at", "status",
    },
    DataCategory.IDENTIFICATION: {"session_id", "ip", "port", "at"},
    DataCategory.TRAFFIC: {
        "chat_id", "chat_kind", "role", "counterpart_id", "joined_at", "session_id", "device", "message_id",
        "direction", "at",
    },
    DataCategory.CONTENT: {"message_id", "chat_id", "sent_at", "text", "media_sha256", "locator"},
}  # fmt: skip


def fresh(clock: FrozenClock | None = None, url: str = "sqlite://") -> ReferencePlatform:
    platform = ReferencePlatform(url, clock=clock or FrozenClock(NOW))
    platform.create_schema()
    return platform


@pytest.fixture
def platform() -> Iterator[ReferencePlatform]:
    with fresh() as p:
        yield p


@pytest.fixture(scope="module")
def generated() -> Iterator[ReferencePlatform]:
    with fresh() as p:
        p.generate(300, seed=11, start=START, end=END)
        yield p


def in_doc_range(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in network for network in DOC_NETWORKS)


# ------------------------------------------------------------------------------------------ generator


def test_same_seed_and_size_give_identical_data() -> None:
    with fresh() as one, fresh() as two:
        summary_one = one.generate(150, seed=3, start=START, end=END)
        summary_two = two.generate(150, seed=3, start=START, end=END)

        assert summary_one == summary_two
        assert one.digest() == two.digest()
        everything = Period(START, END)
        for account in ("1", "75", "150"):
            assert canonical_export(one.export(account, DataCategory, everything)) == canonical_export(
                two.export(account, DataCategory, everything)
            )


def test_another_seed_gives_other_data() -> None:
    with fresh() as one, fresh() as two:
        one.generate(150, seed=3, start=START, end=END)
        two.generate(150, seed=4, start=START, end=END)

        assert one.digest() != two.digest()


def test_summary_matches_the_rows(generated: ReferencePlatform) -> None:
    counts = generated.counts()

    assert counts["users"] == 300
    assert 300 <= counts["sessions"] <= 5 * 300
    assert counts["chats"] > 300 // 25
    assert counts["messages"] > counts["chats"]
    with generated.engine.connect() as conn:
        per_user = conn.execute(
            select(func.count()).select_from(sessions).group_by(sessions.c.user_id)
        ).scalars()
        assert set(per_user) <= {1, 2, 3, 4, 5}


def test_generated_users_are_plausible(generated: ReferencePlatform) -> None:
    with generated.engine.connect() as conn:
        rows = conn.execute(select(users)).all()
    phones = [row.phone for row in rows]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"\+[1-9][0-9]{9,14}", phone) for phone in phones)
    assert len({phone[:3] for phone in phones}) >= 5  # several countries
    names = [row.username_key for row in rows if row.username_key is not None]
    assert len(set(names)) == len(names)
    assert all(row.username.lower() == row.username_key for row in rows if row.username is not None)
    assert 0.5 < len(names) / len(rows) < 0.9  # some users have no username
    assert all(
        row.email.endswith(("@example.org", "@example.net", "@example.com")) for row in rows if row.email
    )
    assert all(in_doc_range(row.registration_ip) for row in rows)
    assert all(START <= row.registered_at < END for row in rows)


def test_generated_activity_is_consistent(generated: ReferencePlatform) -> None:
    with generated.engine.connect() as conn:
        registered = {
            row.id: row.registered_at for row in conn.execute(select(users.c.id, users.c.registered_at))
        }
        session_rows = conn.execute(select(sessions)).all()
        joined = {
            (row.chat_id, row.user_id): row for row in conn.execute(select(members, chats.c.kind).join(chats))
        }
        message_rows = conn.execute(select(messages)).all()
        private_sizes = conn.execute(
            select(func.count())
            .select_from(members.join(chats))
            .where(chats.c.kind == "private")
            .group_by(chats.c.id)
        ).scalars()

        assert set(private_sizes) == {2}
    for session in session_rows:
        assert in_doc_range(session.ip)
        assert 1024 <= session.port <= 65535
        assert registered[session.user_id] <= session.at < END
    for message in message_rows:
        membership = joined[message.chat_id, message.sender_id]
        assert membership.joined_at <= message.sent_at < END
        if membership.kind == "channel":
            assert membership.role == "owner"
        assert message.text or message.media_sha256
        assert message.media_sha256 is None or re.fullmatch(r"[0-9a-f]{64}", message.media_sha256)
    ids = [message.id for message in message_rows]
    times = [message.sent_at for message in sorted(message_rows, key=lambda m: m.id)]
    assert times == sorted(times)  # the event stream runs in time order
    assert ids == sorted(ids)
    assert any(message.media_sha256 for message in message_rows)
    assert {row.kind for row in joined.values()} == {"private", "group", "channel"}


def test_generation_continues_after_existing_data(platform: ReferencePlatform) -> None:
    known = platform.add_user(phone="+4915550000001", username="known", registered_at=START)

    summary = platform.generate(50, seed=1, start=START, end=END)

    assert summary.users == 50
    assert platform.counts()["users"] == 51
    account = platform.lookup_account(TargetType.USER_ID, known)
    assert account is not None
    assert account.username == "known"


@pytest.mark.parametrize(
    ("users_", "start", "end", "message"),
    [
        (0, START, END, "at least 1"),
        (10, START.replace(tzinfo=None), END, "aware"),
        (10, START, START + timedelta(minutes=5), "at least an hour"),
        (10, END, START, "at least an hour"),
    ],
)
def test_generate_checks_its_arguments(
    platform: ReferencePlatform, users_: int, start: datetime, end: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        platform.generate(users_, seed=1, start=start, end=end)
    assert platform.counts()["users"] == 0


# ------------------------------------------------------------------------------------------ exports


@settings(max_examples=60, deadline=None)
@given(
    account=st.integers(1, 300),
    categories=st.sets(st.sampled_from(list(DataCategory)), min_size=1),
    start_day=st.integers(0, 364),
    days=st.integers(1, 365),
)
def test_exports_of_generated_accounts_keep_to_categories_and_period(
    generated: ReferencePlatform, account: int, categories: set[DataCategory], start_day: int, days: int
) -> None:
    period = Period(START + timedelta(days=start_day), START + timedelta(days=start_day + days))

    export = generated.export(str(account), categories, period)

    for record in export.records:
        assert record.category in categories
        assert set(record.fields) <= FIELDS[record.category]
        if record.at is not None:
            assert period.contains(record.at)
    if DataCategory.SUBSCRIBER in categories:
        assert len(export.of(DataCategory.SUBSCRIBER)) == 1
    assert all(record.fields.get("chat_id") is None for record in export.records if record.category in {
        DataCategory.SUBSCRIBER, DataCategory.IDENTIFICATION
    })  # fmt: skip


def test_content_export_is_the_accounts_own_messages(generated: ReferencePlatform) -> None:
    with generated.engine.connect() as conn:
        sender = conn.execute(
            select(messages.c.sender_id).group_by(messages.c.sender_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()
        expected = set(conn.execute(select(messages.c.id).where(messages.c.sender_id == sender)).scalars())

    export = generated.export(str(sender), [DataCategory.CONTENT], Period(START, END))

    assert {int(str(record.fields["message_id"])) for record in export.records} == expected


# ------------------------------------------------------------------------------------------ retention


class Scene:
    """Alice and Bob talk privately, Carol and Dave too; everyone logged in long ago and recently."""

    def __init__(self, platform: ReferencePlatform) -> None:
        self.p = platform
        self.old = NOW - timedelta(days=100)
        self.recent = NOW - timedelta(days=5)
        self.alice, self.bob, self.carol, self.dave = (
            platform.add_user(username=name, registered_at=NOW - timedelta(days=365))
            for name in ("alice", "bob", "carol", "dave")
        )
        for user in (self.alice, self.bob, self.carol, self.dave):
            for at in (self.old, self.recent):
                platform.add_session(user, ip="192.0.2.1", port=5000, at=at)
        self.ab = platform.create_chat(
            "private", [self.alice, self.bob], created_at=NOW - timedelta(days=200)
        )
        self.cd = platform.create_chat(
            "private", [self.carol, self.dave], created_at=NOW - timedelta(days=200)
        )
        for chat, first, second in ((self.ab, self.alice, self.bob), (self.cd, self.carol, self.dave)):
            for at in (self.old, self.recent):
                platform.post_message(chat, first, text="from first", sent_at=at)
                platform.post_message(chat, second, text="from second", sent_at=at)
        self.around_old = Period(self.old - timedelta(days=1), self.old + timedelta(days=1))

    def hold(
        self, account: str, *categories: DataCategory, period: Period | None = None, days: int = 60
    ) -> str:
        hold_id = f"h-{account}-{'-'.join(categories)}"
        self.p.place_hold(hold_id, account, categories, period or self.around_old, NOW + timedelta(days=days))
        return hold_id

    def sessions_of(self, account: str) -> list[datetime]:
        with self.p.engine.connect() as conn:
            return list(
                conn.execute(
                    select(sessions.c.at).where(sessions.c.user_id == int(account)).order_by(sessions.c.at)
                ).scalars()
            )

    def messages_by(self, account: str) -> list[datetime]:
        with self.p.engine.connect() as conn:
            return list(
                conn.execute(
                    select(messages.c.sent_at)
                    .where(messages.c.sender_id == int(account))
                    .order_by(messages.c.sent_at)
                ).scalars()
            )

    def retain(self, now: datetime = NOW) -> tuple[int, int, int, int]:
        report = self.p.run_retention(now, timedelta(days=30))
        return report.sessions_deleted, report.messages_deleted, report.sessions_held, report.messages_held


@pytest.fixture
def scene(platform: ReferencePlatform) -> Scene:
    return Scene(platform)


def test_retention_deletes_old_rows_without_holds(scene: Scene) -> None:
    assert scene.retain() == (4, 4, 0, 0)

    for user in (scene.alice, scene.bob, scene.carol, scene.dave):
        assert scene.sessions_of(user) == [scene.recent]
    assert scene.messages_by(scene.alice) == [scene.recent]
    assert scene.p.counts()["messages"] == 4


def test_identification_hold_keeps_the_accounts_sessions_only(scene: Scene) -> None:
    scene.hold(scene.alice, DataCategory.IDENTIFICATION)

    assert scene.retain() == (3, 4, 1, 0)

    assert scene.sessions_of(scene.alice) == [scene.old, scene.recent]
    assert scene.sessions_of(scene.bob) == [scene.recent]
    assert scene.messages_by(scene.alice) == [scene.recent]


def test_content_hold_keeps_the_accounts_own_messages(scene: Scene) -> None:
    scene.hold(scene.alice, DataCategory.CONTENT)

    assert scene.retain() == (4, 3, 0, 1)

    assert scene.messages_by(scene.alice) == [scene.old, scene.recent]
    assert scene.messages_by(scene.bob) == [scene.recent]


def test_traffic_hold_keeps_both_sides_of_private_chats_and_nothing_else(scene: Scene) -> None:
    scene.hold(scene.bob, DataCategory.TRAFFIC)

    assert scene.retain() == (3, 2, 1, 2)

    assert scene.sessions_of(scene.bob) == [scene.old, scene.recent]  # devices are traffic
    assert scene.messages_by(scene.alice) == [scene.old, scene.recent]  # what Bob received
    assert scene.messages_by(scene.bob) == [scene.old, scene.recent]
    assert scene.messages_by(scene.carol) == [scene.recent]  # another private chat
    assert scene.messages_by(scene.dave) == [scene.recent]


def test_subscriber_hold_keeps_no_activity(scene: Scene) -> None:
    scene.hold(scene.alice, DataCategory.SUBSCRIBER)

    assert scene.retain() == (4, 4, 0, 0)


def test_hold_outside_the_period_keeps_nothing(scene: Scene) -> None:
    scene.hold(scene.alice, *DataCategory, period=Period(scene.old + timedelta(days=2), scene.recent))

    assert scene.retain() == (4, 4, 0, 0)


def test_release_lets_retention_proceed(scene: Scene) -> None:
    hold_id = scene.hold(scene.alice, *DataCategory)
    assert scene.retain() == (3, 2, 1, 2)  # Alice's and what Alice received from Bob

    scene.p.release_hold(hold_id)

    assert scene.retain() == (1, 2, 0, 0)
    assert scene.sessions_of(scene.alice) == [scene.recent]


def test_expiry_lets_retention_proceed(scene: Scene) -> None:
    hold_id = scene.hold(scene.alice, *DataCategory, days=10)
    assert scene.retain(NOW + timedelta(days=9)) == (3, 2, 1, 2)

    assert scene.retain(NOW + timedelta(days=10)) == (1, 2, 0, 0)

    assert scene.messages_by(scene.alice) == [scene.recent]
    with scene.p.engine.connect() as conn:  # the lapsed hold stays on record until released
        assert conn.execute(select(holds.c.hold_id)).scalars().all() == [hold_id]


def test_snapshot_outlives_the_data(scene: Scene) -> None:
    hold = scene.p.place_hold(
        "sealed", scene.alice, [DataCategory.CONTENT], scene.around_old, NOW + timedelta(days=1)
    )
    scene.retain(NOW + timedelta(days=2))

    assert scene.messages_by(scene.alice) == [scene.recent]
    assert hold.snapshot_intact()
    assert b"from first" in hold.snapshot


@pytest.mark.parametrize(
    ("now", "max_age", "message"),
    [
        (NOW, timedelta(0), "positive"),
        (NOW, timedelta(days=-1), "positive"),
        (NOW.replace(tzinfo=None), timedelta(days=1), "aware"),
    ],
)
def test_retention_checks_its_arguments(
    scene: Scene, now: datetime, max_age: timedelta, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        scene.p.run_retention(now, max_age)
    assert scene.p.counts()["sessions"] == 8


# ------------------------------------------------------------------------------------------ storage


def test_timestamps_come_back_aware_and_naive_ones_are_refused(platform: ReferencePlatform) -> None:
    user = platform.add_user(phone="+4915550000001", registered_at=datetime(2025, 6, 1, 14, 0, tzinfo=UTC))
    account = platform.lookup_account(TargetType.USER_ID, user)
    assert account is not None
    assert account.created_at == datetime(2025, 6, 1, 14, 0, tzinfo=UTC)
    assert account.created_at.tzinfo is UTC

    with pytest.raises(ValueError, match="aware"):
        platform.add_session(user, ip="192.0.2.1", port=1, at=datetime(2025, 6, 1))  # noqa: DTZ001
    with platform.engine.begin() as conn, pytest.raises(StatementError, match="naive"):
        conn.execute(
            insert(sessions).values(id=1, user_id=int(user), ip="192.0.2.1", port=1, at=datetime(2025, 6, 1))  # noqa: DTZ001
        )


def test_file_database_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    with fresh(url=url) as first:
        user = first.add_user(username="persistent")

    with ReferencePlatform(url, clock=FrozenClock(NOW)) as second:
        account = second.lookup_account(TargetType.USERNAME, "@Persistent")

    assert account is not None
    assert account.platform_id == user


def test_taken_phone_or_username_is_refused(platform: ReferencePlatform) -> None:
    platform.add_user(phone="+4915550000001", username="Alice")

    with pytest.raises(ValueError, match="taken"):
        platform.add_user(phone="+49 1555 0000001")
    with pytest.raises(ValueError, match="taken"):
        platform.add_user(username="ALICE")
    with pytest.raises(ValueError, match=r"E\.164"):
        platform.add_user(phone="12345")
    assert platform.counts()["users"] == 1


def test_posting_rules(platform: ReferencePlatform) -> None:
    owner, reader, stranger = (platform.add_user(username=name) for name in ("owner", "reader", "stranger"))
    channel = platform.create_chat("channel", [owner, reader])

    assert parse_locator(platform.post_message(channel, owner, text="news")) is not None
    with pytest.raises(ValueError, match="owner"):
        platform.post_message(channel, reader, text="may I?")
    with pytest.raises(ValueError, match="member"):
        platform.post_message(channel, stranger, text="let me in")
    with pytest.raises(ValueError, match="text or a media"):
        platform.post_message(channel, owner)
    with pytest.raises(ValueError, match="SHA-256"):
        platform.post_message(channel, owner, media_sha256="ABC")
    with pytest.raises(ValueError, match="two members"):
        platform.create_chat("private", [owner, reader, stranger])
    assert platform.counts()["messages"] == 1


def test_chat_locator_lookup_finds_the_owner(platform: ReferencePlatform) -> None:
    owner, reader = (platform.add_user(username=name) for name in ("owner", "reader"))
    group = platform.create_chat("group", [owner, reader])
    private = platform.create_chat("private", [owner, reader])

    found = platform.lookup_account(TargetType.CONTENT_URL, chat_locator(group))

    assert found is not None
    assert found.platform_id == owner
    assert platform.lookup_account(TargetType.CONTENT_URL, chat_locator(private)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+4915550000001", "+4915550000001"),
        ("0049 155 5000-0001", "+4915550000001"),
        ("+1 (512) 555-0100", "+15125550100"),
        ("4915550000001", None),
        ("+0155", None),
        ("+49155500000011234", None),
        ("call me", None),
    ],
)
def test_normalise_phone(value: str, expected: str | None) -> None:
    assert normalise_phone(value) == expected


def test_locators_round_trip() -> None:
    assert parse_locator(message_locator(12, 345)) == (12, 345)
    assert parse_locator(chat_locator("12")) == (12, None)
    for bad in ("ref://chat/0", "ref://chat/12/message/", "ref://chat/-1", "https://example.org/12", ""):
        assert parse_locator(bad) is None
