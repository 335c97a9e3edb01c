"""What the Matrix connector keeps of removed content, and how it brings it back.

Synapse cannot undo a removal (a redaction strips the event for good, a shut-down room stays shut), so
before redacting, the connector keeps the event's content (`Preserved`, in its state); RESTORE
republishes it on the author's behalf (an admin login as the user) with a visible marker in the body and
``org.trustdesk.restored`` naming the original event in the content (`RestoreMethod.REPUBLISHED`). A
removed room is restored as a replacement room with its former members and its messages republished.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from trustdesk.platform.matrix.api import HttpError, SynapseApi, quote, redacted
from trustdesk.platform.matrix.state import Preserved
from trustdesk.platform.matrix.stream import MXC, message_fields, message_locator, parse_locator, room_locator
from trustdesk.platform.protocol import PlatformError, RemovalAction, RemovalResult, RestoreMethod

_LOGIN_VALIDITY_MS = 300_000
RESTORED_FIELD = "org.trustdesk.restored"
"""The content field of a republished event: ``{"event_id": <the original event>, "room_id": ...}``."""
RESTORED_MARKER = "[Restored by the platform after review]"
"""The visible marker a republished message carries, after its text (or as the caption of media)."""


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


class Preservation:
    """The content the connector removed, by locator, and the preserve and restore steps around it.

    ``kept`` is shared with the connector's state file: every change happens under ``lock`` and is
    followed by ``save()``.
    """

    def __init__(
        self,
        api: SynapseApi,
        kept: dict[str, Preserved],
        *,
        lock: AbstractContextManager[Any],
        save: Callable[[], None],
    ) -> None:
        self._api = api
        self.kept = kept
        self._lock = lock
        self._save = save

    def get(self, locator: str) -> Preserved | None:
        with self._lock:
            return self.kept.get(locator.strip())

    def preserve_message(self, room_id: str, event_id: str, event: Mapping[str, Any], now: datetime) -> None:
        """Keep the event's content before the redaction strips it (an already redacted one keeps what
        was kept)."""
        if redacted(event):
            return
        locator = message_locator(room_id, event_id)
        with self._lock:
            self.kept[locator] = Preserved(
                locator=locator,
                sender=str(event["sender"]),
                content=dict(event.get("content", {})),
                sent_ms=int(event.get("origin_server_ts") or 0),
                removed_at=now,
            )
            self._save()

    def preserve_room(self, room_id: str, now: datetime) -> None:
        """Keep what a replacement room needs before the shutdown clears the room's state: its local
        members, creator, name, topic and join rule (the messages stay readable by the admin)."""
        if self._api.room_blocked(room_id):
            return  # shut down already: what was kept stays
        room = self._api.room(room_id) or {}
        suffix = ":" + self._api.server_name
        members = sorted(member for member in self._api.members(room_id) if member.endswith(suffix))
        locator = room_locator(room_id)
        details = {key: room.get(key) for key in ("name", "topic", "join_rules") if room.get(key)}
        with self._lock:
            self.kept[locator] = Preserved(
                locator=locator,
                sender=str(room.get("creator") or ""),
                content={**details, "members": members},
                removed_at=now,
            )
            self._save()

    def _live(self, locator: str | None) -> bool:
        """Whether ``locator`` names a message that is there and not redacted, or an unblocked room."""
        parsed = None if locator is None else parse_locator(locator)
        if parsed is None:
            return False
        room_id, event_id = parsed
        if event_id is None:
            return self._api.room(room_id) is not None and not self._api.room_blocked(room_id)
        event = self._api.event(room_id, event_id)
        return event is not None and not redacted(event)

    def restore_message(
        self, room_id: str, event_id: str, event: Mapping[str, Any], now: datetime
    ) -> RemovalResult:
        locator = message_locator(room_id, event_id)
        if not redacted(event):  # never removed: nothing to undo
            return RemovalResult(locator, RemovalAction.RESTORE, None, now, RestoreMethod.UNDONE, locator)
        kept = self.get(locator)
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
            self._api.call(
                "POST",
                f"/_synapse/admin/v1/media/unquarantine/{quote(match.group('server'))}/"
                f"{quote(match.group('media'))}",
                {},
            )
        with self._logins() as login:
            new_id = self._send(room_id, content, login(kept.sender))
        restored_as = message_locator(room_id, new_id)
        with self._lock:
            kept.restored_as = restored_as
            self._save()
        return RemovalResult(
            locator, RemovalAction.RESTORE, None, now, RestoreMethod.REPUBLISHED, restored_as
        )

    def restore_room(self, room_id: str, now: datetime) -> RemovalResult:
        """A shut-down room cannot be reopened (its members were made to leave; with no member on the
        server, nobody can join): restore it as a replacement room with its former members, each
        message republished by its sender, marked as restored."""
        locator = room_locator(room_id)
        if not self._api.room_blocked(room_id):  # never removed
            return RemovalResult(locator, RemovalAction.RESTORE, None, now, RestoreMethod.UNDONE, locator)
        kept = self.get(locator)
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
                self._api.call("POST", "/_matrix/client/v3/createRoom", create, token=login(creator))[
                    "room_id"
                ]
            )
            for member in others:
                self._api.call(
                    "POST", f"/_matrix/client/v3/rooms/{quote(new_room)}/join", {}, token=login(member)
                )
            for message in self._api.messages(room_id):
                sender = str(message.get("sender"))
                if sender not in members or redacted(message):
                    continue  # removed on its own, or by someone no longer here
                content = restored_content(message["content"], room_id, str(message["event_id"]))
                self._send(new_room, content, login(sender))
        restored_as = room_locator(new_room)
        with self._lock:
            kept.restored_as = restored_as
            self._save()
        return RemovalResult(
            locator, RemovalAction.RESTORE, None, now, RestoreMethod.REPUBLISHED, restored_as
        )

    def _send(self, room_id: str, content: Mapping[str, Any], token: str | None) -> str:
        txn = self._api.txn("trustdesk-restore")
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{txn}"
        try:
            sent = self._api.call("PUT", path, content, token=token)
        except HttpError as exc:
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
            if user_id == self._api.admin_user_id:
                return None
            if user_id not in tokens:
                done = self._api.call(
                    "POST",
                    f"/_synapse/admin/v1/users/{quote(user_id)}/login",
                    {"valid_until_ms": int(time.time() * 1000) + _LOGIN_VALIDITY_MS},
                )
                tokens[user_id] = str(done["access_token"])
            return tokens[user_id]

        try:
            yield login
        finally:
            for token in tokens.values():
                with contextlib.suppress(PlatformError):
                    self._api.call("POST", "/_matrix/client/v3/logout", {}, token=token)
