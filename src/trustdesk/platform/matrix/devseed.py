"""The calls that fill and reset a development homeserver: users, profiles, logins, rooms, messages and
uploads through Synapse's APIs, and back-dated sessions and clean slates written into its databases.

`Seeding` is the part of `trustdesk.platform.matrix.devserver.DevServer` that talks to a running server;
the server class provides the HTTP calls (`call`, `admin`) and the paths and secrets of its data
directory. Never point any of this at a production homeserver.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import urllib.parse
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any


class Seeding(ABC):
    """Seeding and clean-slate calls of a dev homeserver (mixed into `DevServer`, which provides the two
    abstract HTTP calls)."""

    server_name: str
    shared_secret: str
    as_token: str
    database: Path
    module_database: Path

    @abstractmethod
    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        query: dict[str, str | int] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One HTTP call to the homeserver (provided by `DevServer`)."""

    @abstractmethod
    def admin(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """One HTTP call with the admin's token (provided by `DevServer`)."""

    def register(
        self,
        localpart: str,
        *,
        admin: bool = False,
        password: str = "correct horse",  # noqa: S107 - a test-grade password of a loopback dev server
    ) -> Any:
        nonce = self.call("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(
            b"\x00".join(p.encode() for p in (nonce, localpart, password, "admin" if admin else "notadmin"))
        )
        digest = mac.hexdigest()
        return self.call(
            "POST",
            "/_synapse/admin/v1/register",
            {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": digest},
        )

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    def set_profile(
        self,
        user_id: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        displayname: str | None = None,
    ) -> None:
        threepids = []
        if phone is not None:
            threepids.append({"medium": "msisdn", "address": phone.removeprefix("+")})
        if email is not None:
            threepids.append({"medium": "email", "address": email})
        body: dict[str, Any] = {"threepids": threepids}
        if displayname is not None:
            body["displayname"] = displayname
        self.admin("PUT", f"/_synapse/admin/v2/users/{urllib.parse.quote(user_id)}", body)

    def login(
        self,
        localpart: str,
        password: str = "correct horse",  # noqa: S107 - a test-grade password of a loopback dev server
    ) -> str:
        """A real login; the whoami that follows makes Synapse record the session's IP."""
        done = self.call(
            "POST",
            "/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": password,
            },
        )
        token = str(done["access_token"])
        self.call("GET", "/_matrix/client/v3/account/whoami", token=token)
        return token

    def as_user(self, method: str, path: str, user_id: str, body: Any = None, **query: str | int) -> Any:
        """A call by the seeding application service on behalf of ``user_id`` (``ts`` back-dates)."""
        return self.call(method, path, body, token=self.as_token, query={"user_id": user_id, **query})

    def create_private_room(self, creator: str, other: str) -> str:
        room = self.as_user(
            "POST",
            "/_matrix/client/v3/createRoom",
            creator,
            {"preset": "trusted_private_chat", "invite": [other], "is_direct": True},
        )["room_id"]
        self.as_user("POST", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/join", other, {})
        return str(room)

    def send(self, room_id: str, sender: str, content: dict[str, Any], *, ts_ms: int | None = None) -> str:
        txn = secrets.token_hex(8)
        query: dict[str, str | int] = {} if ts_ms is None else {"ts": ts_ms}
        sent = self.as_user(
            "PUT",
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/send/m.room.message/{txn}",
            sender,
            content,
            **query,
        )
        return str(sent["event_id"])

    def upload(
        self,
        data: bytes,
        *,
        token: str | None = None,
        user_id: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> str:
        query: dict[str, str | int] | None = None if user_id is None else {"user_id": user_id}
        done = self.call(
            "POST",
            "/_matrix/media/v3/upload",
            token=token or self.as_token,
            raw=data,
            content_type=content_type,
            query=query,
        )
        return str(done["content_uri"])

    # ------------------------------------------------------------------------------ clean slates

    def _database(self, path: Path) -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=30, isolation_level=None)

    def seed_sessions(self, user_id: str, sessions: list[tuple[str, str, int]]) -> None:
        """Replace the user's client-IP history by ``(ip, user_agent, last_seen_ms)`` rows.

        A test-seeding step only: Synapse stamps ``user_ips`` with the real time of a request, so
        back-dated sessions are written into its SQLite ``user_ips`` table directly (Synapse reads that
        table afresh for every whois). Never do this to a production homeserver.
        """
        connection = self._database(self.database)
        try:
            connection.execute("DELETE FROM user_ips WHERE user_id = ?", (user_id,))
            connection.executemany(
                "INSERT INTO user_ips (user_id, access_token, device_id, ip, user_agent, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (user_id, f"seeded-token-{index}", "SEEDED", ip, agent, last_seen)
                    for index, (ip, agent, last_seen) in enumerate(sessions)
                ],
            )
        finally:
            connection.close()

    def forget_module_events(self, room_ids: list[str]) -> None:
        """Drop purged rooms' events from the Trustdesk module's log (sequence numbers keep rising)."""
        if not room_ids or not self.module_database.exists():
            return
        connection = self._database(self.module_database)
        try:
            marks = ", ".join("?" for _ in room_ids)
            connection.execute(f"DELETE FROM events WHERE room_id IN ({marks})", room_ids)  # noqa: S608 - placeholders only
        finally:
            connection.close()

    def reset_account(self, user_id: str) -> None:
        """Clear every account flag Trustdesk sets: lock, suspension, shadow-ban."""
        quoted = urllib.parse.quote(user_id, safe="")
        user = self.admin("GET", f"/_synapse/admin/v2/users/{quoted}")
        if user.get("locked"):
            self.admin("PUT", f"/_synapse/admin/v2/users/{quoted}", {"locked": False})
        if user.get("suspended"):
            self.admin("PUT", f"/_synapse/admin/v1/suspend/{quoted}", {"suspend": False})
        if user.get("shadow_banned"):
            self.admin("DELETE", f"/_synapse/admin/v1/users/{quoted}/shadow_ban", {})

    def memberships(self, user_id: str) -> dict[str, str]:
        quoted = urllib.parse.quote(user_id, safe="")
        found = self.admin("GET", f"/_synapse/admin/v1/users/{quoted}/memberships")
        return {str(room): str(state) for room, state in found.get("memberships", {}).items()}

    def room_messages(self, room_id: str, *, sender: str | None = None) -> list[dict[str, Any]]:
        """The room's ``m.room.message`` events, oldest first (admin API)."""
        event_filter: dict[str, Any] = {"types": ["m.room.message"]}
        if sender is not None:
            event_filter["senders"] = [sender]
        found = self.admin(
            "GET",
            f"/_synapse/admin/v1/rooms/{urllib.parse.quote(room_id, safe='')}/messages",
            query={"dir": "f", "limit": 1000, "filter": json.dumps(event_filter)},
        )
        return list(found.get("chunk", []))
