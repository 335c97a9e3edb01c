"""Content safety end to end: a real Synapse with the Trustdesk module, and a real `trustdesk serve`.

Trustdesk runs as its own process (``TRUSTDESK_BUS=memory``: the scanner inside ``serve``) on a migrated
SQLite database of its own, with ``TRUSTDESK_PLATFORM=matrix`` so that its removals redact through the
Matrix connector. Its platform token and banks are made with the ``trustdesk`` CLI before it starts; the
homeserver's module is configured with ``trustdesk_url`` (that server) and ``trustdesk_token``. Shown:

* an upload whose PDQ is within an ``auto_remove`` bank's threshold (a resized, recompressed copy of a
  banked image: other bytes) is refused by Synapse; an unrelated image uploads. The banked image is the
  PDQ conformance photograph from the shared test data, or a drawn picture where that is absent;
* a message matching an ``auto_remove`` starter rule is redacted within seconds;
* an image matching a ``review`` bank opens a case in Trustdesk's database.
"""

import csv
import io
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.synapse import (
    Homeserver,
    MatrixError,
    SynapseUnavailable,
    ensure_synapse,
    require_synapse,
    synapse_or_skip,
)
from trustdesk.db import make_engine
from trustdesk.safety.hashing.image import hash_image
from trustdesk.safety.models import Case, Enforcement, Signal
from trustdesk.safety.rules import load_rules
from trustdesk.safety.vocabulary import BankAction

pytestmark = pytest.mark.slow
PDQ_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq"
ORIGINAL = PDQ_DATA / "images" / "bridge-mods" / "aaa-orig.jpg"
THRESHOLD = 31


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def drawn(seed: int) -> bytes:
    """A deterministic picture of coloured ellipses (high PDQ quality, far from the photographs)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (320, 240), (rng.randrange(256),) * 3)
    pen = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(320), rng.randrange(240)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        pen.ellipse((x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 120)), fill=colour)
    return jpeg(image)


def altered_copy(data: bytes) -> bytes:
    """The image at three quarters of its size, recompressed at JPEG quality 60: other bytes."""
    with Image.open(io.BytesIO(data)) as image:
        smaller = image.convert("RGB").resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
    return jpeg(smaller, quality=60)


def auto_remove_example() -> tuple[str, str]:
    """``(rule id, text)``: a should-match example of a starter ``auto_remove`` rule without conditions
    (so the private room the module reports matches)."""
    for rule in load_rules().rules:
        conditions = rule.conditions
        unconditional = not (
            conditions.chat_types
            or conditions.min_audience
            or conditions.max_audience
            or conditions.languages
            or conditions.min_account_age_days is not None
            or conditions.max_account_age_days is not None
        )
        if rule.action is BankAction.AUTO_REMOVE and unconditional:
            for example in rule.examples:
                if example.should_match and example.event.text.isascii():
                    return rule.id, example.event.text
    raise AssertionError("the starter rules have no unconditional auto_remove rule with an example")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    homeserver: Homeserver
    trustdesk_url: str
    engine: Engine
    banked: bytes
    review_image: bytes
    room: str
    sender: str
    member_token: str

    def case_for(self, event_id: str) -> Case | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalar(select(Case).where(Case.event_key == f"synapse:{event_id}"))

    def signals_for(self, event_id: str) -> set[tuple[str, str]]:
        """``(detector, source)`` of every signal recorded for the event."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Signal.detector, Signal.source).where(Signal.event_key == f"synapse:{event_id}")
            )
            return {(detector, source) for detector, source in rows}

    def enforcement_for(self, event_id: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(Enforcement.outcome).where(Enforcement.event_key == f"synapse:{event_id}")
            )

    def seen_by_member(self, event_id: str) -> dict[str, Any]:
        path = (
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(self.room)}/event/{urllib.parse.quote(event_id)}"
        )
        event: dict[str, Any] = self.homeserver.call("GET", path, token=self.member_token)
        return event


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "trustdesk.cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"trustdesk {' '.join(args)} failed: {done.stderr}{done.stdout}"
    return done.stdout


def _bank(env: dict[str, str], cwd: Path, name: str, action: str, image: bytes) -> str:
    hashes = hash_image(image)
    assert hashes.quality >= 50
    path = cwd / f"{name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hash", "type", "quality"])
        writer.writerow([hashes.pdq, "pdq", hashes.quality])
    _cli(env, cwd, "bank", "create", name, "--category", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
         "--action", action, "--threshold", str(THRESHOLD))  # fmt: skip
    _cli(env, cwd, "bank", "import", name, str(path))
    return hashes.pdq


