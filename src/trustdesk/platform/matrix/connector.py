"""`PlatformConnector` over a Matrix Synapse homeserver (admin API + client-server API).

The connector holds a server admin's access token. Platform ids are Matrix user ids
(``@alice:example.org``), chat ids are room ids, content locators are
``matrix://room/<room_id>/message/<event_id>`` for a message and ``matrix://room/<room_id>`` for a room.

What Synapse cannot do, the connector says with capability flags instead of pretending:

* ``supports_geo_restriction`` is False: Matrix has no per-country visibility;
  `RemovalAction.GEO_RESTRICT` checks its arguments, then raises `PlatformError`.

Restore works although Synapse cannot undo a removal (a redaction strips the event for good, a shut-down
room stays shut): before redacting, the connector keeps the event's content in its state; RESTORE
republishes it on the author's behalf (an admin login as the user) with a visible marker in the body and
``org.trustdesk.restored`` naming the original event in the content (`RestoreMethod.REPUBLISHED`). A
removed room is restored as a replacement room with its former members and its messages republished.

Holds (sealed snapshots) and the reasons of account actions are kept by the connector (in memory, or in
a JSON file under ``state_dir``): Synapse has no such notion. The content stream is read from the
Trustdesk Synapse module (`trustdesk.platform.matrix.module`); see ``docs/matrix.md``.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from trustdesk.clock import Clock
from trustdesk.platform.matrix.records import account_of, created_at, record, subscriber_record
from trustdesk.platform.matrix.state import ActionRecord, Preserved, load_preserved, load_state, save_state
from trustdesk.platform.matrix.stream import (
    CONTENT_EVENT_DETAILS,
    LOCATOR_PREFIX,
    MXC,
    event_from_row,
    from_ms,
    inline_media,
    iso,
    message_fields,
    message_locator,
    parse_locator,
    room_locator,
)
from trustdesk.platform.protocol import (
    INLINE_MEDIA_LIMIT,
    Account,
    AccountAction,
    AccountNotFound,
    AccountStatus,
    ContentEvent,
    ContentNotFound,
    Export,
    ExportRecord,
    Hold,
    HoldConflict,
    HoldExpired,
    HoldNotFound,
    Period,
    PlatformError,
    RemovalAction,
    RemovalResult,
    RestoreMethod,
    canonical_export,
    normalise_categories,
    normalise_country_codes,
    normalise_phone,
    parse_cursor,
    record_order,
    require_aware,
    sha256_hex,
)
from trustdesk.vocabulary import DataCategory, TargetType

__all__ = [
    "LOCATOR_PREFIX",
    "RESTORED_FIELD",
    "RESTORED_MARKER",
    "MatrixConnector",
    "message_locator",
    "parse_locator",
    "restored_content",
    "room_locator",
]

_USER_ID = re.compile(r"@(?P<local>[a-z0-9._=\-/+]+):(?P<server>[A-Za-z0-9.\-:\[\]]+)")
_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
_MAX_HOLD_ID = 128
_PAGE = 1000
_LOGIN_VALIDITY_MS = 300_000
RESTORED_FIELD = "org.trustdesk.restored"
"""The content field of a republished event: ``{"event_id": <the original event>, "room_id": ...}``."""
RESTORED_MARKER = "[Restored by the platform after review]"
"""The visible marker a republished message carries, after its text (or as the caption of media)."""


def _redacted(event: Mapping[str, Any]) -> bool:
    return "redacted_because" in event.get("unsigned", {}) or not event.get("content")


def restored_content(content: Mapping[str, Any], room_id: str, event_id: str) -> dict[str, Any]:
    """The content that republishes ``content`` (of ``event_id``), marked as restored.

    Text gets `RESTORED_MARKER` after it; media keeps its file name and gets the marker as its caption
    (after any caption it had). An edit comes back as a message of its own with the edited content (as
    an edit it would replace the redacted original). Republishing a republished event names the first
    original, once.
    """
    clean = dict(content)
    relation = clean.get("m.relates_to")
    edit = isinstance(relation, Mapping) and relation.get("rel_type") == "m.replace"
    if edit and isinstance(clean.get("m.new_content"), Mapping):  # comes back as the edited message
        clean = {**clean["m.new_content"], RESTORED_FIELD: clean.get(RESTORED_FIELD)}
    prior = clean.pop(RESTORED_FIELD, None)
    if isinstance(prior, Mapping) and prior.get("event_id"):
        room_id, event_id = str(prior.get("room_id") or room_id), str(prior["event_id"])
    body = clean.get("body")
    text = body.removesuffix(RESTORED_MARKER).rstrip() if isinstance(body, str) else ""
    if isinstance(clean.get("url"), str):  # media: the body is the file name unless there is a caption
        filename = clean.get("filename") if isinstance(clean.get("filename"), str) else text
        clean["filename"] = filename
        text = "" if text == filename else text
    clean["body"] = f"{text}\n\n{RESTORED_MARKER}" if text else RESTORED_MARKER
    if isinstance(clean.get("formatted_body"), str):
        formatted = clean["formatted_body"].removesuffix(f"<p><em>{RESTORED_MARKER}</em></p>")
        clean["formatted_body"] = f"{formatted}<p><em>{RESTORED_MARKER}</em></p>"
    clean[RESTORED_FIELD] = {"event_id": event_id, "room_id": room_id}
    return clean


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class _HttpError(PlatformError):
    def __init__(self, status: int, errcode: str, message: str) -> None:
        super().__init__(f"Synapse answered {status} {errcode}: {message}")
        self.status = status
        self.errcode = errcode


class MatrixConnector:
    """A Synapse homeserver as Trustdesk's platform."""

    name: str = "synapse"
    supports_geo_restriction: bool = False
    """Matrix has no per-country visibility of events or rooms."""
    content_event_details: frozenset[str] = CONTENT_EVENT_DETAILS
    """Filled from the Trustdesk module's log; ``media_pdq`` too when the module asks Trustdesk."""

    def __init__(
        self,
        base_url: str,
        admin_token: str,
        *,
        clock: Clock,
        server_name: str | None = None,
        module_secret: str | None = None,
        state_dir: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not admin_token:
            raise ValueError("an admin access token is required")
        self._base = base_url.rstrip("/")
        self._token = admin_token
        self._clock = clock
        self._module_secret = module_secret
        self._timeout = timeout
        self._lock = threading.RLock()
        self._state_file = None if state_dir is None else Path(state_dir) / "matrix-connector-state.json"
        self._holds: dict[str, Hold] = {}
        self._actions: list[ActionRecord] = []
        self._preserved: dict[str, Preserved] = {}
        self._txn = 0
        self._admin_id: str | None = None
        self._server_name = server_name
        self._load_state()

    # ------------------------------------------------------------------------------ basics

    def now(self) -> datetime:
        return require_aware(self._clock(), "clock()")

    @property
    def admin_user_id(self) -> str:
        if self._admin_id is None:
            self._admin_id = str(self._call("GET", "/_matrix/client/v3/account/whoami")["user_id"])
        return self._admin_id

    @property
    def server_name(self) -> str:
        if self._server_name is None:
            self._server_name = self.admin_user_id.split(":", 1)[1]
        return self._server_name

    def account_actions(self, account_id: str) -> list[tuple[AccountAction, str, datetime]]:
        """The actions Trustdesk took on the account with their reasons (Synapse keeps no reasons)."""
        with self._lock:
            return [(a.action, a.reason, a.at) for a in self._actions if a.account_id == account_id]

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str | int] | None = None,
        token: str | None = None,
        raw: bool = False,
    ) -> Any:
        url = self._base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) checked
        request.add_header("Authorization", f"Bearer {token or self._token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            try:
                detail = json.loads(text)
            except ValueError:
                detail = {}
            errcode = str(detail.get("errcode", "")) if isinstance(detail, dict) else ""
            error = str(detail.get("error", text[:200])) if isinstance(detail, dict) else text[:200]
            raise _HttpError(exc.code, errcode, error) from None
        except OSError as exc:
            raise PlatformError(f"Synapse at {self._base} is unreachable: {exc}") from exc
        if raw:
            return payload
        return json.loads(payload) if payload else {}

    def _get_or_none(self, path: str, **kwargs: Any) -> Any:
        try:
            return self._call("GET", path, **kwargs)
        except _HttpError as exc:
            if exc.status in {400, 403, 404}:
                return None
            raise

    # ------------------------------------------------------------------------------ lookup

    def _user(self, user_id: str) -> dict[str, Any] | None:
        match = _USER_ID.fullmatch(user_id.strip())
        if match is None or match.group("server") != self.server_name:
            return None
        found = self._get_or_none(f"/_synapse/admin/v2/users/{_quote(user_id.strip())}")
        return found if isinstance(found, dict) else None

    def _require_user(self, account_id: str) -> dict[str, Any]:
        user = self._user(account_id)
        if user is None:
            raise AccountNotFound(account_id)
        return user

    def lookup_account(self, target_type: TargetType, value: str) -> Account | None:
        target_type = TargetType(target_type)
        if target_type is TargetType.USER_ID:
            user = self._user(value)
        elif target_type is TargetType.USERNAME:
            user = self._user(self._user_id_of(value) or "")
        elif target_type is TargetType.PHONE:
            phone = normalise_phone(value)
            user = None if phone is None else self._by_threepid("msisdn", phone.removeprefix("+"))
        else:
            author = self._author_of(value)
            user = None if author is None else self._user(author)
        return None if user is None else account_of(user)

    def _user_id_of(self, username: str) -> str | None:
        key = username.strip().removeprefix("@").lower()
        if ":" in key:
            return "@" + key
        return f"@{key}:{self.server_name}" if _LOCALPART.fullmatch(key) else None

    def _by_threepid(self, medium: str, address: str) -> dict[str, Any] | None:
        found = self._get_or_none(f"/_synapse/admin/v1/threepid/{medium}/users/{_quote(address)}")
        if not isinstance(found, dict) or "user_id" not in found:
            return None
        return self._user(str(found["user_id"]))

    def _event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        found = self._get_or_none(
            f"/_synapse/admin/v1/rooms/{_quote(room_id)}/context/{_quote(event_id)}", query={"limit": 0}
        )
        if not isinstance(found, dict) or not isinstance(found.get("event"), dict):
            return None
        event: dict[str, Any] = found["event"]
        return event

    def _room(self, room_id: str) -> dict[str, Any] | None:
        found = self._get_or_none(f"/_synapse/admin/v1/rooms/{_quote(room_id)}")
        return found if isinstance(found, dict) else None

    def _author_of(self, locator: str) -> str | None:
        parsed = parse_locator(locator)
        if parsed is None:
            return None
        room_id, event_id = parsed
        if event_id is not None:
            event = self._event(room_id, event_id)
            return None if event is None else str(event["sender"])
        room = self._room(room_id)
        creator = None if room is None else room.get("creator")
        return str(creator) if creator else None

    # ------------------------------------------------------------------------------ export

    def export(self, account_id: str, categories: Iterable[DataCategory], period: Period) -> Export:
        wanted = normalise_categories(categories)
        return self._export(account_id, wanted, period)

    def _export(self, account_id: str, wanted: frozenset[DataCategory], period: Period) -> Export:
        if not isinstance(period, Period):
            raise TypeError("period must be a Period")
        user = self._require_user(account_id)
        user_id = str(user["name"])
        records: list[ExportRecord] = []
        if DataCategory.SUBSCRIBER in wanted:
            records.append(subscriber_record(user))
        if DataCategory.IDENTIFICATION in wanted:
            records.extend(self._identification_records(user, period))
        if DataCategory.TRAFFIC in wanted or DataCategory.CONTENT in wanted:
            rooms = self._rooms_of(user_id)
            if DataCategory.TRAFFIC in wanted:
                records.extend(self._traffic_records(user_id, rooms, period))
            if DataCategory.CONTENT in wanted:
                records.extend(self._content_records(user_id, rooms, period))
        records.sort(key=record_order)
        return Export(account_id=user_id, period=period, categories=wanted, records=tuple(records))

    def _identification_records(self, user: Mapping[str, Any], period: Period) -> list[ExportRecord]:
        user_id = str(user["name"])
        records: list[ExportRecord] = []
        created = created_at(user)
        if period.contains(created):
            records.append(
                record(DataCategory.IDENTIFICATION, "registration", created, ip=None, at=iso(created))
            )
        whois = self._call("GET", f"/_synapse/admin/v1/whois/{_quote(user_id)}")
        for device_id, device in sorted(whois.get("devices", {}).items()):
            for session in device.get("sessions", []):
                for connection in session.get("connections", []):
                    seen = connection.get("last_seen")
                    if not isinstance(seen, int):
                        continue
                    at = from_ms(seen)
                    if period.contains(at):
                        records.append(
                            record(
                                DataCategory.IDENTIFICATION,
                                "session",
                                at,
                                session_id=device_id or None,
                                ip=connection.get("ip"),
                                port=None,  # Synapse does not keep source ports
                                user_agent=connection.get("user_agent"),
                                at=iso(at),
                            )
                        )
        return records

    def _rooms_of(self, user_id: str) -> dict[str, str]:
        """Room id -> the user's membership, for every room the user is or was in."""
        found = self._call("GET", f"/_synapse/admin/v1/users/{_quote(user_id)}/memberships")
        memberships = found.get("memberships", {})
        return {
            str(room): str(state) for room, state in memberships.items() if state in {"join", "leave", "ban"}
        }

    def _members(self, room_id: str) -> list[str]:
        found = self._get_or_none(f"/_synapse/admin/v1/rooms/{_quote(room_id)}/members")
        members = [] if not isinstance(found, dict) else found.get("members", [])
        return [str(member) for member in members if member != self.admin_user_id]

    def _state_event(self, room_id: str, event_type: str, state_key: str) -> dict[str, Any] | None:
        found = self._get_or_none(f"/_synapse/admin/v1/rooms/{_quote(room_id)}/state")
        for event in [] if not isinstance(found, dict) else found.get("state", []):
            if event.get("type") == event_type and event.get("state_key") == state_key:
                return dict(event)
        return None

    def _room_blocked(self, room_id: str) -> bool:
        found = self._get_or_none(f"/_synapse/admin/v1/rooms/{_quote(room_id)}/block")
        return bool(isinstance(found, dict) and found.get("block"))

    def _messages(self, room_id: str) -> list[dict[str, Any]]:
        """Every ``m.room.message`` of the room, oldest first (redacted ones included, content empty)."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            query: dict[str, str | int] = {
                "dir": "f",
                "limit": _PAGE,
                "filter": json.dumps({"types": ["m.room.message"]}),
            }
            if token is not None:
                query["from"] = token
            page = self._call("GET", f"/_synapse/admin/v1/rooms/{_quote(room_id)}/messages", query=query)
            events.extend(page.get("chunk", []))
            end = page.get("end")
            if not page.get("chunk") or not end or end == token:
                return events
            token = str(end)

    def _traffic_records(self, user_id: str, rooms: Mapping[str, str], period: Period) -> list[ExportRecord]:
        records: list[ExportRecord] = []
        for room_id, membership in sorted(rooms.items()):
            members = self._members(room_id)
            others = [member for member in members if member != user_id]
            private = len(members) <= 2 and len(others) == 1
            kind = "private" if private else "group"
            counterpart = others[0] if private else None
            member_event = self._state_event(room_id, "m.room.member", user_id)
            since = None if member_event is None else from_ms(int(member_event["origin_server_ts"]))
            if since is not None and since < period.end:
                records.append(
                    record(
                        DataCategory.TRAFFIC,
                        "membership",
                        None,
                        chat_id=room_id,
                        chat_kind=kind,
                        membership=membership,
                        counterpart_id=counterpart,
                        joined_at=iso(since),
                    )
                )
            for event in self._messages(room_id):
                at = from_ms(int(event["origin_server_ts"]))
                sent = event.get("sender") == user_id
                if not period.contains(at) or not (sent or private):
                    continue
                records.append(
                    record(
                        DataCategory.TRAFFIC,
                        "communication",
                        at,
                        message_id=str(event["event_id"]),
                        chat_id=room_id,
                        chat_kind=kind,
                        direction="sent" if sent else "received",
                        counterpart_id=counterpart if sent else str(event.get("sender")),
                        at=iso(at),
                    )
                )
        devices = self._get_or_none(f"/_synapse/admin/v2/users/{_quote(user_id)}/devices")
        for device in [] if not isinstance(devices, dict) else devices.get("devices", []):
            seen = device.get("last_seen_ts")
            if isinstance(seen, int) and period.contains(from_ms(seen)):
                at = from_ms(seen)
                records.append(
                    record(
                        DataCategory.TRAFFIC,
                        "device",
                        at,
                        session_id=str(device.get("device_id")),
                        device=device.get("display_name"),
                        at=iso(at),
                    )
                )
        return records

    def _content_records(self, user_id: str, rooms: Mapping[str, str], period: Period) -> list[ExportRecord]:
        records: list[ExportRecord] = []
        for room_id in sorted(rooms):
            if self._room_blocked(room_id):  # a removed (shut down) room: preserved, not exported
                continue
            for event in self._messages(room_id):
                at = from_ms(int(event["origin_server_ts"]))
                if event.get("sender") != user_id or not period.contains(at):
                    continue
                if "redacted_because" in event.get("unsigned", {}):
                    continue  # removed worldwide
                _, text, mxc = message_fields(event.get("content", {}))
                records.append(
                    record(
                        DataCategory.CONTENT,
                        "message",
                        at,
                        message_id=str(event["event_id"]),
                        chat_id=room_id,
                        sent_at=iso(at),
                        text=text,
                        media_sha256=None if mxc is None else self.media_sha256(mxc),
                        locator=message_locator(room_id, str(event["event_id"])),
                    )
                )
        return records

    def media_sha256(self, mxc: str) -> str | None:
        """The SHA-256 of a local upload as the Trustdesk module recorded it, else None."""
        match = MXC.fullmatch(mxc)
        if match is None or self._module_secret is None:
            return None
        found = self._get_or_none(
            f"/_trustdesk/v1/media/{_quote(match.group('media'))}", token=self._module_secret
        )
        sha = None if not isinstance(found, dict) else found.get("sha256")
        return str(sha) if sha else None

    # ------------------------------------------------------------------------------ holds

    def place_hold(
        self,
        hold_id: str,
        account_id: str,
        categories: Iterable[DataCategory],
        period: Period,
        expires_at: datetime,
    ) -> Hold:
        if not hold_id or len(hold_id) > _MAX_HOLD_ID:
            raise ValueError(f"hold_id must be a non-empty string of at most {_MAX_HOLD_ID} characters")
        wanted = normalise_categories(categories)
        expires_at = require_aware(expires_at, "expires_at")
        with self._lock:
            existing = self._holds.get(hold_id)
            if existing is not None:
                if (existing.account_id, existing.categories, existing.period) != (
                    account_id.strip(),
                    wanted,
                    period,
                ):
                    raise HoldConflict(f"hold {hold_id!r} exists for another account, category set or period")
                return existing
            now = self.now()
            if expires_at <= now:
                raise ValueError(f"expires_at {expires_at} is not after now ({now})")
            snapshot = canonical_export(self._export(account_id, wanted, period))
            hold = Hold(
                hold_id=hold_id,
                account_id=account_id.strip(),
                categories=wanted,
                period=period,
                placed_at=now,
                expires_at=expires_at,
                snapshot=snapshot,
                snapshot_sha256=sha256_hex(snapshot),
            )
            self._holds[hold_id] = hold
            self._save_state()
            return hold

    def extend_hold(self, hold_id: str, expires_at: datetime) -> Hold:
        expires_at = require_aware(expires_at, "expires_at")
        with self._lock:
            hold = self._holds.get(hold_id)
            if hold is None:
                raise HoldNotFound(hold_id)
            if hold.expires_at <= self.now():
                raise HoldExpired(f"hold {hold_id!r} lapsed at {hold.expires_at}")
            if expires_at <= hold.expires_at:
                raise ValueError(
                    f"an extension must move the expiry later than {hold.expires_at}, got {expires_at}"
                )
            extended = Hold(**{**hold.__dict__, "expires_at": expires_at})
            self._holds[hold_id] = extended
            self._save_state()
            return extended

    def release_hold(self, hold_id: str) -> None:
        with self._lock:
            if self._holds.pop(hold_id, None) is None:
                raise HoldNotFound(hold_id)
            self._save_state()

    # ------------------------------------------------------------------------------ removal

    def remove_content(
        self, locator: str, action: RemovalAction, scope: Iterable[str] | None = None
    ) -> RemovalResult:
        action = RemovalAction(action)
        if action is RemovalAction.GEO_RESTRICT:
            if scope is None:
                raise ValueError("a geo restriction needs a scope of country codes")
            normalise_country_codes(scope)
        elif scope is not None:
            raise ValueError(f"{action.value} applies worldwide; scope must be None")
        parsed = parse_locator(locator)
        if parsed is None:
            raise ContentNotFound(locator)
        room_id, event_id = parsed
        event = None if event_id is None else self._event(room_id, event_id)
        if (event_id is None and self._room(room_id) is None) or (event_id is not None and event is None):
            raise ContentNotFound(locator)
        if action is RemovalAction.GEO_RESTRICT:
            raise PlatformError("Synapse cannot restrict content per country (supports_geo_restriction)")
        if action is RemovalAction.RESTORE:
            if event_id is None:
                return self._restore_room(room_id)
            assert event is not None
            return self._restore_message(room_id, event_id, event)
        now = self.now()
        if event_id is None:
            self._preserve_room(room_id, now)
            self._shut_down_room(room_id)
            return RemovalResult(room_locator(room_id), action, None, now)
        assert event is not None
        self._preserve(room_id, event_id, event, now)
        self._redact(room_id, event_id, event)
        return RemovalResult(message_locator(room_id, event_id), action, None, now)

    def preserved(self, locator: str) -> Preserved | None:
        """What the connector kept of removed content at ``locator`` (None when it removed nothing)."""
        with self._lock:
            return self._preserved.get(locator.strip())

    def _preserve(self, room_id: str, event_id: str, event: Mapping[str, Any], now: datetime) -> None:
        """Keep the event's content before the redaction strips it (an already redacted one keeps what
        was kept)."""
        if _redacted(event):
            return
        locator = message_locator(room_id, event_id)
        with self._lock:
            self._preserved[locator] = Preserved(
                locator=locator,
                sender=str(event["sender"]),
                content=dict(event.get("content", {})),
                sent_ms=int(event.get("origin_server_ts") or 0),
                removed_at=now,
            )
            self._save_state()

    def _preserve_room(self, room_id: str, now: datetime) -> None:
        """Keep what a replacement room needs before the shutdown clears the room's state: its local
        members, creator, name, topic and join rule (the messages stay readable by the admin)."""
        if self._room_blocked(room_id):
            return  # shut down already: what was kept stays
        room = self._room(room_id) or {}
        suffix = ":" + self.server_name
        members = sorted(member for member in self._members(room_id) if member.endswith(suffix))
        locator = room_locator(room_id)
        details = {key: room.get(key) for key in ("name", "topic", "join_rules") if room.get(key)}
        with self._lock:
            self._preserved[locator] = Preserved(
                locator=locator,
                sender=str(room.get("creator") or ""),
                content={**details, "members": members},
                removed_at=now,
            )
            self._save_state()

    def _live(self, locator: str | None) -> bool:
        """Whether ``locator`` names a message that is there and not redacted, or an unblocked room."""
        parsed = None if locator is None else parse_locator(locator)
        if parsed is None:
            return False
        room_id, event_id = parsed
        if event_id is None:
            return self._room(room_id) is not None and not self._room_blocked(room_id)
        event = self._event(room_id, event_id)
        return event is not None and not _redacted(event)

    def _restore_message(self, room_id: str, event_id: str, event: Mapping[str, Any]) -> RemovalResult:
        locator = message_locator(room_id, event_id)
        now = self.now()
        if not _redacted(event):  # never removed: nothing to undo
            return RemovalResult(locator, RemovalAction.RESTORE, None, now, RestoreMethod.UNDONE, locator)
        with self._lock:
            kept = self._preserved.get(locator)
        if kept is None:
            raise PlatformError(
                f"{locator} was redacted, but not through this connector: its content was not preserved"
            )
        if kept.restored_as is not None and self._live(kept.restored_as):  # a repeat: publish nothing
            return RemovalResult(
                locator, RemovalAction.RESTORE, None, now, RestoreMethod.REPUBLISHED, kept.restored_as
            )
        content = restored_content(kept.content, room_id, event_id)
        _, _, mxc = message_fields(content)
        match = None if mxc is None else MXC.fullmatch(mxc)
        if match is not None:  # the removal quarantined the media
            self._call(
                "POST",
                f"/_synapse/admin/v1/media/unquarantine/{_quote(match.group('server'))}/"
                f"{_quote(match.group('media'))}",
                {},
            )
        with self._logins() as login:
            new_id = self._send(room_id, content, login(kept.sender))
        restored_as = message_locator(room_id, new_id)
        with self._lock:
            kept.restored_as = restored_as
            self._save_state()
        return RemovalResult(
            locator, RemovalAction.RESTORE, None, now, RestoreMethod.REPUBLISHED, restored_as
        )

    def _restore_room(self, room_id: str) -> RemovalResult:
        """A shut-down room cannot be reopened (its members were made to leave; with no member on the
        server, nobody can join): restore it as a replacement room with its former members, each
        message republished by its sender, marked as restored."""
        locator = room_locator(room_id)
        now = self.now()
        if not self._room_blocked(room_id):  # never removed
            return RemovalResult(locator, RemovalAction.RESTORE, None, now, RestoreMethod.UNDONE, locator)
        with self._lock:
            kept = self._preserved.get(locator)
        if kept is not None and kept.restored_as is not None and self._live(kept.restored_as):
            return RemovalResult(
                locator, RemovalAction.RESTORE, None, now, RestoreMethod.REPUBLISHED, kept.restored_as
            )
        if kept is None or not kept.content.get("members"):
            raise PlatformError(f"{room_id} was shut down, but not through this connector: nothing was kept")
        members = [str(member) for member in kept.content["members"]]
        creator = kept.sender if kept.sender in members else members[0]
        others = [member for member in members if member != creator]
        public = kept.content.get("join_rules") == "public"
        create: dict[str, Any] = {
            "preset": "public_chat" if public else "private_chat",
            "invite": others,
            "is_direct": not public and len(members) == 2,
        }
        for key in ("name", "topic"):
            if kept.content.get(key):
                create[key] = str(kept.content[key])
        with self._logins() as login:
            new_room = str(
                self._call("POST", "/_matrix/client/v3/createRoom", create, token=login(creator))["room_id"]
            )
            for member in others:
                self._call(
                    "POST", f"/_matrix/client/v3/rooms/{_quote(new_room)}/join", {}, token=login(member)
                )
            for message in self._messages(room_id):
                sender = str(message.get("sender"))
                if sender not in members or _redacted(message):
                    continue  # removed on its own, or by someone no longer here
                content = restored_content(message["content"], room_id, str(message["event_id"]))
                self._send(new_room, content, login(sender))
        restored_as = room_locator(new_room)
        with self._lock:
            kept.restored_as = restored_as
            self._save_state()
        return RemovalResult(
            locator, RemovalAction.RESTORE, None, now, RestoreMethod.REPUBLISHED, restored_as
        )

    def _send(self, room_id: str, content: Mapping[str, Any], token: str | None) -> str:
        with self._lock:
            self._txn += 1
            txn = f"trustdesk-restore-{time.time_ns()}-{self._txn}"
        path = f"/_matrix/client/v3/rooms/{_quote(room_id)}/send/m.room.message/{txn}"
        try:
            sent = self._call("PUT", path, content, token=token)
        except _HttpError as exc:
            if exc.errcode in {"M_USER_SUSPENDED", "M_USER_LOCKED"} or exc.status == 401:
                raise PlatformError(
                    f"cannot republish in {room_id}: the author's account is suspended or locked "
                    f"(reinstate it first): {exc}"
                ) from exc
            raise
        return str(sent["event_id"])

    @contextlib.contextmanager
    def _logins(self) -> Iterator[Callable[[str], str | None]]:
        """``login(user_id)``: an access token of the user (Synapse's admin login as a user, valid for
        minutes; the admin's own token for the admin); every token made is logged out at the end."""
        tokens: dict[str, str] = {}

        def login(user_id: str) -> str | None:
            if user_id == self.admin_user_id:
                return None
            if user_id not in tokens:
                done = self._call(
                    "POST",
                    f"/_synapse/admin/v1/users/{_quote(user_id)}/login",
                    {"valid_until_ms": int(time.time() * 1000) + _LOGIN_VALIDITY_MS},
                )
                tokens[user_id] = str(done["access_token"])
            return tokens[user_id]

        try:
            yield login
        finally:
            for token in tokens.values():
                with contextlib.suppress(PlatformError):
                    self._call("POST", "/_matrix/client/v3/logout", {}, token=token)

    def _redact(self, room_id: str, event_id: str, event: Mapping[str, Any]) -> None:
        with self._lock:
            self._txn += 1
            txn = f"trustdesk-{time.time_ns()}-{self._txn}"
        path = f"/_matrix/client/v3/rooms/{_quote(room_id)}/redact/{_quote(event_id)}/{txn}"
        body = {"reason": "Removed by the platform's trust and safety desk"}
        try:
            self._call("PUT", path, body)
        except _HttpError as exc:
            if exc.status != 403:
                raise
            # the admin must be in the room with power to redact: Synapse's make_room_admin does that
            # (it invites the admin to a private room; the join follows)
            self._call("POST", f"/_synapse/admin/v1/rooms/{_quote(room_id)}/make_room_admin", {})
            self._call("POST", f"/_matrix/client/v3/rooms/{_quote(room_id)}/join", {})
            self._call("PUT", path, body)
        _, _, mxc = message_fields(event.get("content", {}))
        match = None if mxc is None else MXC.fullmatch(mxc)
        if match is not None:
            self._call(
                "POST",
                f"/_synapse/admin/v1/media/quarantine/{_quote(match.group('server'))}/"
                f"{_quote(match.group('media'))}",
                {},
            )

    def _shut_down_room(self, room_id: str) -> None:
        started = self._call(
            "DELETE",
            f"/_synapse/admin/v2/rooms/{_quote(room_id)}",
            {"block": True, "purge": False, "message": "This room was closed by the platform."},
        )
        delete_id = started.get("delete_id")
        for _ in range(600):
            status = self._call("GET", f"/_synapse/admin/v2/rooms/delete_status/{_quote(str(delete_id))}")
            if status.get("status") == "complete":
                return
            if status.get("status") == "failed":
                raise PlatformError(f"Synapse failed to shut down {room_id}: {status.get('error')}")
            time.sleep(0.05)
        raise PlatformError(f"Synapse did not finish shutting down {room_id} in time")

    # ------------------------------------------------------------------------------ accounts

    def act_on_account(self, account_id: str, action: AccountAction, reason: str) -> Account:
        action = AccountAction(action)
        if not reason.strip():
            raise ValueError("an account action needs a reason")
        user = self._require_user(account_id)
        user_id = str(user["name"])
        quoted = _quote(user_id)
        target = AccountStatus.after(action)
        # each status is exactly one of Synapse's flags: set it, clear the others
        locked = target is AccountStatus.TERMINATED
        suspended = target is AccountStatus.SUSPENDED
        shadow = target is AccountStatus.RESTRICTED
        if bool(user.get("locked")) != locked:
            self._call("PUT", f"/_synapse/admin/v2/users/{quoted}", {"locked": locked})
        if bool(user.get("suspended")) != suspended:
            self._call("PUT", f"/_synapse/admin/v1/suspend/{quoted}", {"suspend": suspended})
        if bool(user.get("shadow_banned")) != shadow:
            self._call("POST" if shadow else "DELETE", f"/_synapse/admin/v1/users/{quoted}/shadow_ban", {})
        with self._lock:
            self._actions.append(ActionRecord(user_id, action, reason, self.now()))
            self._save_state()
        return account_of(self._require_user(user_id))

    def send_notice(self, account_id: str, text: str) -> str:
        if not text.strip():
            raise ValueError("a notice needs a text")
        user = self._require_user(account_id)
        sent = self._call(
            "POST",
            "/_synapse/admin/v1/send_server_notice",
            {"user_id": user["name"], "content": {"msgtype": "m.text", "body": text}},
        )
        return str(sent["event_id"])

    # ------------------------------------------------------------------------------ stream

    def content_events(self, after: str | None = None, limit: int = 100) -> Sequence[ContentEvent]:
        position = parse_cursor(after, limit)
        if self._module_secret is None:
            raise PlatformError("the content stream needs the Trustdesk Synapse module (module_secret)")
        found = self._call(
            "GET",
            "/_trustdesk/v1/events",
            query={"after": position, "limit": limit},
            token=self._module_secret,
        )
        rows = found.get("events", [])
        blocked = {room: self._room_blocked(room) for room in {str(row["room_id"]) for row in rows}}
        return [
            event_from_row(
                row,
                removed=bool(row.get("redacted")) or blocked[str(row["room_id"])],
                media_data=self._inline_media(row),
            )
            for row in rows
        ]

    def _inline_media(self, row: Mapping[str, Any]) -> bytes | None:
        """The bytes of a logged image of at most 1 MiB (downloaded as the admin), else None."""
        wanted = inline_media(row)
        if wanted is None:
            return None
        server, media_id = wanted
        try:
            data = self._call(
                "GET", f"/_matrix/client/v1/media/download/{_quote(server)}/{_quote(media_id)}", raw=True
            )
        except PlatformError:  # quarantined (removed) or gone: the hashes stay in the event
            return None
        return bytes(data) if len(data) <= INLINE_MEDIA_LIMIT else None

    # ------------------------------------------------------------------------------ state

    def _save_state(self) -> None:
        if self._state_file is not None:
            save_state(self._state_file, self._holds.values(), self._actions, self._preserved.values())

    def _load_state(self) -> None:
        if self._state_file is not None:
            self._holds, self._actions = load_state(self._state_file)
            self._preserved = load_preserved(self._state_file)
