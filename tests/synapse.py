"""A real Synapse on loopback for the Matrix connector's tests: `trustdesk.platform.matrix.devserver`.

`ensure_synapse` installs Synapse into ``.venv-synapse/`` beside ``.venv`` when it is absent. When Synapse
cannot be installed (no network), `synapse_or_skip` skips with the reason, or fails when
``TRUSTDESK_REQUIRE_SYNAPSE=1``.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

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


def synapse_or_skip(tmp: Path, *, blocked_media: list[str] | None = None) -> Homeserver:
    """A started homeserver, or a skip (a failure under ``TRUSTDESK_REQUIRE_SYNAPSE=1``)."""
    try:
        server = Homeserver(
            ensure_synapse(), tmp, blocked_media=blocked_media or [], module_secret=MODULE_SECRET
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
