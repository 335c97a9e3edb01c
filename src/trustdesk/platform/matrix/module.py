"""A Synapse module that feeds Trustdesk: the content stream, upload checks and a media block-list.

Load it in ``homeserver.yaml``::

    modules:
      - module: trustdesk.platform.matrix.module.TrustdeskModule
        config:
          database_path: /var/lib/synapse/trustdesk-module.sqlite
          shared_secret: "a long random string, also given to the connector"
          blocked_media_sha256: ["<64 hex>", ...]    # optional
          blocklist_path: /etc/synapse/blocked.sha256  # optional, one hex digest a line, re-read on change
          trustdesk_url: https://trustdesk.example.org  # optional: check uploads, push new messages
          trustdesk_token: "<the platform service token>"  # required with trustdesk_url
          fail_mode: open                              # or closed; what an upload gets when Trustdesk fails
          timeout_seconds: 5                           # per call to Trustdesk

What it does:

* every new ``m.room.message`` event (text or media) is appended to its own SQLite log with a
  monotonically increasing sequence number, the body, the sender (and when the account was created),
  the room (its chat type from the join rules and joined members: public, group, or private for two
  members; and the joined member count as the audience) and the media's hashes as recorded at upload;
  a redaction marks its target as redacted but keeps the logged text, so that removed content stays
  available to Trustdesk;
* every media upload is hashed (SHA-256, MD5); an upload whose SHA-256 is on the block-list is refused
  (``M_FORBIDDEN``). With ``trustdesk_url`` set, an upload is also sent to Trustdesk's
  ``POST /api/v1/match`` (an image as ``multipart/form-data``, anything else by its hashes) and refused
  when the verdict is ``block``; the PDQ hash, quality and classifier scores Trustdesk returns are kept
  with the upload's record;
* with ``trustdesk_url`` set, each new message is pushed to ``POST /api/v1/content-events`` as a
  content item, in the background with a short retry: the event pipeline never waits for Trustdesk,
  and the log stays the durable copy that the connector polls;
* it serves the log at ``GET /_trustdesk/v1/events?after=N&limit=M``, one message's row of it at
  ``GET /_trustdesk/v1/events/<event_id>`` (404 when not logged) and an upload's record at
  ``GET /_trustdesk/v1/media/<media_id>``, all with ``Authorization: Bearer <shared_secret>``.

``fail_mode``: when Trustdesk cannot be asked (down, slow, an error), ``open`` (the default) lets the
upload through and logs a warning for each one; ``closed`` refuses it. Failing closed makes Trustdesk an
availability dependency of every upload on the homeserver; failing open lets known material through
while Trustdesk is out (the block-list still applies, and the pushed or polled event is scanned later).
Platforms that must never store known CSAM choose ``closed``.

This file and its log (`trustdesk.platform.matrix.eventlog`) import only the standard library at module
level (Synapse lazily, at load time), so the two can be copied next to a homeserver that does not have
Trustdesk installed (as ``trustdesk/platform/matrix/``, with the package's ``__init__.py`` files).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from trustdesk.platform.matrix.eventlog import EventLog

logger = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_LIMIT = 1000
MAX_FILE_CHECK = 16 * 1_048_576
"""Images up to this size are sent to Trustdesk whole; larger uploads and other files by their hashes."""
PUSH_DELAYS = (0.5, 2.0)
"""Seconds between the attempts to push a message to Trustdesk (then the log is the copy)."""
LOCATOR_PREFIX = "matrix://room/"


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


def chat_facts(state: Mapping[Any, Any] | None) -> tuple[str, int]:
    """``(chat_type, audience)`` from a room's current state (keys ``(type, state_key)``, event values).

    ``public`` when the join rule is public; otherwise ``private`` for exactly two joined members and
    ``group`` for any other count. The audience is the number of joined members.
    """
    join_rule = None
    joined = 0
    for key, event in (state or {}).items():
        event_type = key[0] if isinstance(key, tuple) else getattr(event, "type", None)
        content = getattr(event, "content", None) or {}
        if event_type == "m.room.join_rules":
            join_rule = content.get("join_rule")
        elif event_type == "m.room.member" and content.get("membership") == "join":
            joined += 1
    if join_rule == "public":
        return "public", joined
    return ("private" if joined == 2 else "group"), joined


def sniff_image(data: bytes) -> str | None:
    """The MIME type of an image Trustdesk can hash (PNG, JPEG, GIF, WebP), from its magic number."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def multipart(field: str, filename: str, mime: str, data: bytes) -> tuple[str, bytes]:
    """``(content type, body)`` of a ``multipart/form-data`` request carrying one file."""
    boundary = "trustdesk-" + secrets.token_hex(16)
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {mime}\r\n\r\n"
    ).encode()
    return f"multipart/form-data; boundary={boundary}", head + data + f"\r\n--{boundary}--\r\n".encode()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def content_item(row: Mapping[str, Any], platform: str = "synapse") -> dict[str, Any] | None:
    """The Trustdesk content item (``POST /api/v1/content-events``) of a log row, None if it has none.

    A text message without text has nothing to scan and gives None.
    """
    kind = row.get("media_kind") or ("text" if row.get("kind") == "message" else "file")
    text = row.get("text") or None
    if kind == "text" and text is None:
        return None
    item: dict[str, Any] = {
        "platform": platform,
        "event_id": row["event_id"],
        "kind": kind,
        "account_id": row["sender"],
        "chat_id": row["room_id"],
        "chat_type": row.get("chat_type") or "group",
        "audience": int(row.get("audience") or 0),
        "at": _iso(int(row["ts"])),
        "locator": f"{LOCATOR_PREFIX}{row['room_id']}/message/{row['event_id']}",
    }
    if row.get("account_created_ts"):
        item["account_created_at"] = _iso(int(row["account_created_ts"]))
    if text is not None:
        item["text"] = text
    if kind != "text":
        media: dict[str, Any] = {}
        for key, source in (("sha256", "media_sha256"), ("md5", "media_md5"), ("mime_type", "media_mime")):
            if row.get(source):
                media[key] = row[source]
        if row.get("media_pdq"):
            media["pdq"] = [{"hash": row["media_pdq"], "quality": int(row.get("media_pdq_quality") or 0)}]
        if row.get("media_classifier_scores"):
            media["classifier_scores"] = row["media_classifier_scores"]
        item["media"] = media
    return item


