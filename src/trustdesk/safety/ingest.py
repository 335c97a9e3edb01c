"""Ingest: read the platform's content stream through its connector and put each event on the bus.

The platform's module may push events itself (``POST /api/v1/content-events``); this loop is the
durable path that needs nothing from the platform but its stream: it resumes from the stored cursor,
publishes a batch, then advances the cursor — so an event is published at least once, and the
scanner's idempotency makes it act once.
"""

import base64
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from trustdesk.clock import Clock
from trustdesk.db import unit_of_work
from trustdesk.platform.protocol import ContentEvent, PlatformConnector
from trustdesk.safety.events import MAX_INLINE_MEDIA, ContentItem, EventError, Media, PdqHash, item_from_json
from trustdesk.safety.models import IngestCursor
from trustdesk.safety.vocabulary import ChatType, ContentKind

log = logging.getLogger(__name__)

BATCH = 500


def to_item(platform: str, event: ContentEvent) -> ContentItem:
    """The scanner's view of a platform event; `EventError` when it cannot be scanned."""
    kind = ContentKind.TEXT
    media = None
    if event.kind == "media":
        kind = ContentKind(event.media_kind or "file")
        data = event.media_data if event.media_data and len(event.media_data) <= MAX_INLINE_MEDIA else None
        media = Media(
            md5=event.media_md5,
            sha256=event.media_sha256,
            pdq=tuple(PdqHash(hash=h, quality=q) for h, q in event.media_pdq),
            data_b64=base64.b64encode(data).decode() if data else None,
        )
    document = {
        "platform": platform,
        "event_id": event.event_id,
        "kind": kind,
        "account_id": event.account_id,
        "chat_id": event.chat_id,
        "chat_type": event.chat_type or ChatType.GROUP,
        "audience": event.audience or 0,
        "at": event.at,
        "account_created_at": event.account_created_at,
        "locator": event.locator,
        "text": event.text,
        "media": media,
    }
    return item_from_json(document)


def ingest_once(
    sessions: sessionmaker[Session],
    clock: Clock,
    connector: PlatformConnector,
    publish: Callable[[ContentItem], None],
    *,
    limit: int = BATCH,
) -> int:
    """Publish the next batch of the platform's content stream; returns how many events it read."""
    with sessions() as session:
        state = session.get(IngestCursor, connector.name)
        after = state.cursor if state else None
    events = connector.content_events(after=after, limit=limit)
    if not events:
        return 0
    for event in events:
        try:
            publish(to_item(connector.name, event))
        except EventError as exc:
            log.warning("content event %s not scannable: %s", event.event_id, exc)
    with unit_of_work(sessions) as session:
        _advance(session, connector.name, events[-1].cursor, len(events), clock())
    return len(events)


def _advance(session: Session, platform: str, cursor: str, count: int, now: datetime) -> None:
    state = session.get(IngestCursor, platform, with_for_update=True)
    if state is None:
        session.add(IngestCursor(platform=platform, cursor=cursor, events=count, updated_at=now))
    else:
        state.cursor, state.events, state.updated_at = cursor, state.events + count, now


def run_ingest(
    sessions: sessionmaker[Session],
    clock: Clock,
    connector: PlatformConnector,
    publish: Callable[[ContentItem], None],
    *,
    interval: float,
    stop: threading.Event,
) -> None:
    """Follow the stream until ``stop``: drain it, then look again every ``interval`` seconds."""
    while not stop.is_set():
        try:
            while ingest_once(sessions, clock, connector, publish) and not stop.is_set():
                pass
        except Exception:
            log.exception("content ingest failed; retrying in %.1f s", interval)
        stop.wait(interval)
