"""Synapse's HTTP APIs as the Matrix connector speaks them: calls with the admin token, and the reads
of users, rooms, events and media that the connector's parts share.

Nothing here decides anything: the connector (`trustdesk.platform.matrix.connector`), its export
(`export`) and its preservation and restore (`restore`) compose these calls.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from trustdesk.platform.matrix.stream import MXC
from trustdesk.platform.protocol import PlatformError

_USER_ID = re.compile(r"@(?P<local>[a-z0-9._=\-/+]+):(?P<server>[A-Za-z0-9.\-:\[\]]+)")
_PAGE = 1000


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def redacted(event: Mapping[str, Any]) -> bool:
    """Whether a (client-format) event was redacted: its content is gone for good."""
    return "redacted_because" in event.get("unsigned", {}) or not event.get("content")


class HttpError(PlatformError):
    def __init__(self, status: int, errcode: str, message: str) -> None:
        super().__init__(f"Synapse answered {status} {errcode}: {message}")
        self.status = status
        self.errcode = errcode


class SynapseApi:
    """One homeserver, called with a server admin's access token (or another token per call)."""

    def __init__(
        self,
        base_url: str,
        admin_token: str,
        *,
        server_name: str | None,
        module_secret: str | None,
        timeout: float,
    ) -> None:
        self.base = base_url.rstrip("/")
        self._token = admin_token
        self.module_secret = module_secret
        self._timeout = timeout
        self._admin_id: str | None = None
        self._server_name = server_name
        self._txn_lock = threading.Lock()
        self._txn = 0

    @property
    def admin_user_id(self) -> str:
        if self._admin_id is None:
            self._admin_id = str(self.call("GET", "/_matrix/client/v3/account/whoami")["user_id"])
        return self._admin_id

    @property
    def server_name(self) -> str:
        if self._server_name is None:
            self._server_name = self.admin_user_id.split(":", 1)[1]
        return self._server_name

    def txn(self, prefix: str) -> str:
        """A transaction id never used before by this process."""
        with self._txn_lock:
            self._txn += 1
            return f"{prefix}-{time.time_ns()}-{self._txn}"

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str | int] | None = None,
        token: str | None = None,
        raw: bool = False,
    ) -> Any:
        url = self.base + path
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
            raise HttpError(exc.code, errcode, error) from None
        except OSError as exc:
            raise PlatformError(f"Synapse at {self.base} is unreachable: {exc}") from exc
        if raw:
            return payload
        return json.loads(payload) if payload else {}

    def get_or_none(self, path: str, **kwargs: Any) -> Any:
        try:
            return self.call("GET", path, **kwargs)
        except HttpError as exc:
            if exc.status in {400, 403, 404}:
                return None
            raise

    # ------------------------------------------------------------------------------ reads

    def user(self, user_id: str) -> dict[str, Any] | None:
        match = _USER_ID.fullmatch(user_id.strip())
        if match is None or match.group("server") != self.server_name:
            return None
        found = self.get_or_none(f"/_synapse/admin/v2/users/{quote(user_id.strip())}")
        return found if isinstance(found, dict) else None

    def event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        found = self.get_or_none(
            f"/_synapse/admin/v1/rooms/{quote(room_id)}/context/{quote(event_id)}", query={"limit": 0}
        )
        if not isinstance(found, dict) or not isinstance(found.get("event"), dict):
            return None
        event: dict[str, Any] = found["event"]
        return event

    def room(self, room_id: str) -> dict[str, Any] | None:
        found = self.get_or_none(f"/_synapse/admin/v1/rooms/{quote(room_id)}")
        return found if isinstance(found, dict) else None

    def room_blocked(self, room_id: str) -> bool:
        found = self.get_or_none(f"/_synapse/admin/v1/rooms/{quote(room_id)}/block")
        return bool(isinstance(found, dict) and found.get("block"))

    def members(self, room_id: str) -> list[str]:
        """The room's members, the admin left out."""
        found = self.get_or_none(f"/_synapse/admin/v1/rooms/{quote(room_id)}/members")
        members = [] if not isinstance(found, dict) else found.get("members", [])
        return [str(member) for member in members if member != self.admin_user_id]

    def state_event(self, room_id: str, event_type: str, state_key: str) -> dict[str, Any] | None:
        found = self.get_or_none(f"/_synapse/admin/v1/rooms/{quote(room_id)}/state")
        for event in [] if not isinstance(found, dict) else found.get("state", []):
            if event.get("type") == event_type and event.get("state_key") == state_key:
                return dict(event)
        return None

    def messages(self, room_id: str) -> list[dict[str, Any]]:
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
            page = self.call("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/messages", query=query)
            events.extend(page.get("chunk", []))
            end = page.get("end")
            if not page.get("chunk") or not end or end == token:
                return events
            token = str(end)

    def rooms_of(self, user_id: str) -> dict[str, str]:
        """Room id -> the user's membership, for every room the user is or was in."""
        found = self.call("GET", f"/_synapse/admin/v1/users/{quote(user_id)}/memberships")
        memberships = found.get("memberships", {})
        return {
            str(room): str(state) for room, state in memberships.items() if state in {"join", "leave", "ban"}
        }

    def media_record(self, mxc: str) -> dict[str, Any] | None:
        """The Trustdesk module's record of a local upload (``sha256``, ``md5``, ``mime``, ``size``,
        ``pdq``, ``pdq_quality``, ...), None when there is none or no module to ask."""
        match = MXC.fullmatch(mxc)
        if match is None or self.module_secret is None:
            return None
        found = self.get_or_none(
            f"/_trustdesk/v1/media/{quote(match.group('media'))}", token=self.module_secret
        )
        return found if isinstance(found, dict) and found.get("sha256") else None

    def media_sha256(self, mxc: str) -> str | None:
        """The SHA-256 of a local upload as the Trustdesk module recorded it, else None."""
        record = self.media_record(mxc)
        return None if record is None else str(record["sha256"])

    def logged_event(self, event_id: str) -> dict[str, Any] | None:
        """The Trustdesk module's log row of a message (as in its stream), None when it has none, or
        there is no module to ask."""
        if self.module_secret is None:
            return None
        found = self.get_or_none(f"/_trustdesk/v1/events/{quote(event_id)}", token=self.module_secret)
        return found if isinstance(found, dict) and found.get("event_id") == event_id else None

    def download(self, server: str, media_id: str, *, bypass_quarantine: bool = False) -> bytes:
        """The bytes of a media item, downloaded as the admin (gone: `PlatformError`).

        Quarantined media (what a removal quarantines) is refused unless ``bypass_quarantine``: Synapse
        lets a server admin read it with ``admin_unsafely_bypass_quarantine``.
        """
        query: dict[str, str | int] | None = (
            {"admin_unsafely_bypass_quarantine": "true"} if bypass_quarantine else None
        )
        data = self.call(
            "GET",
            f"/_matrix/client/v1/media/download/{quote(server)}/{quote(media_id)}",
            query=query,
            raw=True,
        )
        return bytes(data)
