"""A real Synapse homeserver on loopback for the Matrix connector's tests.

`ensure_synapse` installs Synapse into its own virtualenv ``.venv-synapse/`` beside ``.venv`` (pinned in
``requirements-synapse.txt``) when it is absent; `Homeserver` writes a loopback config (SQLite, a
registration shared secret, no federation, no open registration, relaxed rate limits, server notices,
the Trustdesk module, an application service used only to back-date seeded messages), starts Synapse as
a subprocess, waits for ``/_matrix/client/versions`` and offers the calls the tests seed data with.

When Synapse cannot be installed (no network), `synapse_or_skip` skips with the reason, or fails when
``TRUSTDESK_REQUIRE_SYNAPSE=1``.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-synapse"
REQUIREMENTS = ROOT / "requirements-synapse.txt"
SERVER_NAME = "trustdesk.test"
ADMIN = "trustdesk-admin"
NOTICES = "notices"
MODULE_SECRET = "module-secret-for-tests-only-0123456789"


class SynapseUnavailable(RuntimeError):
    """Synapse could not be installed or started here."""


def _python() -> Path:
    return VENV / "bin" / "python"


def ensure_synapse() -> Path:
    """The Synapse virtualenv's Python, installing Synapse first when absent."""
    python = _python()
    check = [str(python), "-c", "import synapse.app.homeserver"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)
        if done.returncode != 0:
            raise SynapseUnavailable(f"{' '.join(step[:4])} failed: {done.stderr.strip()[-800:]}")
    if subprocess.run(check, capture_output=True, check=False).returncode != 0:
        raise SynapseUnavailable("Synapse installed but does not import")
    return python


