"""A local development Synapse: the homeserver of ``trustdesk demo --platform matrix`` and of the tests.

`ensure_synapse` installs Synapse into a virtualenv of its own (``.venv-synapse/`` beside ``.venv``, never
the project's) from ``requirements-synapse.txt``; `DevServer` keeps a data directory (``var/synapse`` for
the demo) with a loopback config (SQLite, a registration shared secret, no federation, no open
registration, relaxed rate limits, server notices, the Trustdesk module, an application service used
only to back-date seeded messages), starts Synapse in a session of its own (it outlives the command that
started it; the pid is in ``synapse.pid``), stops it, and offers the calls that seed users, sessions,
rooms and messages (`trustdesk.platform.matrix.devseed`).

Never point any of this at a production homeserver: it writes into Synapse's SQLite database directly to
back-date sessions.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustdesk
from trustdesk.platform.matrix.devseed import Seeding

SOURCE = Path(trustdesk.__file__).resolve().parent.parent
"""The directory holding the ``trustdesk`` package: on Synapse's path, for the Trustdesk module."""

REQUIREMENTS = Path(__file__).resolve().parents[4] / "requirements-synapse.txt"
"""Synapse's pinned requirements, at the root of the source checkout."""

SERVER_NAME = "trustdesk.test"
ADMIN = "trustdesk-admin"
NOTICES = "notices"
STATE_FILE = "devserver.json"
PID_FILE = "synapse.pid"
LOG_FILE = "synapse.log"


class SynapseUnavailable(RuntimeError):
    """Synapse could not be installed or started here."""


class MatrixError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


