"""A real Synapse on loopback for the Matrix connector's tests: `trustdesk.platform.matrix.devserver`.

`ensure_synapse` installs Synapse into ``.venv-synapse/`` beside ``.venv`` when it is absent. When Synapse
cannot be installed (no network), `synapse_or_skip` skips with the reason, or fails when
``TRUSTDESK_REQUIRE_SYNAPSE=1``.
"""

from __future__ import annotations

import atexit
import email.parser
import email.policy
import hashlib
import json
import os
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from trustdesk.platform.matrix import devserver
from trustdesk.platform.matrix.devserver import (
    ADMIN,
    NOTICES,
    SERVER_NAME,
    MatrixError,
    SynapseUnavailable,
)
from trustdesk.platform.matrix.devserver import DevServer as Homeserver

__all__ = [
    "ADMIN",
    "BLOCKED_MEDIA",
    "MODULE_SECRET",
    "NOTICES",
    "SERVER_NAME",
    "FakeTrustdesk",
    "Homeserver",
    "MatrixError",
    "SynapseUnavailable",
    "ensure_synapse",
    "require_synapse",
    "shared_homeserver",
    "synapse_or_skip",
]

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-synapse"
MODULE_SECRET = "module-secret-for-tests-only-0123456789"


def ensure_synapse() -> Path:
    """The Synapse virtualenv's Python, installing Synapse first when absent."""
    return devserver.ensure_synapse(VENV, ROOT / "requirements-synapse.txt")


def require_synapse(message: str) -> None:
    """Skip with ``message``, or fail under ``TRUSTDESK_REQUIRE_SYNAPSE=1``."""
    if os.environ.get("TRUSTDESK_REQUIRE_SYNAPSE") == "1":
        pytest.fail(message)
    pytest.skip(message)


def synapse_or_skip(
    tmp: Path, *, blocked_media: list[str] | None = None, module_config: dict[str, Any] | None = None
) -> Homeserver:
    """A started homeserver, or a skip (a failure under ``TRUSTDESK_REQUIRE_SYNAPSE=1``)."""
    try:
        server = Homeserver(
            ensure_synapse(),
            tmp,
            blocked_media=blocked_media or [],
            module_secret=MODULE_SECRET,
            module_config=module_config,
        )
        server.start()
    except (SynapseUnavailable, OSError, subprocess.SubprocessError) as exc:
        require_synapse(f"Synapse is not available here: {exc}")
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
        require_synapse(_unavailable)
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


class FakeTrustdesk:
    """A stand-in for Trustdesk's platform API on loopback (``/api/v1/match``, ``/api/v1/content-events``).

    It follows the API contract closely enough to drive the Synapse module: a bearer token, a match
    answer with the upload's MD5/SHA-256, a fixed PDQ hash and classifier scores, the verdict ``block``
    for the SHA-256 digests in ``blocked`` (else ``verdict``), and content items collected in ``items``.
    ``failures`` answers the next that many requests with 503.
    """

    PDQ = "f0" * 32

    def __init__(self, token: str) -> None:
        self.token = token
        self.blocked: set[str] = set()
        self.verdict = "allow"
        self.failures = 0
        self.uploads: list[tuple[str, bytes]] = []
        self.hash_queries: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeTrustdesk:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering; the port is closed (a never-started fake just closes its socket)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def answer_match(self, content_type: str, body: bytes) -> dict[str, Any]:
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            part = next(
                p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"
            )
            data = part.get_payload(decode=True)
            mime = part.get_content_type()
            with self._lock:
                self.uploads.append((mime, data))
            sha = hashlib.sha256(data).hexdigest()
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            verdict = "block" if sha in self.blocked else self.verdict
            return {
                "hashes": {"md5": md5, "sha256": sha, "pdq": self.PDQ, "quality": 90},
                "results": [],
                "classifier_scores": {"nudity": 0.02},
                "verdict": verdict,
            }
        query = json.loads(body)
        with self._lock:
            self.hash_queries.append(query)
        verdict = "block" if set(query.get("sha256", [])) & self.blocked else self.verdict
        return {"results": [], "verdict": verdict}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

            def _send(self, status: int, document: dict[str, Any]) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._send(401, {"code": "unauthorised"})
                    return
                with fake._lock:
                    failing = fake.failures > 0
                    fake.failures -= failing
                if failing:
                    self._send(503, {"code": "unavailable"})
                elif self.path == "/api/v1/match":
                    self._send(200, fake.answer_match(self.headers.get("Content-Type", ""), body))
                elif self.path == "/api/v1/content-events":
                    items = json.loads(body)["items"]
                    with fake._lock:
                        fake.items.extend(items)
                    self._send(202, {"accepted": len(items)})
                else:
                    self._send(404, {"code": "not_found"})

        return Handler
