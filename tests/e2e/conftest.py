"""Browser tests: a real `trustdesk serve` with the demo data, driven by Playwright in Debian's Chromium.

Without Chromium they skip on a laptop (with a message) and fail in CI (TRUSTDESK_REQUIRE_BROWSER=1).
Screenshots go to the test's folder, and to docs/screenshots/ with TRUSTDESK_UPDATE_SCREENSHOTS=1.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pyotp
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str:
    path = os.environ.get("TRUSTDESK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Chromium is not installed (apt-get install chromium, or set TRUSTDESK_CHROMIUM)"
        if os.environ.get("TRUSTDESK_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; TRUSTDESK_REQUIRE_BROWSER=1: browser tests must run", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API keeps an event loop running in the main thread while it is open,
    which would break every later test that runs asyncio itself."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Live:
    url: str
    env: dict[str, str]
    demo: dict[str, Any]
    shots: Path

    def account(self, email: str) -> dict[str, str]:
        for person in [*self.demo["officers"], *self.demo["staff"]]:
            if person["email"] == email:
                return dict(person)
        raise KeyError(email)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "trustdesk.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def screenshot(self, page: Page, name: str) -> None:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("TRUSTDESK_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    port = _free_port()
    env = {
        **os.environ,
        "TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path}/trustdesk.db",
        "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{tmp_path}/platform.db",
        "TRUSTDESK_SIGNING_KEY_PATH": f"{tmp_path}/signing.pem",
        "TRUSTDESK_TOTP_KEY_PATH": f"{tmp_path}/totp-key",
        "TRUSTDESK_PORT": str(port),
        "TRUSTDESK_HOST": "127.0.0.1",
    }
    live = Live(f"http://localhost:{port}", env, {}, tmp_path / "shots")
    live.shots.mkdir()
    live.cli("db", "upgrade")
    live.demo = json.loads(live.cli("demo", "--users", "40", "--json"))
    server = subprocess.Popen(
        [sys.executable, "-m", "trustdesk.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("trustdesk serve did not start")
            time.sleep(0.1)
        yield live
    finally:
        server.terminate()
        server.wait(10)


_last_steps: dict[str, int] = {}


def fresh_code(secret: str) -> str:
    """A code the desk has not accepted yet (a code works once): the current step's, else the next one's
    (one step of drift is accepted), else wait for a new step, as a person would."""
    totp = pyotp.TOTP(secret)
    step = _last_steps.get(secret, -1) + 1
    while step > totp.timecode(datetime.now(UTC)) + 1:
        time.sleep(0.2)
    step = max(step, totp.timecode(datetime.now(UTC)))
    _last_steps[secret] = step
    return totp.generate_otp(step)


def log_in(page: Page, live: Live, face: str, email: str) -> None:
    account = live.account(email)
    page.goto(f"{live.url}/{face}/login")
    page.get_by_label("Official e-mail").fill(email)
    page.get_by_label("Password").fill(account["password"])
    page.get_by_label("Authentication code").fill(fresh_code(account["totp_secret"]))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live.url}/{face}**")