def _start_trustdesk(env: dict[str, str], cwd: Path, url: str, token: str) -> subprocess.Popen[bytes]:
    log = (cwd / "trustdesk.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "trustdesk.cli", "serve"],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (cwd / "trustdesk.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"trustdesk serve did not start:\n{tail}")
            time.sleep(0.1)
        # load the banks (and compile the index's loops) now, not during the first upload
        answer = httpx2.post(
            f"{url}/api/v1/match",
            json={"pdq": ["0" * 64]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
    except BaseException:
        _stop(process)
        raise
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def banked_original() -> bytes:
    """The PDQ conformance photograph when the shared test data is here, else a drawn picture."""
    return ORIGINAL.read_bytes() if ORIGINAL.exists() else drawn(3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:  # before any Trustdesk work: skip (or fail) at once without Synapse
        ensure_synapse()
    except (SynapseUnavailable, OSError, subprocess.SubprocessError) as exc:
        require_synapse(f"Synapse is not available here: {exc}")
    original = banked_original()
    review_image = drawn(1)
    directory = tmp_path_factory.mktemp("synapse-trustdesk")
    work = directory / "trustdesk"
    work.mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{work}/trustdesk.db"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRUSTDESK_")}
    env.update(
        {
            "TRUSTDESK_ENVIRONMENT": "development",
            "TRUSTDESK_DATABASE_URL": database_url,
            "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{work}/platform.db",
            "TRUSTDESK_SIGNING_KEY_PATH": f"{work}/signing.pem",
            "TRUSTDESK_INDEX_DIR": f"{work}/index",
            "TRUSTDESK_MATRIX_STATE_DIR": f"{work}/matrix",
            "TRUSTDESK_BUS": "memory",
            "TRUSTDESK_HOST": "127.0.0.1",
            "TRUSTDESK_PORT": str(port),
        }
    )
    _cli(env, work, "db", "upgrade")
    token = _cli(env, work, "platform-token", "create", "synapse").split()[3]
    assert token.startswith("tdp_")
    _bank(env, work, "e2e-terror", "auto_remove", original)
    _bank(env, work, "e2e-review", "review", review_image)

    config = {"trustdesk_url": url, "trustdesk_token": token, "timeout_seconds": 30}
    homeserver = synapse_or_skip(directory / "synapse", module_config=config)
    engine = make_engine(database_url)
    process: subprocess.Popen[bytes] | None = None
    try:
        process = _start_trustdesk({**env, **homeserver.env()}, work, url, token)
        suffix = secrets.token_hex(3)
        sender, member = f"td_e2e_ana_{suffix}", f"td_e2e_ben_{suffix}"
        homeserver.register(sender)
        homeserver.register(member)
        room = homeserver.create_private_room(homeserver.user_id(sender), homeserver.user_id(member))
        yield Stack(
            homeserver=homeserver,
            trustdesk_url=url,
            engine=engine,
            banked=original,
            review_image=review_image,
            room=room,
            sender=homeserver.user_id(sender),
            member_token=homeserver.login(member),
        )
    finally:
        if process is not None:
            _stop(process)
        engine.dispose()
        homeserver.stop()


def test_an_altered_copy_of_a_banked_image_is_refused_at_upload(stack: Stack) -> None:
    copy = altered_copy(stack.banked)
    assert copy != stack.banked
    assert distance(hash_image(copy).pdq, hash_image(stack.banked).pdq) <= THRESHOLD
    unrelated = drawn(2)
    assert distance(hash_image(unrelated).pdq, hash_image(stack.banked).pdq) > THRESHOLD

    with pytest.raises(MatrixError) as refused:
        stack.homeserver.upload(copy, user_id=stack.sender, content_type="image/jpeg")
    allowed = stack.homeserver.upload(unrelated, user_id=stack.sender, content_type="image/jpeg")

    # the module answers Synapse's spam checker with M_FORBIDDEN; Synapse turns any refusal of media
    # into 400 "Bad content" (synapse/rest/media/upload_resource.py), so the log shows whose it was
    assert refused.value.status == 400
    assert "Bad content" in str(refused.value)
    assert allowed.startswith("mxc://")
    log = (stack.homeserver.directory / "synapse.log").read_text(errors="replace")
    assert "Trustdesk's verdict is block" in log
    assert "fail_mode open" not in log  # Trustdesk really answered


def test_a_message_matching_an_auto_remove_rule_is_redacted(stack: Stack) -> None:
    rule_id, text = auto_remove_example()
    event_id = stack.homeserver.send(stack.room, stack.sender, {"msgtype": "m.text", "body": text})

    def redacted() -> bool:
        event = stack.seen_by_member(event_id)
        return event["content"] == {} and "redacted_because" in event.get("unsigned", {})

    wait_for(redacted, f"the redaction of {event_id}")
    assert stack.enforcement_for(event_id) == "removed"
    assert ("rule", rule_id) in stack.signals_for(event_id)
    assert stack.case_for(event_id) is None


def test_an_image_matching_a_review_bank_opens_a_case(stack: Stack) -> None:
    mxc = stack.homeserver.upload(stack.review_image, user_id=stack.sender, content_type="image/jpeg")
    content = {"msgtype": "m.image", "body": "drawing.jpg", "url": mxc}
    event_id = stack.homeserver.send(stack.room, stack.sender, content)

    case = wait_for(lambda: stack.case_for(event_id), f"a case for {event_id}")

    assert case.status.value == "open"
    assert case.content_kind.value == "image"
    assert case.account_id == stack.sender
    assert case.locator == f"matrix://room/{stack.room}/message/{event_id}"
    assert stack.seen_by_member(event_id)["content"] != {}  # review only: nothing removed
    assert ("pdq", "e2e-review") in stack.signals_for(event_id)
    assert stack.enforcement_for(event_id) is None