class TrustdeskUnavailable(Exception):
    """Trustdesk could not be asked, or answered with an error."""


class TrustdeskClient:
    """Blocking calls to Trustdesk's platform API (run them in a thread: `ModuleApi.defer_to_thread`)."""

    def __init__(self, base_url: str, token: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def _post(self, path: str, body: bytes, content_type: str) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s) in the config
            self.base_url + path, data=body, method="POST"
        )
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise TrustdeskUnavailable(f"Trustdesk answered {exc.code} to {path}") from None
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            raise TrustdeskUnavailable(f"Trustdesk at {self.base_url} is unreachable: {exc}") from None
        try:
            return json.loads(payload) if payload else {}
        except ValueError:
            raise TrustdeskUnavailable(f"Trustdesk answered {path} with something not JSON") from None

    def match(self, data: bytes | None, md5: str, sha256: str) -> dict[str, Any]:
        """``POST /api/v1/match``: an image's bytes (multipart ``file``), or the hashes of anything else."""
        mime = None if data is None else sniff_image(data)
        if data is not None and mime is not None:
            content_type, body = multipart("file", "upload", mime, data)
        else:
            content_type, body = "application/json", json.dumps({"md5": [md5], "sha256": [sha256]}).encode()
        answer = self._post("/api/v1/match", body, content_type)
        if not isinstance(answer, dict) or answer.get("verdict") not in {"block", "review", "allow"}:
            raise TrustdeskUnavailable("Trustdesk's match answer has no verdict")
        return answer

    def push(self, items: list[dict[str, Any]]) -> int:
        """``POST /api/v1/content-events``; the number Trustdesk accepted."""
        answer = self._post(
            "/api/v1/content-events", json.dumps({"items": items}).encode(), "application/json"
        )
        return int(answer.get("accepted", 0)) if isinstance(answer, dict) else 0


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
        url = raw.get("trustdesk_url") or None
        token = raw.get("trustdesk_token") or None
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            raise ValueError("trustdesk module: trustdesk_url must be an http(s) URL")
        if url is not None and not isinstance(token, str):
            raise ValueError("trustdesk module: trustdesk_token is required with trustdesk_url")
        self.trustdesk_url: str | None = url
        self.trustdesk_token: str | None = token if isinstance(token, str) else None
        fail_mode = raw.get("fail_mode", "open")
        if fail_mode not in {"open", "closed"}:
            raise ValueError(f"trustdesk module: fail_mode is open or closed, got {fail_mode!r}")
        self.fail_mode: str = fail_mode
        timeout = raw.get("timeout_seconds", 5)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
            raise ValueError("trustdesk module: timeout_seconds is a number of seconds, 0 < t <= 120")
        self.timeout_seconds = float(timeout)


