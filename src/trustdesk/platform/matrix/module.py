"""A Synapse module that feeds Trustdesk: the content stream and a media block-list.

Load it in ``homeserver.yaml``::

    modules:
      - module: trustdesk.platform.matrix.module.TrustdeskModule
        config:
          database_path: /var/lib/synapse/trustdesk-module.sqlite
          shared_secret: "a long random string, also given to the connector"
          blocked_media_sha256: ["<64 hex>", ...]    # optional
          blocklist_path: /etc/synapse/blocked.sha256  # optional, one hex digest a line, re-read on change

What it does:

* every new ``m.room.message`` event (text or media) is appended to its own SQLite log with a
  monotonically increasing sequence number, the body, the sender, the room and the SHA-256 of the
  referenced media (recorded when the media was uploaded); a redaction marks its target as redacted
  but keeps the logged text, so that removed content stays available to Trustdesk;
* every media upload is hashed; an upload whose SHA-256 is on the block-list is refused (``M_FORBIDDEN``);
* it serves the log at ``GET /_trustdesk/v1/events?after=N&limit=M`` and a media hash at
  ``GET /_trustdesk/v1/media/<media_id>``, both with ``Authorization: Bearer <shared_secret>``.

This file imports only the standard library at module level (Synapse lazily, at load time), so it can be
copied next to a homeserver that does not have Trustdesk installed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
import threading
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MXC = re.compile(r"mxc://(?P<server>[^/]+)/(?P<media>[A-Za-z0-9_\-]+)")
_MAX_LIMIT = 1000

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


def parse_blocklist(text: str) -> frozenset[str]:
    """Lower-case hex SHA-256 digests, one a line; blank lines and ``#`` comments ignored."""
    digests = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip().lower()
        if line:
            if not _HEX64.fullmatch(line):
                raise ValueError(f"not a hex SHA-256 in the block-list: {line!r}")
            digests.add(line)
    return frozenset(digests)


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


