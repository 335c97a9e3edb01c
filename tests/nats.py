"""A nats-server of the tests' own: loopback, a free port, a temporary store; stop, kill and restart at will.

`nats_or_skip` starts one for a test (or a module); `shared_nats_server` is the one of the whole session,
for tests that only need *a* server (give each bus its own ``prefix``, see `unique_prefix`). Without
``nats-server`` installed they skip with the reason, or fail when ``TRUSTDESK_REQUIRE_NATS=1`` (CI).
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

__all__ = [
    "NatsServer",
    "NatsUnavailable",
    "find_nats_server",
    "nats_or_skip",
    "require_nats",
    "shared_nats_server",
    "unique_prefix",
]

CANDIDATES = ("/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server")


class NatsUnavailable(Exception):
    """nats-server is not installed here, or would not start."""


def find_nats_server() -> str:
    """The nats-server executable (``TRUSTDESK_NATS_SERVER``, the PATH, then the usual places)."""
    for candidate in (os.environ.get("TRUSTDESK_NATS_SERVER"), shutil.which("nats-server"), *CANDIDATES):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise NatsUnavailable("nats-server is not installed (apt-get install nats-server)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_prefixes = itertools.count()


def unique_prefix() -> str:
    """A stream/subject prefix no other bus of this session uses."""
    return f"t{uuid.uuid4().hex[:8]}{next(_prefixes)}"


class NatsServer:
    """One nats-server with JetStream, storing under ``directory``; the port stays the same on restart."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.executable = find_nats_server()
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "nats-server.log"

    def start(self, timeout: float = 10.0) -> NatsServer:
        if self.process is not None:
            return self
        store = self.directory / "store"
        store.mkdir(parents=True, exist_ok=True)
        command = [self.executable, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(store)]
        command += ["-l", str(self.log_path)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise NatsUnavailable(f"nats-server exited at start: {self._log_tail()}")
            if self._ready():
                return self
            time.sleep(0.02)
        self.stop()
        raise NatsUnavailable(f"nats-server did not start within {timeout:g}s: {self._log_tail()}")

    def _ready(self) -> bool:
        """The server answers with its INFO line, and JetStream is up (logged before 'Server is ready')."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                if not s.recv(4096).startswith(b"INFO"):
                    return False
        except OSError:
            return False
        return self.log_path.exists() and "Server is ready" in self.log_path.read_text(errors="replace")

    def _log_tail(self) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])

    def stop(self) -> None:
        """A clean shutdown (SIGTERM); what JetStream acknowledged is on disk."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self.log_path.exists():  # the next start waits for its own "Server is ready"
            self.log_path.rename(self.log_path.with_suffix(f".{time.monotonic_ns()}.log"))

    def restart(self) -> NatsServer:
        self.stop()
        return self.start()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def require_nats(message: str) -> None:
    """Skip with ``message``, or fail under ``TRUSTDESK_REQUIRE_NATS=1``."""
    if os.environ.get("TRUSTDESK_REQUIRE_NATS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def nats_or_skip(directory: Path) -> NatsServer:
    """A started server storing under ``directory`` (stop it yourself), or a skip (a failure in CI)."""
    try:
        return NatsServer(directory).start()
    except (NatsUnavailable, OSError) as exc:
        require_nats(f"NATS is not available here: {exc}")
        raise  # unreachable: require_nats raises


_shared: NatsServer | None = None
_unavailable: str | None = None


def shared_nats_server() -> NatsServer:
    """The one server of this test session, started on first use and stopped at exit. Do not restart it."""
    global _shared, _unavailable  # noqa: PLW0603 - one server per test session
    if _unavailable is not None:
        require_nats(_unavailable)
    if _shared is None:
        directory = Path(tempfile.mkdtemp(prefix="trustdesk-nats-"))
        try:
            server = nats_or_skip(directory)
        except (pytest.skip.Exception, pytest.fail.Exception) as exc:
            _unavailable = str(exc)
            raise

        def stop() -> None:
            server.stop()
            shutil.rmtree(directory, ignore_errors=True)

        atexit.register(stop)
        _shared = server
    return _shared