class TrustdeskModule:
    """The Synapse module (see the module docstring for its configuration)."""

    def __init__(self, config: _Config, api: Any) -> None:
        """``api`` is Synapse's ``ModuleApi`` (typed loosely so that Synapse stays optional)."""
        self._api = api
        self._secret = config.shared_secret.encode()
        self.fail_mode = config.fail_mode
        self.log = EventLog(config.database_path)
        self.blocklist = Blocklist(config.blocked, config.blocklist_path)
        self.client: TrustdeskClient | None = None
        if config.trustdesk_url is not None and config.trustdesk_token is not None:
            self.client = TrustdeskClient(
                config.trustdesk_url, config.trustdesk_token, config.timeout_seconds
            )
        self._created: dict[str, int | None] = {}
        api.register_third_party_rules_callbacks(on_new_event=self.on_new_event)
        api.register_spam_checker_callbacks(check_media_file_for_spam=self.check_media_file_for_spam)
        api.register_web_resource("/_trustdesk/v1", _resource(self))

    @staticmethod
    def parse_config(config: Mapping[str, Any]) -> _Config:
        return _Config(config)

    # -------------------------------------------------------------------------------- callbacks

    async def on_new_event(self, event: Any, state_events: Mapping[Any, Any] | None = None) -> None:
        if event.type == "m.room.message" and not event.internal_metadata.is_outlier():
            content = event.content
            if isinstance(content, Mapping):
                chat_type, audience = chat_facts(state_events)
                self.log.record_message(
                    event_id=event.event_id,
                    room_id=event.room_id,
                    sender=event.sender,
                    ts=int(event.origin_server_ts),
                    content=content,
                    chat_type=chat_type,
                    audience=audience,
                    sender_created_ts=await self._created_ms(event.sender),
                )
                self.push_soon(event.event_id)
        elif event.type == "m.room.redaction":
            target = event.redacts or event.content.get("redacts")
            if isinstance(target, str):
                self.log.record_redaction(target)

    async def _created_ms(self, user_id: str) -> int | None:
        """When the (local) account was created, in ms; cached, it does not change."""
        if user_id not in self._created:
            info = await self._api.get_userinfo_by_id(user_id)
            created = getattr(info, "creation_ts", None) if info is not None else None
            if isinstance(created, int) and created > 0:
                self._created[user_id] = created if created > 100_000_000_000 else created * 1000
            else:
                self._created[user_id] = None
        return self._created[user_id]

    def push_soon(self, event_id: str) -> None:
        """Push the logged event to Trustdesk in the background (fire and forget)."""
        if self.client is None:
            return
        row = self.log.event(event_id)
        item = None if row is None else content_item(row)
        if item is not None:
            self._api.run_as_background_process("trustdesk_push_content_event", self.push, [item])

    async def push(self, items: list[dict[str, Any]]) -> bool:
        """Send ``items`` to Trustdesk, retrying after `PUSH_DELAYS`; False when every attempt failed."""
        if self.client is None:
            return False
        for attempt in range(len(PUSH_DELAYS) + 1):
            try:
                await self._api.defer_to_thread(self.client.push, items)
            except TrustdeskUnavailable as exc:
                if attempt == len(PUSH_DELAYS):
                    logger.warning(
                        "Trustdesk push of %d item(s) failed, left to polling: %s", len(items), exc
                    )
                    return False
                await self._api.sleep(PUSH_DELAYS[attempt])
            else:
                return True
        return False  # pragma: no cover - the loop returns

    async def check_media_file_for_spam(self, file_wrapper: Any, file_info: Any) -> Any:
        codes = import_module("synapse.module_api.errors").Codes
        sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        kept: list[bytes] = []
        size = 0

        def take(chunk: bytes) -> None:
            nonlocal size
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
            if size <= MAX_FILE_CHECK:
                kept.append(chunk)

        await file_wrapper.write_chunks_to(take)
        digest = sha.hexdigest()
        if digest in self.blocklist:
            return codes.FORBIDDEN
        if getattr(file_info, "thumbnail", None) is not None or getattr(file_info, "url_cache", False):
            return "NOT_SPAM"  # derived from media checked already, or a URL preview
        data = b"".join(kept) if size <= MAX_FILE_CHECK else None
        media_id = str(file_info.file_id)
        refuse, match = await self.ask_trustdesk(media_id, data, md5.hexdigest(), digest)
        if refuse:
            return codes.FORBIDDEN
        if getattr(file_info, "server_name", None) is None:  # a local upload (remote media is cached)
            mime = None if data is None else sniff_image(data)
            self.log.record_media(media_id, digest, md5=md5.hexdigest(), mime=mime, size=size, match=match)
        return "NOT_SPAM"

    async def ask_trustdesk(
        self, media_id: str, data: bytes | None, md5: str, sha256: str
    ) -> tuple[bool, dict[str, Any] | None]:
        """``(refuse, Trustdesk's match answer)``: refuse on a ``block`` verdict or when failing closed;
        no answer when Trustdesk is not configured or failed open."""
        if self.client is None:
            return False, None
        try:
            answer = await self._api.defer_to_thread(self.client.match, data, md5, sha256)
        except TrustdeskUnavailable as exc:
            if self.fail_mode == "closed":
                logger.warning(
                    "Trustdesk unavailable, upload %s refused (fail_mode closed): %s", media_id, exc
                )
                return True, None
            logger.warning("Trustdesk unavailable, upload %s allowed (fail_mode open): %s", media_id, exc)
            return False, None
        if answer.get("verdict") == "block":
            logger.info("upload %s refused: Trustdesk's verdict is block", media_id)
            return True, answer
        return False, answer

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
            elif len(path) == 2 and path[0] == "events" and (row := module.log.event(path[1])) is not None:
                body = row
            elif len(path) == 2 and path[0] == "media":
                record = module.log.media(path[1]) or {"sha256": None}
                body = {"media_id": path[1], **record}
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
