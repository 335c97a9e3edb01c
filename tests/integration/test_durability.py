"""Durability for real: a server process is killed with SIGKILL at random moments while officers submit.

Every acknowledged request must be there exactly once after restarts, and a client that retries an
unanswered submission with its Idempotency-Key must never create a duplicate.
"""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from tests.factories import bearer, epoc, officer_key
from trustdesk.audit import service as audit
from trustdesk.clock import system_clock
from trustdesk.db import make_engine, make_session_factory
from trustdesk.lawful.models import LawfulRequest

pytestmark = pytest.mark.slow
ROUNDS = 5
CLIENTS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(database_url: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "TRUSTDESK_DATABASE_URL": database_url,
        "TRUSTDESK_REFERENCE_PLATFORM_URL": "sqlite://",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "trustdesk.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


class Officer:
    """A client that submits until the server dies, remembering what was acknowledged and what was not."""

    def __init__(self, name: str, base: str, key: str) -> None:
        self.name, self.base, self.key = name, base, key
        self.count = 0
        self.acknowledged: dict[str, str] = {}  # idempotency key -> tracking number
        self.unanswered: dict[str, dict[str, Any]] = {}

    def submit(self, idem: str, body: dict[str, Any], client: httpx2.Client) -> None:
        response = client.post(
            f"{self.base}/api/v1/requests", json=body, headers={**bearer(self.key), "Idempotency-Key": idem}
        )
        assert response.status_code == 201, response.text
        self.acknowledged[idem] = response.json()["tracking_number"]
        self.unanswered.pop(idem, None)

    def run_until_killed(self) -> None:
        with httpx2.Client(timeout=10) as client:
            while True:
                self.count += 1
                idem = f"{self.name}-{self.count}"
                body = epoc(reference=f"DUR-{idem}", emergency=False, emergency_justification=None)
                self.unanswered[idem] = body
                try:
                    self.submit(idem, body, client)
                except httpx2.TransportError:
                    return

    def retry_unanswered(self) -> None:
        with httpx2.Client(timeout=10) as client:
            for idem, body in list(self.unanswered.items()):
                self.submit(idem, body, client)


def test_every_acknowledged_request_survives_sigkill_exactly_once(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    key = officer_key(sessions, system_clock)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    seed = int(os.environ.get("TRUSTDESK_DURABILITY_SEED", random.randrange(1 << 30)))
    chance = random.Random(seed)
    officers = [Officer(f"o{i}", base, key) for i in range(CLIENTS)]
    kills = 0

    for _ in range(ROUNDS):
        with server(database_url, port, tmp_path / "server.log") as process:
            for officer in officers:  # what the last kill left unanswered is retried, as a client should
                officer.retry_unanswered()
            threads = [threading.Thread(target=o.run_until_killed) for o in officers]
            for thread in threads:
                thread.start()
            time.sleep(chance.uniform(0.2, 1.2))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            kills += 1
            for thread in threads:
                thread.join(30)
                assert not thread.is_alive()

    with server(database_url, port, tmp_path / "server.log"):
        for officer in officers:
            officer.retry_unanswered()
            assert not officer.unanswered

    acknowledged = {idem: tn for o in officers for idem, tn in o.acknowledged.items()}
    with sessions() as session:
        rows = session.execute(select(LawfulRequest.reference, LawfulRequest.tracking_number)).all()
        duplicates = session.execute(
            select(LawfulRequest.reference).group_by(LawfulRequest.reference).having(func.count() > 1)
        ).all()
        verdict = audit.verify(session)
    engine.dispose()

    stored = dict(rows)
    assert kills == ROUNDS
    assert len(acknowledged) > ROUNDS * CLIENTS, f"too little traffic to prove anything (seed {seed})"
    assert duplicates == [], f"duplicated requests (seed {seed})"
    for idem, tracking in acknowledged.items():
        assert stored.get(f"DUR-{idem}") == tracking, (
            f"acknowledged {idem} ({tracking}) was lost (seed {seed})"
        )
    assert len(rows) == len(acknowledged), f"requests nobody submitted (seed {seed})"
    assert verdict.ok, verdict.reason