def ensure_synapse(venv: Path, requirements: Path = REQUIREMENTS) -> Path:
    """The Synapse virtualenv's Python, installing Synapse into ``venv`` first when absent."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import synapse.app.homeserver"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    if not requirements.exists():
        raise SynapseUnavailable(f"{requirements} is missing: run this from a source checkout")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)
        if done.returncode != 0:
            raise SynapseUnavailable(f"{' '.join(step[:4])} failed: {done.stderr.strip()[-800:]}")
    if subprocess.run(check, capture_output=True, check=False).returncode != 0:
        raise SynapseUnavailable("Synapse installed but does not import")
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int, *, ours: bool = False) -> bool:
    """Whether ``pid`` runs (a child of ours that exited is reaped, not counted).

    A pid read from a file must also be a Synapse (pids are reused); one we spawned need not (just
    spawned, it may not have exec'd yet)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    return ours or not cmdline.exists() or b"synapse.app.homeserver" in cmdline.read_bytes()


def demo_phone(index: int) -> str:
    """The E.164 phone number of demo user ``index`` (1-based)."""
    return f"+491555{index:07d}"


def demo_localpart(index: int) -> str:
    return f"demo{index:04d}"


_FIRST = ["Alice", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivo", "Jana"]
_LAST = ["Novak", "Schmidt", "Rossi", "Dubois", "Kowalski", "Silva", "Jensen", "Horvat", "Moreau"]
_LINES = [
    "are we still on for tomorrow?",
    "sent you the photos",
    "call me when you land",
    "the meeting moved to 3pm",
    "thanks, see you there",
    "did you get my message?",
]


@dataclass
class DemoSeed:
    """What `DevServer.seed_demo` created (cumulatively, over every run on this data directory)."""

    users: int = 0
    rooms: int = 0
    messages: int = 0
    sessions: int = 0
    phones: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "users": self.users,
            "sessions": self.sessions,
            "chats": self.rooms,
            "messages": self.messages,
        }


class DevServer(Seeding):
    """One Synapse data directory: config, secrets, database, process and admin token.

    The secrets and the port are generated once and kept in ``devserver.json`` (mode 0600), so a
    stopped server starts again with its data and the settings written for Trustdesk stay valid.
    """

    def __init__(
        self,
        python: Path,
        directory: Path,
        *,
        blocked_media: Sequence[str] = (),
        module_secret: str | None = None,
        server_name: str = SERVER_NAME,
        module_config: Mapping[str, Any] | None = None,
    ) -> None:
        """``module_config`` adds to the Trustdesk module's config (e.g. ``trustdesk_url``)."""
        self.python = python
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.state_path = self.directory / STATE_FILE
        self.pid_path = self.directory / PID_FILE
        self.log_path = self.directory / LOG_FILE
        state: dict[str, Any] = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.state: dict[str, Any] = {
            "server_name": server_name,
            "port": _free_port(),
            "shared_secret": secrets.token_hex(16),
            "as_token": secrets.token_hex(16),
            "hs_token": secrets.token_hex(16),
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "module_secret": module_secret or secrets.token_hex(20),
            "admin_password": secrets.token_hex(12),
            "admin_token": "",
            "seeded": {},
            **state,
        }
        self.blocked_media = list(blocked_media)
        self.module_config = dict(module_config or {})
        self.server_name = str(self.state["server_name"])
        self.port = int(self.state["port"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = str(self.state["shared_secret"])
        self.as_token = str(self.state["as_token"])
        self.module_secret = str(self.state["module_secret"])
        self.admin_token = str(self.state["admin_token"])
        self.admin_id = f"@{ADMIN}:{self.server_name}"
        self.database = self.directory / "homeserver.db"
        self.module_database = self.directory / "trustdesk-module.db"
        self.pid: int | None = None
        self._save()

    def _save(self) -> None:
        self.state["admin_token"] = self.admin_token
        self.state_path.touch(mode=0o600)
        self.state_path.write_text(json.dumps(self.state, indent=1))

    # ------------------------------------------------------------------------------ lifecycle

    def write_config(self) -> Path:
        appservice = self.directory / "seeder.yaml"
        appservice.write_text(
            json.dumps(
                {
                    "id": "trustdesk-dev-seeder",
                    "url": None,
                    "as_token": self.as_token,
                    "hs_token": self.state["hs_token"],
                    "sender_localpart": "seeder",
                    "namespaces": {"users": [{"exclusive": False, "regex": "@.*"}]},
                    "rate_limited": False,
                }
            )
        )
        relaxed = {"per_second": 10000, "burst_count": 10000}
        config = {
            "server_name": self.server_name,
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
            "bcrypt_rounds": 4,
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "redaction_retention_period": None,
            "user_ips_max_age": None,
            "macaroon_secret_key": self.state["macaroon_secret_key"],
            "form_secret": self.state["form_secret"],
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
                        "shared_secret": self.module_secret,
                        "blocked_media_sha256": self.blocked_media,
                        **self.module_config,
                    },
                }
            ],
        }
        path = self.directory / "homeserver.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        return path

    def running_pid(self) -> int | None:
        """The pid of this directory's Synapse when it runs (from ``synapse.pid``)."""
        if self.pid is not None and _alive(self.pid, ours=True):
            return self.pid
        if not self.pid_path.exists():
            return None
        try:
            pid = int(self.pid_path.read_text().strip())
        except ValueError:
            return None
        return pid if _alive(pid) else None

    def start(self, *, timeout: float = 90) -> None:
        """Start Synapse (unless it already runs here) in a session of its own; register the admin.

        The process is not tied to this one: it keeps running after this process exits, until `stop`.
        """
        if (pid := self.running_pid()) is not None:
            self.pid = pid
        else:
            self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running_pid() is None:
                tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
                self.pid_path.unlink(missing_ok=True)
                raise SynapseUnavailable(f"Synapse exited: {tail}")
            try:
                self.call("GET", "/_matrix/client/versions")
                break
            except (OSError, MatrixError):
                time.sleep(0.2)
        else:
            self.stop()
            raise SynapseUnavailable(f"Synapse did not answer within {timeout:.0f} s")
        self._ensure_admin()

    def _spawn(self) -> None:
        config = self.write_config()
        env = {**os.environ, "PYTHONPATH": str(SOURCE)}
        command = [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config)]
        subprocess.run(
            [*command, "--generate-keys"], env=env, capture_output=True, check=True, cwd=self.directory
        )
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.pid = os.posix_spawn(
                str(self.python),
                command,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                ],
                setsid=True,
            )
        finally:
            os.close(log)
        self.pid_path.write_text(f"{self.pid}\n")

    def _ensure_admin(self) -> None:
        if self.admin_token:
            try:
                self.call("GET", "/_matrix/client/v3/account/whoami", token=self.admin_token)
                return
            except MatrixError:
                self.admin_token = ""
        password = str(self.state["admin_password"])
        try:
            self.admin_token = str(self.register(ADMIN, admin=True, password=password)["access_token"])
        except MatrixError as exc:
            if exc.status != 400:
                raise
            self.admin_token = self.login(ADMIN, password)
        self._save()

    def stop(self, *, timeout: float = 20) -> bool:
        """Stop this directory's Synapse; False when it was not running."""
        pid = self.running_pid()
        self.pid = None
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid, ours=True):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + timeout
            time.sleep(0.1)
        self.pid_path.unlink(missing_ok=True)
        return True

    def env(self) -> dict[str, str]:
        """The Trustdesk settings that connect to this homeserver."""
        return {
            "TRUSTDESK_PLATFORM": "matrix",
            "TRUSTDESK_MATRIX_BASE_URL": self.base_url,
            "TRUSTDESK_MATRIX_ADMIN_TOKEN": self.admin_token,
            "TRUSTDESK_MATRIX_SERVER_NAME": self.server_name,
            "TRUSTDESK_MATRIX_MODULE_SECRET": self.module_secret,
        }

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

    # ------------------------------------------------------------------------------ clean slates

    def purge_room(self, room_id: str, *, attempts: int = 4) -> None:
        """Shut the room down and purge it from the database (synchronous admin API v1).

        The shutdown's own leave events are persisted while the purge starts; on SQLite the purge then
        sometimes hits a foreign key of Synapse's sliding-sync tables (500). Purging again succeeds.
        """
        for attempt in range(attempts):
            try:
                self.admin(
                    "DELETE",
                    f"/_synapse/admin/v1/rooms/{urllib.parse.quote(room_id, safe='')}",
                    {"block": False, "purge": True, "force_purge": True},
                )
            except MatrixError as exc:
                if exc.status != 500 or attempt == attempts - 1:
                    raise
                time.sleep(0.5)
            else:
                return

    # ------------------------------------------------------------------------------ demo data

    def seed_demo(self, users: int, *, seed: int = 7, now_ms: int | None = None) -> DemoSeed:
        """Demo users ``demo0001``... with phones (`demo_phone`), e-mails, back-dated sessions, private
        rooms between neighbours and messages. Idempotent: users seeded before are kept, only the missing
        ones are added."""
        done = DemoSeed(**{k: v for k, v in self.state["seeded"].items() if k != "phones"})
        rng = random.Random(seed)
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        day = 86_400_000
        for index in range(done.users + 1, users + 1):
            localpart, user = demo_localpart(index), self.user_id(demo_localpart(index))
            self.register(localpart, password=f"demo-password-{index}")
            first, last = _FIRST[(index - 1) % len(_FIRST)], _LAST[(index - 1) % len(_LAST)]
            self.set_profile(
                user,
                phone=demo_phone(index),
                email=f"{first}.{last}{index}@demo.example".lower(),
                displayname=f"{first} {last}",
            )
            sessions = [
                (
                    f"203.0.113.{rng.randrange(1, 255)}",
                    "Element/1.11 (Android 14)",
                    now - rng.randrange(2, 90) * day,
                ),
                (
                    f"198.51.100.{rng.randrange(1, 255)}",
                    "Element/1.11 (Web)",
                    now - rng.randrange(0, 2) * day,
                ),
            ]
            self.seed_sessions(user, sessions)
            done.users, done.sessions = index, done.sessions + len(sessions)
            if index % 2 == 0:
                other = self.user_id(demo_localpart(index - 1))
                room = self.create_private_room(other, user)
                done.rooms += 1
                for step in range(3):
                    sender = (other, user)[step % 2]
                    at = now - (30 - 10 * step) * day - rng.randrange(0, day)
                    self.send(room, sender, {"msgtype": "m.text", "body": rng.choice(_LINES)}, ts_ms=at)
                    done.messages += 1
            self.state["seeded"] = {k: v for k, v in done.__dict__.items() if k != "phones"}
            self._save()
        done.phones = [demo_phone(index) for index in range(1, done.users + 1)]
        return done
