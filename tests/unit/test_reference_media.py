"""The reference platform's media: uploads with hashes, the content stream's details, generated pictures."""

import csv
import hashlib
import io
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, inspect, select, text

from tests.contract.conftest import MEDIA
from trustdesk.clock import FrozenClock
from trustdesk.platform.protocol import CONTENT_EVENT_DETAILS, INLINE_MEDIA_LIMIT, ContentEvent
from trustdesk.platform.reference import ReferencePlatform, known_demo_images
from trustdesk.platform.reference.media import describe, media_kind, pdq_of, sniff_mime
from trustdesk.platform.reference.pictures import altered_copy, random_picture
from trustdesk.platform.reference.store import ALL_TABLES, media, messages, metadata

NOW = datetime(2026, 1, 15, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
PDQ_DATA = Path("/work/shared/testdata/pdq")
MATCH = 31


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@pytest.fixture
def platform() -> Iterator[ReferencePlatform]:
    with ReferencePlatform("sqlite://", clock=FrozenClock(NOW)) as p:
        p.create_schema()
        yield p


@pytest.fixture(scope="module")
def generated() -> Iterator[ReferencePlatform]:
    with ReferencePlatform("sqlite://", clock=FrozenClock(NOW)) as p:
        p.create_schema()
        p.generate(300, seed=11, start=START, end=END)
        yield p


def stream(platform: ReferencePlatform) -> list[ContentEvent]:
    events: list[ContentEvent] = []
    cursor = None
    while batch := platform.content_events(after=cursor, limit=1000):
        events.extend(batch)
        cursor = batch[-1].cursor
    return events


# ------------------------------------------------------------------------------------------ hashing


def test_pdq_agrees_with_the_reference_implementation() -> None:
    if not (PDQ_DATA / "expected.csv").exists():
        pytest.skip("the PDQ conformance data is not here")
    with (PDQ_DATA / "expected.csv").open() as handle:
        expected = {row["path"]: (row["pdq_hex"], int(row["tolerance"])) for row in csv.DictReader(handle)}
    path = "images/misc/c.png"
    found = pdq_of((PDQ_DATA / path).read_bytes())

    assert found is not None
    assert re.fullmatch(r"[0-9a-f]{64}", found[0])
    assert distance(found[0], expected[path][0]) <= 10  # implementations agree within a few bits
    assert found[1] >= 90


@pytest.mark.parametrize(
    ("data", "mime", "kind"),
    [
        (MEDIA, "image/png", "image"),
        (b"\xff\xd8\xff\xe0rest", "image/jpeg", "image"),
        (b"GIF89a....", "image/gif", "image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", "image"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4", "video"),
        (b"%PDF-1.7", "application/pdf", "file"),
        (b"just text", "application/octet-stream", "file"),
    ],
)
def test_sniff_mime_and_kind(data: bytes, mime: str, kind: str) -> None:
    assert sniff_mime(data) == mime
    assert media_kind(mime) == kind


def test_describe_an_upload() -> None:
    facts = describe(MEDIA)

    assert facts.sha256 == hashlib.sha256(MEDIA).hexdigest()
    assert facts.md5 == hashlib.md5(MEDIA, usedforsecurity=False).hexdigest()
    assert (facts.mime, facts.kind, facts.size) == ("image/png", "image", len(MEDIA))
    assert facts.pdq is not None
    assert facts.pdq_quality is not None
    assert describe(b"%PDF-1.7 text").pdq is None
    assert describe(b"\x89PNG\r\n\x1a\n broken").pdq is None  # not readable: no PDQ, still stored
    with pytest.raises(ValueError, match="byte"):
        describe(b"")
    with pytest.raises(ValueError, match="MIME"):
        describe(b"x", "nonsense")


# ------------------------------------------------------------------------------------------ uploads


def test_an_uploaded_image_travels_with_its_details(platform: ReferencePlatform) -> None:
    alice = platform.add_user(phone="+4915550000001", registered_at=NOW - timedelta(days=3))
    bob = platform.add_user(phone="+4915550000002")
    chat = platform.create_chat("private", [alice, bob])

    locator = platform.post_message(chat, alice, media=MEDIA, text="look")
    platform.post_message(chat, bob, text="nice")

    image, text = stream(platform)
    assert image.locator == locator
    assert (image.kind, image.media_kind, image.text) == ("media", "image", "look")
    assert image.media_sha256 == hashlib.sha256(MEDIA).hexdigest()
    assert image.media_md5 == hashlib.md5(MEDIA, usedforsecurity=False).hexdigest()
    assert image.media_pdq == ((describe(MEDIA).pdq, describe(MEDIA).pdq_quality),)
    assert image.media_data == MEDIA
    assert (image.chat_type, image.audience) == ("private", 2)
    assert image.account_created_at == NOW - timedelta(days=3)
    assert (text.kind, text.media_kind, text.media_md5, text.media_pdq, text.media_data) == (
        "message",
        None,
        None,
        (),
        None,
    )
    assert platform.content_event_details == CONTENT_EVENT_DETAILS


def test_the_same_bytes_are_stored_once(platform: ReferencePlatform) -> None:
    alice = platform.add_user(phone="+4915550000001")
    chat = platform.create_chat("group", [alice])

    platform.post_message(chat, alice, media=MEDIA)
    platform.post_message(chat, alice, media=MEDIA)

    assert platform.counts()["media"] == 1
    assert len({event.media_sha256 for event in stream(platform)}) == 1


def test_chat_kinds_give_chat_types_and_audiences(platform: ReferencePlatform) -> None:
    people = [platform.add_user(phone=f"+49155500000{i:02d}") for i in range(12)]
    channel = platform.create_chat("channel", people)
    group = platform.create_chat("group", people[:5])

    platform.post_message(channel, people[0], text="news for subscribers")
    platform.post_message(group, people[1], text="hi group")

    assert [(e.chat_type, e.audience) for e in stream(platform)] == [("public", 12), ("group", 5)]


def test_files_and_large_images_carry_no_bytes(platform: ReferencePlatform) -> None:
    alice = platform.add_user(phone="+4915550000001")
    chat = platform.create_chat("group", [alice])
    noise = Image.frombytes("RGB", (700, 700), random.Random(1).randbytes(700 * 700 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    large = buffer.getvalue()
    assert len(large) > INLINE_MEDIA_LIMIT

    platform.post_message(chat, alice, media=b"%PDF-1.7 minutes")
    platform.post_message(chat, alice, media=large)
    platform.post_message(chat, alice, media_sha256="a" * 64)  # a bare hash: nothing else is known

    pdf, big, bare = stream(platform)
    assert (pdf.media_kind, pdf.media_pdq, pdf.media_data) == ("file", (), None)
    assert pdf.media_md5 is not None
    assert big.media_kind == "image"
    assert big.media_pdq
    assert big.media_data is None
    assert (bare.media_kind, bare.media_md5, bare.media_data) == ("file", None, None)


def test_post_message_takes_bytes_or_a_hash(platform: ReferencePlatform) -> None:
    alice = platform.add_user(phone="+4915550000001")
    chat = platform.create_chat("group", [alice])

    with pytest.raises(ValueError, match="not both"):
        platform.post_message(chat, alice, media=MEDIA, media_sha256="a" * 64)
    with pytest.raises(ValueError, match="byte"):
        platform.post_message(chat, alice, media=b"")
    assert platform.counts()["messages"] == 0


def test_retention_drops_uploads_with_their_last_message(platform: ReferencePlatform) -> None:
    alice = platform.add_user(phone="+4915550000001", registered_at=NOW - timedelta(days=400))
    chat = platform.create_chat("group", [alice], created_at=NOW - timedelta(days=400))
    platform.post_message(chat, alice, media=MEDIA, sent_at=NOW - timedelta(days=300))
    platform.post_message(chat, alice, media=b"%PDF-1.7 kept", sent_at=NOW - timedelta(days=1))

    platform.run_retention(NOW, timedelta(days=180))

    with platform.engine.connect() as conn:
        assert list(conn.execute(select(media.c.mime))) == [("application/pdf",)]


# ------------------------------------------------------------------------------------------ pictures


def test_known_demo_images_are_fixed_and_trustworthy() -> None:
    known = known_demo_images()

    assert known is known_demo_images()
    assert len(known) == 4
    assert len({image.sha256 for image in known}) == 4
    for image in known:
        assert image.pdq_quality >= 90
        assert (image.pdq, image.pdq_quality) == pdq_of(image.data)
        assert image.sha256 == hashlib.sha256(image.data).hexdigest()
    assert min(distance(a.pdq, b.pdq) for a in known for b in known if a is not b) > 3 * MATCH


def test_altered_copies_match_their_original_and_nothing_else() -> None:
    rng = random.Random(5)
    for original in known_demo_images():
        for _ in range(5):
            copy = altered_copy(original.data, rng)
            found = pdq_of(copy)
            assert found is not None
            assert hashlib.sha256(copy).hexdigest() != original.sha256
            assert distance(found[0], original.pdq) <= MATCH
            others = [k for k in known_demo_images() if k is not original]
            assert all(distance(found[0], other.pdq) > MATCH for other in others)


def test_random_pictures_are_deterministic_and_far_from_the_known_ones() -> None:
    one, two = random.Random(9), random.Random(9)
    pictures = [random_picture(one) for _ in range(40)]

    assert pictures == [random_picture(two) for _ in range(40)]
    for data, mime in pictures:
        assert sniff_mime(data) == mime
        found = pdq_of(data)
        assert found is not None
        assert all(distance(found[0], known.pdq) > MATCH for known in known_demo_images())


# ------------------------------------------------------------------------------------------ generator


def test_generated_data_has_images_files_and_copies_of_known_images(generated: ReferencePlatform) -> None:
    events = stream(generated)
    media_events = [event for event in events if event.kind == "media"]
    kinds = {event.media_kind for event in media_events}
    known = known_demo_images()

    assert kinds == {"image", "file"}
    assert all(event.media_md5 for event in media_events)
    images = [event for event in media_events if event.media_kind == "image"]
    assert all(event.media_pdq and event.media_data for event in images)
    copies = [
        event for event in images if any(distance(event.media_pdq[0][0], k.pdq) <= MATCH for k in known)
    ]
    assert copies, "some generated images are altered copies of the known ones"
    assert len(copies) < len(images) / 3
    assert not {event.media_sha256 for event in copies} & {k.sha256 for k in known}
    assert all(event.media_md5 not in {k.md5 for k in known} for event in copies)
    with generated.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(media)).scalar_one()
        referenced = conn.execute(
            select(func.count(func.distinct(messages.c.media_id))).where(messages.c.media_id.is_not(None))
        ).scalar_one()
    assert stored == referenced


def test_generated_texts_include_what_the_starter_rules_catch(generated: ReferencePlatform) -> None:
    events = stream(generated)
    texts = [event.text for event in events if event.text]
    scams = [
        t for t in texts if re.search(r"send [0-9.]+ (BTC|ETH).*get [0-9.]+ (BTC|ETH) back", t, re.IGNORECASE)
    ]
    phishing = [t for t in texts if re.search(r"verify your account at https?://", t, re.IGNORECASE)]
    phones = [
        event
        for event in events
        if event.text and re.search(r"\+(44 7700 900|1 202 555 01)[0-9]", event.text)
    ]

    assert scams
    assert phishing
    assert phones
    assert all(event.chat_type == "public" for event in phones)
    assert len(scams) + len(phishing) + len(phones) < len(texts) / 10  # plenty of benign messages
    assert {event.chat_type for event in events} == {"public", "group", "private"}
    assert all(event.account_created_at is not None and event.audience for event in events)


def test_generation_after_existing_media_reuses_the_stored_bytes(platform: ReferencePlatform) -> None:
    platform.generate(40, seed=2, start=START, end=END)
    before = platform.counts()["media"]

    platform.generate(40, seed=2, start=START, end=END)  # the same pictures again

    assert platform.counts()["media"] == before


def test_a_store_from_before_uploads_gains_the_media_column() -> None:
    with ReferencePlatform("sqlite://", clock=FrozenClock(NOW)) as platform:
        with platform.engine.begin() as conn:
            metadata.create_all(conn, tables=[table for table in ALL_TABLES if table is not messages])
            conn.execute(
                text(
                    "CREATE TABLE messages (id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL,"
                    " sender_id INTEGER NOT NULL, sent_at DATETIME NOT NULL, text TEXT,"
                    " media_sha256 VARCHAR(64), state VARCHAR(16) NOT NULL, scope VARCHAR(1024))"
                )
            )

        platform.create_schema()

        with platform.engine.connect() as conn:
            assert "media_id" in {column["name"] for column in inspect(conn).get_columns("messages")}
        alice = platform.add_user(phone="+4915550000001")
        platform.post_message(platform.create_chat("group", [alice]), alice, media=MEDIA)
        assert stream(platform)[0].media_kind == "image"