class EventLog:
    """The module's own SQLite log (thread-safe; tiny writes, so blocking calls are acceptable)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def record_media(self, media_id: str, sha256: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO media (media_id, sha256) VALUES (?, ?)", (media_id, sha256)
            )

    def media_sha256(self, media_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT sha256 FROM media WHERE media_id = ?", (media_id,)).fetchone()
        return None if row is None else str(row[0])

    def record_message(
        self,
        *,
        event_id: str,
        room_id: str,
        sender: str,
        ts: int,
        content: Mapping[str, Any],
    ) -> None:
        kind, text, media_id = message_fields(content)
        sha = None if media_id is None else self.media_sha256(media_id)
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO events"
                " (event_id, room_id, sender, ts, kind, text, media_id, media_sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (event_id, room_id, sender, ts, kind, text, media_id, sha),
            )

    def record_redaction(self, target_event_id: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE events SET redacted = 1 WHERE event_id = ?", (target_event_id,))

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, event_id, room_id, sender, ts, kind, text, media_sha256, redacted"
                " FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        keys = ("seq", "event_id", "room_id", "sender", "ts", "kind", "text", "media_sha256", "redacted")
        return [dict(zip(keys, row, strict=True)) for row in rows]


class Blocklist:
    """Digests from the config plus an optional file, re-read when its modification time changes."""

    def __init__(self, digests: frozenset[str], path: str | None) -> None:
        self._static = digests
        self._path = Path(path) if path else None
        self._mtime: float | None = None
        self._from_file: frozenset[str] = frozenset()

    def __contains__(self, digest: object) -> bool:
        return digest in self._static or digest in self._file_digests()

    def _file_digests(self) -> frozenset[str]:
        if self._path is None or not self._path.exists():
            return frozenset()
        mtime = self._path.stat().st_mtime
        if mtime != self._mtime:
            self._from_file = parse_blocklist(self._path.read_text(encoding="utf-8"))
            self._mtime = mtime
        return self._from_file


class _Config:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        database_path = raw.get("database_path")
        secret = raw.get("shared_secret")
        if not isinstance(database_path, str) or not database_path:
            raise ValueError("trustdesk module: database_path is required")
        if not isinstance(secret, str) or len(secret) < 16:
            raise ValueError("trustdesk module: shared_secret of at least 16 characters is required")
        blocked = raw.get("blocked_media_sha256") or []
        self.database_path = database_path
        self.shared_secret = secret
        self.blocked = parse_blocklist("\n".join(str(item) for item in blocked))
        blocklist_path = raw.get("blocklist_path")
        self.blocklist_path = str(blocklist_path) if blocklist_path else None


class TrustdeskModule:
    """The Synapse module (see the module docstring for its configuration)."""

    def __init__(self, config: _Config, api: Any) -> None:
        """``api`` is Synapse's ``ModuleApi`` (typed loosely so that Synapse stays optional)."""
        self._api = api
        self._secret = config.shared_secret.encode()
        self.log = EventLog(config.database_path)
        self.blocklist = Blocklist(config.blocked, config.blocklist_path)
        api.register_third_party_rules_callbacks(on_new_event=self.on_new_event)
        api.register_spam_checker_callbacks(check_media_file_for_spam=self.check_media_file_for_spam)
        api.register_web_resource("/_trustdesk/v1", _resource(self))

    @staticmethod
    def parse_config(config: Mapping[str, Any]) -> _Config:
        return _Config(config)

    # -------------------------------------------------------------------------------- callbacks

    async def on_new_event(self, event: Any, *_state: Any) -> None:
        if event.type == "m.room.message" and not event.internal_metadata.is_outlier():
            content = event.content
            if isinstance(content, Mapping):
                self.log.record_message(
                    event_id=event.event_id,
                    room_id=event.room_id,
                    sender=event.sender,
                    ts=int(event.origin_server_ts),
                    content=content,
                )
        elif event.type == "m.room.redaction":
            target = event.redacts or event.content.get("redacts")
            if isinstance(target, str):
                self.log.record_redaction(target)

    async def check_media_file_for_spam(self, file_wrapper: Any, file_info: Any) -> Any:
        codes = import_module("synapse.module_api.errors").Codes
        digest = hashlib.sha256()
        await file_wrapper.write_chunks_to(digest.update)
        sha = digest.hexdigest()
        if sha in self.blocklist:
            return codes.FORBIDDEN
        if getattr(file_info, "server_name", None) is None:  # a local upload (remote media is cached)
            self.log.record_media(str(file_info.file_id), sha)
        return "NOT_SPAM"

    # -------------------------------------------------------------------------------- web

    def authorised(self, header: bytes | None) -> bool:
        if not header or not header.startswith(b"Bearer "):
            return False
        return hmac.compare_digest(header.removeprefix(b"Bearer "), self._secret)


def _resource(module: TrustdeskModule) -> Any:
    resource_class: Any = import_module("twisted.web.resource").Resource

    def render_get(request: Any) -> bytes:
        request.setHeader(b"Content-Type", b"application/json")
        if not module.authorised(request.getHeader(b"Authorization")):
            request.setResponseCode(401)
            return b'{"errcode":"M_UNAUTHORIZED","error":"Trustdesk shared secret required"}'
        path = [part.decode() for part in request.postpath if part]
        try:
            if path == ["events"]:
                after = int(request.args.get(b"after", [b"0"])[0])
                limit = int(request.args.get(b"limit", [b"100"])[0])
                if after < 0 or not 1 <= limit <= _MAX_LIMIT:
                    raise ValueError("after >= 0 and 1 <= limit <= 1000")
                body: Any = {"events": module.log.events(after, limit)}
            elif len(path) == 2 and path[0] == "media":
                body = {"media_id": path[1], "sha256": module.log.media_sha256(path[1])}
            else:
                request.setResponseCode(404)
                return b'{"errcode":"M_NOT_FOUND","error":"no such Trustdesk resource"}'
        except ValueError as exc:
            request.setResponseCode(400)
            return json.dumps({"errcode": "M_INVALID_PARAM", "error": str(exc)}).encode()
        return json.dumps(body).encode()

    def render(request: Any) -> bytes:
        if request.method != b"GET":
            request.setResponseCode(405)
            return b'{"errcode":"M_UNRECOGNIZED","error":"GET only"}'
        return render_get(request)

    resource = resource_class()
    resource.isLeaf = True
    resource.render = render
    return resource
