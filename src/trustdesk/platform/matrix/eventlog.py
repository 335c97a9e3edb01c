"""The Trustdesk Synapse module's own log: every ``m.room.message`` with a sequence number, and every
local upload with its hashes (SQLite, one file, created and migrated on open).

Like `trustdesk.platform.matrix.module`, this file imports only the standard library, so that both can
be copied next to a homeserver that does not have Trustdesk installed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from typing import Any

_MXC = re.compile(r"mxc://(?P<server>[^/]+)/(?P<media>[A-Za-z0-9_\-]+)")
_MEDIA_KINDS = {"m.image": "image", "m.video": "video", "m.file": "file", "m.audio": "file"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT,
    media_id TEXT,
    media_sha256 TEXT,
    redacted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL
);
"""
_MIGRATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "events": (
        ("media_kind", "TEXT"),
        ("media_server", "TEXT"),
        ("chat_type", "TEXT"),
        ("audience", "INTEGER"),
        ("sender_created_ts", "INTEGER"),
    ),
    "media": (
        ("md5", "TEXT"),
        ("mime", "TEXT"),
        ("size", "INTEGER"),
        ("pdq", "TEXT"),
        ("pdq_quality", "INTEGER"),
        ("classifier_scores", "TEXT"),
        ("verdict", "TEXT"),
    ),
}
"""Columns added after the first release: created with ``ALTER TABLE`` when an older log lacks them."""


def message_fields(content: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """``(kind, text, media_id)`` of an ``m.room.message`` content.

    Media (a content with an ``mxc://`` url) carries text only as a caption: a ``body`` beside a
    different ``filename``.
    """
    body = content.get("body")
    text = body if isinstance(body, str) else None
    url = content.get("url")
    match = _MXC.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        return "message", text, None
    filename = content.get("filename")
    caption = text if isinstance(filename, str) and text is not None and text != filename else None
    return "media", caption, match.group("media")


def media_kind(content: Mapping[str, Any]) -> str | None:
    """``image``, ``video`` or ``file`` of a media message (by ``msgtype``), None for text."""
    url = content.get("url")
    if not isinstance(url, str) or not _MXC.fullmatch(url):
        return None
    return _MEDIA_KINDS.get(str(content.get("msgtype")), "file")


class EventLog:
    """The module's own SQLite log (thread-safe; tiny writes, so blocking calls are acceptable)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        for table, columns in _MIGRATIONS.items():
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, sql_type in columns:
                if name not in present:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")

    def record_media(
        self,
        media_id: str,
        sha256: str,
        *,
        md5: str | None = None,
        mime: str | None = None,
        size: int | None = None,
        match: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an upload; ``match`` is Trustdesk's answer (its hashes, scores and verdict), if asked."""
        hashes = (match or {}).get("hashes") or {}
        scores = (match or {}).get("classifier_scores") or None
        pdq = hashes.get("pdq") if isinstance(hashes.get("pdq"), str) else None
        quality = hashes.get("quality") if isinstance(hashes.get("quality"), int) else None
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO media"
                " (media_id, sha256, md5, mime, size, pdq, pdq_quality, classifier_scores, verdict)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    media_id,
                    sha256,
                    md5,
                    mime,
                    size,
                    pdq,
                    quality,
                    None if not isinstance(scores, dict) else json.dumps(scores),
                    None if match is None else match.get("verdict"),
                ),
            )

    def media(self, media_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT sha256, md5, mime, size, pdq, pdq_quality, classifier_scores, verdict"
                " FROM media WHERE media_id = ?",
                (media_id,),
            ).fetchone()
        if row is None:
            return None
        keys = ("sha256", "md5", "mime", "size", "pdq", "pdq_quality", "classifier_scores", "verdict")
        record = dict(zip(keys, row, strict=True))
        record["classifier_scores"] = json.loads(row[6]) if row[6] else {}
        return record

    def media_sha256(self, media_id: str) -> str | None:
        record = self.media(media_id)
        return None if record is None else str(record["sha256"])

    def record_message(
        self,
        *,
        event_id: str,
        room_id: str,
        sender: str,
        ts: int,
        content: Mapping[str, Any],
        chat_type: str | None = None,
        audience: int | None = None,
        sender_created_ts: int | None = None,
    ) -> None:
        kind, text, media_id = message_fields(content)
        sha = None if media_id is None else self.media_sha256(media_id)
        url = content.get("url")
        match = _MXC.fullmatch(url) if isinstance(url, str) else None
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO events"
                " (event_id, room_id, sender, ts, kind, text, media_id, media_sha256, media_kind,"
                " media_server, chat_type, audience, sender_created_ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    room_id,
                    sender,
                    ts,
                    kind,
                    text,
                    media_id,
                    sha,
                    media_kind(content),
                    None if match is None else match.group("server"),
                    chat_type,
                    audience,
                    sender_created_ts,
                ),
            )

    def record_redaction(self, target_event_id: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE events SET redacted = 1 WHERE event_id = ?", (target_event_id,))

    _COLUMNS = (
        ("seq", "e.seq"),
        ("event_id", "e.event_id"),
        ("room_id", "e.room_id"),
        ("sender", "e.sender"),
        ("ts", "e.ts"),
        ("kind", "e.kind"),
        ("text", "e.text"),
        ("media_sha256", "e.media_sha256"),
        ("redacted", "e.redacted"),
        ("chat_type", "e.chat_type"),
        ("audience", "e.audience"),
        ("account_created_ts", "e.sender_created_ts"),
        ("media_kind", "e.media_kind"),
        ("media_id", "e.media_id"),
        ("media_server", "e.media_server"),
        ("media_md5", "m.md5"),
        ("media_mime", "m.mime"),
        ("media_size", "m.size"),
        ("media_pdq", "m.pdq"),
        ("media_pdq_quality", "m.pdq_quality"),
        ("media_classifier_scores", "m.classifier_scores"),
    )

    def _select(self, where: str, params: Iterable[Any]) -> list[dict[str, Any]]:
        columns = ", ".join(source for _, source in self._COLUMNS)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {columns} FROM events e LEFT JOIN media m ON m.media_id = e.media_id {where}",  # noqa: S608 - fixed column list
                tuple(params),
            ).fetchall()
        found = []
        for row in rows:
            record = dict(zip((key for key, _ in self._COLUMNS), row, strict=True))
            scores = record["media_classifier_scores"]
            record["media_classifier_scores"] = json.loads(scores) if scores else {}
            found.append(record)
        return found

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        return self._select("WHERE e.seq > ? ORDER BY e.seq LIMIT ?", (after, limit))

    def event(self, event_id: str) -> dict[str, Any] | None:
        found = self._select("WHERE e.event_id = ?", (event_id,))
        return found[0] if found else None