def synapse_or_skip(tmp: Path, *, blocked_media: list[str] | None = None) -> Homeserver:
    """A started homeserver, or a skip (a failure under ``TRUSTDESK_REQUIRE_SYNAPSE=1``)."""
    try:
        server = Homeserver(ensure_synapse(), tmp, blocked_media=blocked_media or [])
        server.start()
    except (SynapseUnavailable, OSError, subprocess.SubprocessError) as exc:
        message = f"Synapse is not available here: {exc}"
        if os.environ.get("TRUSTDESK_REQUIRE_SYNAPSE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return server


BLOCKED_MEDIA = b"trustdesk test media on the block-list"
"""Bytes whose SHA-256 the shared homeserver's Trustdesk module refuses."""

_shared: Homeserver | None = None
_unavailable: str | None = None


def shared_homeserver() -> Homeserver:
    """The one homeserver of this test session (started on first use, stopped at exit).

    A failed start is remembered: later callers skip (or fail) at once instead of installing again.
    """
    global _shared, _unavailable  # noqa: PLW0603 - one homeserver per test session
    if _unavailable is not None:
        if os.environ.get("TRUSTDESK_REQUIRE_SYNAPSE") == "1":
            pytest.fail(_unavailable)
        pytest.skip(_unavailable)
    if _shared is None:
        directory = Path(tempfile.mkdtemp(prefix="trustdesk-synapse-"))
        try:
            server = synapse_or_skip(directory, blocked_media=[hashlib.sha256(BLOCKED_MEDIA).hexdigest()])
        except (pytest.skip.Exception, pytest.fail.Exception) as exc:
            _unavailable = str(exc)
            raise
        atexit.register(server.stop)
        _shared = server
    return _shared


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MatrixError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


class Homeserver:
    """One Synapse process with its config, database and tokens."""

    def __init__(self, python: Path, directory: Path, *, blocked_media: list[str]) -> None:
        self.python = python
        self.directory = directory
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self.as_token = secrets.token_hex(16)
        self.blocked_media = blocked_media
        self.database = directory / "homeserver.db"
        self.module_database = directory / "trustdesk-module.db"
        self.process: subprocess.Popen[bytes] | None = None
        self.admin_token = ""
        self.admin_id = f"@{ADMIN}:{SERVER_NAME}"

    # ------------------------------------------------------------------------------ lifecycle

    def write_config(self) -> Path:
        appservice = self.directory / "seeder.yaml"
        appservice.write_text(
            json.dumps(
                {
                    "id": "trustdesk-test-seeder",
                    "url": None,
                    "as_token": self.as_token,
                    "hs_token": secrets.token_hex(16),
                    "sender_localpart": "seeder",
                    "namespaces": {"users": [{"exclusive": False, "regex": "@.*"}]},
                    "rate_limited": False,
                }
            )
        )
        relaxed = {"per_second": 10000, "burst_count": 10000}
        config = {
            "server_name": SERVER_NAME,
            "pid_file": str(self.directory / "homeserver.pid"),
            "signing_key_path": str(self.directory / "signing.key"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.database)}},
            "media_store_path": str(self.directory / "media"),
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "report_stats": False,
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "redaction_retention_period": None,
            "user_ips_max_age": None,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "app_service_config_files": [str(appservice)],
            "server_notices": {"system_mxid_localpart": NOTICES, "room_name": "Server Notices"},
            "rc_message": relaxed,
            "rc_registration": relaxed,
            "rc_login": {"address": relaxed, "account": relaxed, "failed_attempts": relaxed},
            "rc_admin_redaction": relaxed,
            "rc_joins": {"local": relaxed, "remote": relaxed},
            "rc_invites": {"per_room": relaxed, "per_user": relaxed, "per_issuer": relaxed},
            "rc_media_create": relaxed,
            "modules": [
                {
                    "module": "trustdesk.platform.matrix.module.TrustdeskModule",
                    "config": {
                        "database_path": str(self.module_database),
                        "shared_secret": MODULE_SECRET,
                        "blocked_media_sha256": self.blocked_media,
                    },
                }
            ],
        }
        path = self.directory / "homeserver.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        return path

    def start(self) -> None:
        config = self.write_config()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        command = [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config)]
        subprocess.run(
            [*command, "--generate-keys"], env=env, capture_output=True, check=True, cwd=self.directory
        )
        with (self.directory / "synapse.log").open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.directory / "synapse.log").read_text(errors="replace")[-2000:]
                raise SynapseUnavailable(f"Synapse exited with {self.process.returncode}: {tail}")
            try:
                self.call("GET", "/_matrix/client/versions")
                break
            except (OSError, MatrixError):
                time.sleep(0.2)
        else:
            self.stop()
            raise SynapseUnavailable("Synapse did not answer within 90 s")
        self.admin_token = self.register(ADMIN, admin=True)["access_token"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    # ------------------------------------------------------------------------------ HTTP

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
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(url, data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise MatrixError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(payload) if payload else {}

    def admin(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call(method, path, body, token=self.admin_token, **kwargs)

    # ------------------------------------------------------------------------------ seeding

    def register(self, localpart: str, *, admin: bool = False, password: str = "correct horse") -> Any:
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
        return f"@{localpart}:{SERVER_NAME}"

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

    def login(self, localpart: str, password: str = "correct horse") -> str:
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

    def upload(self, data: bytes, *, token: str | None = None, user_id: str | None = None) -> str:
        query = None if user_id is None else {"user_id": user_id}
        done = self.call(
            "POST",
            "/_matrix/media/v3/upload",
            token=token or self.as_token,
            raw=data,
            content_type="application/octet-stream",
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

    def purge_room(self, room_id: str) -> None:
        """Shut the room down and purge it from the database (synchronous admin API v1)."""
        self.admin(
            "DELETE",
            f"/_synapse/admin/v1/rooms/{urllib.parse.quote(room_id, safe='')}",
            {"block": False, "purge": True, "force_purge": True},
        )

    def forget_module_events(self, room_ids: list[str]) -> None:
        """Drop purged rooms' events from the Trustdesk module's log (sequence numbers keep rising)."""
        if not room_ids or not self.module_database.exists():
            return
        connection = self._database(self.module_database)
        try:
            marks = ", ".join("?" for _ in room_ids)
            connection.execute(f"DELETE FROM events WHERE room_id IN ({marks})", room_ids)
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
