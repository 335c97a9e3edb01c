"""`PlatformConnector` over a Matrix Synapse homeserver (admin API + client-server API).

The connector holds a server admin's access token. Platform ids are Matrix user ids
(``@alice:example.org``), chat ids are room ids, content locators are
``matrix://room/<room_id>/message/<event_id>`` for a message and ``matrix://room/<room_id>`` for a room.

What Synapse cannot do, the connector says with capability flags instead of pretending:

* ``supports_geo_restriction`` is False: Matrix has no per-country visibility;
  `RemovalAction.GEO_RESTRICT` checks its arguments, then raises `PlatformError`.

Restore works although Synapse cannot undo a removal: before redacting, the connector keeps the event's
content in its state and RESTORE republishes it, marked as restored (`trustdesk.platform.matrix.restore`).

Holds (sealed snapshots) and the reasons of account actions are kept by the connector (in memory, or in
a JSON file under ``state_dir``): Synapse has no such notion. The export is read from the admin API
(`trustdesk.platform.matrix.export`); the content stream from the Trustdesk Synapse module
(`trustdesk.platform.matrix.module`); see ``docs/matrix.md``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from trustdesk.clock import Clock
from trustdesk.platform.matrix.api import HttpError, SynapseApi, quote
from trustdesk.platform.matrix.export import export_records
from trustdesk.platform.matrix.fetch import fetch_message
from trustdesk.platform.matrix.records import account_of
from trustdesk.platform.matrix.restore import Preservation
from trustdesk.platform.matrix.state import ActionRecord, Preserved, load_preserved, load_state, save_state
from trustdesk.platform.matrix.stream import (
    CONTENT_EVENT_DETAILS,
    LOCATOR_PREFIX,
    MXC,
    event_from_row,
    inline_media,
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
    Hold,
    HoldConflict,
    HoldExpired,
    HoldNotFound,
    Period,
    PlatformError,
    RemovalAction,
    RemovalResult,
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
    "MatrixConnector",
    "message_locator",
    "parse_locator",
    "room_locator",
]

_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
_MAX_HOLD_ID = 128


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
        self._api = SynapseApi(
            base_url, admin_token, server_name=server_name, module_secret=module_secret, timeout=timeout
        )
        self._clock = clock
        self._lock = threading.RLock()
        self._state_file = None if state_dir is None else Path(state_dir) / "matrix-connector-state.json"
        self._holds: dict[str, Hold] = {}
        self._actions: list[ActionRecord] = []
        preserved: dict[str, Preserved] = {}
        if self._state_file is not None:
            self._holds, self._actions = load_state(self._state_file)
            preserved = load_preserved(self._state_file)
        self._removed = Preservation(self._api, preserved, lock=self._lock, save=self._save_state)

    # ------------------------------------------------------------------------------ basics

    def now(self) -> datetime:
        return require_aware(self._clock(), "clock()")

    @property
    def admin_user_id(self) -> str:
        return self._api.admin_user_id

    @property
    def server_name(self) -> str:
        return self._api.server_name

    def account_actions(self, account_id: str) -> list[tuple[AccountAction, str, datetime]]:
        """The actions Trustdesk took on the account with their reasons (Synapse keeps no reasons)."""
        with self._lock:
            return [(a.action, a.reason, a.at) for a in self._actions if a.account_id == account_id]

    # ------------------------------------------------------------------------------ lookup

    def _require_user(self, account_id: str) -> dict[str, Any]:
        user = self._api.user(account_id)
        if user is None:
            raise AccountNotFound(account_id)
        return user

    def lookup_account(self, target_type: TargetType, value: str) -> Account | None:
        target_type = TargetType(target_type)
        if target_type is TargetType.USER_ID:
            user = self._api.user(value)
        elif target_type is TargetType.USERNAME:
            user = self._api.user(self._user_id_of(value) or "")
        elif target_type is TargetType.PHONE:
            phone = normalise_phone(value)
            user = None if phone is None else self._by_threepid("msisdn", phone.removeprefix("+"))
        else:
            author = self._author_of(value)
            user = None if author is None else self._api.user(author)
        return None if user is None else account_of(user)

    def _user_id_of(self, username: str) -> str | None:
        key = username.strip().removeprefix("@").lower()
        if ":" in key:
            return "@" + key
        return f"@{key}:{self.server_name}" if _LOCALPART.fullmatch(key) else None

    def _by_threepid(self, medium: str, address: str) -> dict[str, Any] | None:
        found = self._api.get_or_none(f"/_synapse/admin/v1/threepid/{medium}/users/{quote(address)}")
        if not isinstance(found, dict) or "user_id" not in found:
            return None
        return self._api.user(str(found["user_id"]))

    def _author_of(self, locator: str) -> str | None:
        parsed = parse_locator(locator)
        if parsed is None:
            return None
        room_id, event_id = parsed
        if event_id is not None:
            event = self._api.event(room_id, event_id)
            return None if event is None else str(event["sender"])
        room = self._api.room(room_id)
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
        records = export_records(self._api, user, wanted, period)
        records.sort(key=record_order)
        return Export(account_id=str(user["name"]), period=period, categories=wanted, records=tuple(records))

    def media_sha256(self, mxc: str) -> str | None:
        """The SHA-256 of a local upload as the Trustdesk module recorded it, else None."""
        return self._api.media_sha256(mxc)

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
        event = None if event_id is None else self._api.event(room_id, event_id)
        if (event_id is None and self._api.room(room_id) is None) or (event_id is not None and event is None):
            raise ContentNotFound(locator)
        if action is RemovalAction.GEO_RESTRICT:
            raise PlatformError("Synapse cannot restrict content per country (supports_geo_restriction)")
        if action is RemovalAction.RESTORE:
            if event_id is None:
                return self._removed.restore_room(room_id, self.now())
            assert event is not None
            return self._removed.restore_message(room_id, event_id, event, self.now())
        now = self.now()
        if event_id is None:
            self._removed.preserve_room(room_id, now)
            self._shut_down_room(room_id)
            return RemovalResult(room_locator(room_id), action, None, now)
        assert event is not None
        self._removed.preserve_message(room_id, event_id, event, now)
        self._redact(room_id, event_id, event)
        return RemovalResult(message_locator(room_id, event_id), action, None, now)

    def preserved(self, locator: str) -> Preserved | None:
        """What the connector kept of removed content at ``locator`` (None when it removed nothing)."""
        return self._removed.get(locator)

    def _redact(self, room_id: str, event_id: str, event: Mapping[str, Any]) -> None:
        txn = self._api.txn("trustdesk")
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/redact/{quote(event_id)}/{txn}"
        body = {"reason": "Removed by the platform's trust and safety desk"}
        try:
            self._api.call("PUT", path, body)
        except HttpError as exc:
            if exc.status != 403:
                raise
            # the admin must be in the room with power to redact: Synapse's make_room_admin does that
            # (it invites the admin to a private room; the join follows)
            self._api.call("POST", f"/_synapse/admin/v1/rooms/{quote(room_id)}/make_room_admin", {})
            self._api.call("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/join", {})
            self._api.call("PUT", path, body)
        _, _, mxc = message_fields(event.get("content", {}))
        match = None if mxc is None else MXC.fullmatch(mxc)
        if match is not None:
            self._api.call(
                "POST",
                f"/_synapse/admin/v1/media/quarantine/{quote(match.group('server'))}/"
                f"{quote(match.group('media'))}",
                {},
            )

    def _shut_down_room(self, room_id: str) -> None:
        started = self._api.call(
            "DELETE",
            f"/_synapse/admin/v2/rooms/{quote(room_id)}",
            {"block": True, "purge": False, "message": "This room was closed by the platform."},
        )
        delete_id = started.get("delete_id")
        for _ in range(600):
            status = self._api.call("GET", f"/_synapse/admin/v2/rooms/delete_status/{quote(str(delete_id))}")
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
        quoted = quote(user_id)
        target = AccountStatus.after(action)
        # each status is exactly one of Synapse's flags: set it, clear the others
        locked = target is AccountStatus.TERMINATED
        suspended = target is AccountStatus.SUSPENDED
        shadow = target is AccountStatus.RESTRICTED
        if bool(user.get("locked")) != locked:
            self._api.call("PUT", f"/_synapse/admin/v2/users/{quoted}", {"locked": locked})
        if bool(user.get("suspended")) != suspended:
            self._api.call("PUT", f"/_synapse/admin/v1/suspend/{quoted}", {"suspend": suspended})
        if bool(user.get("shadow_banned")) != shadow:
            self._api.call(
                "POST" if shadow else "DELETE", f"/_synapse/admin/v1/users/{quoted}/shadow_ban", {}
            )
        with self._lock:
            self._actions.append(ActionRecord(user_id, action, reason, self.now()))
            self._save_state()
        return account_of(self._require_user(user_id))

    def send_notice(self, account_id: str, text: str) -> str:
        if not text.strip():
            raise ValueError("a notice needs a text")
        user = self._require_user(account_id)
        sent = self._api.call(
            "POST",
            "/_synapse/admin/v1/send_server_notice",
            {"user_id": user["name"], "content": {"msgtype": "m.text", "body": text}},
        )
        return str(sent["event_id"])

    # ------------------------------------------------------------------------------ stream

    def content_events(self, after: str | None = None, limit: int = 100) -> Sequence[ContentEvent]:
        position = parse_cursor(after, limit)
        if self._api.module_secret is None:
            raise PlatformError("the content stream needs the Trustdesk Synapse module (module_secret)")
        found = self._api.call(
            "GET",
            "/_trustdesk/v1/events",
            query={"after": position, "limit": limit},
            token=self._api.module_secret,
        )
        rows = found.get("events", [])
        blocked = {room: self._api.room_blocked(room) for room in {str(row["room_id"]) for row in rows}}
        return [
            event_from_row(
                row,
                removed=bool(row.get("redacted")) or blocked[str(row["room_id"])],
                media_data=self._inline_media(row),
            )
            for row in rows
        ]

    def fetch_content(self, locator: str) -> ContentEvent:
        """The message from the module's log (or the admin API), removed ones with their preserved
        content and their media read past the quarantine (`trustdesk.platform.matrix.fetch`)."""
        parsed = parse_locator(locator)
        if parsed is None or parsed[1] is None:
            raise ContentNotFound(locator)
        return fetch_message(self._api, self._removed, parsed[0], parsed[1])

    def _inline_media(self, row: Mapping[str, Any]) -> bytes | None:
        """The bytes of a logged image of at most 1 MiB (downloaded as the admin), else None."""
        wanted = inline_media(row)
        if wanted is None:
            return None
        server, media_id = wanted
        try:
            data = self._api.download(server, media_id)
        except PlatformError:  # quarantined (removed) or gone: the hashes stay in the event
            return None
        return bytes(data) if len(data) <= INLINE_MEDIA_LIMIT else None

    # ------------------------------------------------------------------------------ state

    def _save_state(self) -> None:
        if self._state_file is not None:
            save_state(self._state_file, self._holds.values(), self._actions, self._removed.kept.values())
