"""The platform's endpoints: upload-time matching of hashes and images, and content-event intake."""

import io
import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from tests.safety_world import AT, flip, import_hashes, make_bank, random_pdq
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.safety import tokens
from trustdesk.safety.hashing.image import hash_image
from trustdesk.safety.models import Case
from trustdesk.safety.vocabulary import BankAction

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq" / "images"


@pytest.fixture
def token(container: Container) -> dict[str, str]:
    with container.sessions() as session, session.begin():
        value = tokens.issue(session, container.clock, Actor.operator(), "synapse")
    container.platform_tokens.invalidate()
    return {"Authorization": f"Bearer {value}"}


def banked(container: Container, folder: Path, hashes: list[str], action: BankAction, name: str) -> None:
    with container.sessions() as session, session.begin():
        bank = make_bank(session, container.clock, name, action=action)
        import_hashes(session, container.clock, bank, folder, hashes)
    container.matcher.refresh()


def jpeg(image: Image.Image, quality: int = 80) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_the_match_endpoint_needs_a_platform_token(client: TestClient, token: dict[str, str]) -> None:
    body = {"pdq": ["0" * 64]}
    assert client.post("/api/v1/match", json=body).status_code == 401
    assert (
        client.post("/api/v1/match", json=body, headers={"Authorization": "Bearer tdp_wrong"}).status_code
        == 401
    )
    assert client.post("/api/v1/match", json=body, headers=token).status_code == 200


def test_hashes_match_in_input_order_with_a_verdict(
    client: TestClient, container: Container, token: dict[str, str], tmp_path: Path
) -> None:
    rng = random.Random(7)
    known = random_pdq(rng)
    banked(container, tmp_path, [known], BankAction.AUTO_REMOVE, "terror")
    near, far = flip(known, 30, rng), flip(known, 40, rng)

    answer = client.post("/api/v1/match", json={"pdq": [far, near]}, headers=token)

    assert answer.status_code == 200
    body = answer.json()
    assert [r["query"] for r in body["results"]] == [far, near]
    assert body["results"][0]["matches"] == []
    assert body["results"][1]["matches"][0] == {
        "bank": "terror", "type": "pdq", "hash": known, "distance": 30, "action": "auto_remove",
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    }  # fmt: skip
    assert body["verdict"] == "block"


@pytest.mark.parametrize(
    "body",
    [
        {"pdq": ["xyz"]},
        {"pdq": ["0" * 63]},
        {"md5": ["0" * 64]},
        {},
        {"pdq": ["0" * 64] * 1001},
        {"other": []},
    ],
)
def test_malformed_queries_are_refused_clearly(client: TestClient, token: dict[str, str], body: dict) -> None:
    answer = client.post("/api/v1/match", json=body, headers=token)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_resized_recompressed_copy_of_a_banked_image_is_blocked(
    client: TestClient, container: Container, token: dict[str, str], tmp_path: Path
) -> None:
    original = SHARED / "bridge-mods" / "aaa-orig.jpg"
    if not original.exists():
        pytest.skip(f"the PDQ test images are not at {SHARED}")
    banked(container, tmp_path, [hash_image(original.read_bytes()).pdq], BankAction.AUTO_REMOVE, "terror")
    with Image.open(original) as image:
        copy = jpeg(image.convert("RGB").resize((image.width // 2, image.height // 2)), quality=60)

    answer = client.post("/api/v1/match", files={"file": ("x.jpg", copy, "image/jpeg")}, headers=token)

    assert answer.status_code == 200
    body = answer.json()
    assert body["verdict"] == "block"
    assert body["hashes"]["quality"] >= 50
    assert body["results"][0]["matches"][0]["distance"] <= 31


def test_an_unrelated_image_is_allowed(client: TestClient, token: dict[str, str]) -> None:
    picture = jpeg(Image.linear_gradient("L").convert("RGB"))
    body = client.post(
        "/api/v1/match", files={"file": ("g.jpg", picture, "image/jpeg")}, headers=token
    ).json()
    assert body["verdict"] == "allow"


def test_a_file_that_is_not_an_image_changes_nothing(client: TestClient, token: dict[str, str]) -> None:
    answer = client.post(
        "/api/v1/match", files={"file": ("x.jpg", b"not an image", "image/jpeg")}, headers=token
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_media"


def test_an_oversized_upload_is_refused(
    client: TestClient, container: Container, token: dict[str, str]
) -> None:
    too_big = b"\xff\xd8" + b"0" * (container.settings.max_media_bytes + 70_000)
    answer = client.post("/api/v1/match", files={"file": ("x.jpg", too_big, "image/jpeg")}, headers=token)
    assert answer.status_code == 413


def test_content_events_are_scanned_and_a_review_match_opens_a_case(
    client: TestClient, container: Container, token: dict[str, str], tmp_path: Path
) -> None:
    known = random_pdq(random.Random(8))
    banked(container, tmp_path, [known], BankAction.REVIEW, "review")
    event = {
        "platform": "synapse", "event_id": "$e1", "kind": "image", "account_id": "@a:x", "chat_id": "!r:x",
        "chat_type": "group", "audience": 12, "at": AT.isoformat(), "locator": "mxc-event:!r:x/$e1",
        "media": {"pdq": [{"hash": known, "quality": 95}]},
    }  # fmt: skip

    answer = client.post("/api/v1/content-events", json={"items": [event]}, headers=token)
    again = client.post("/api/v1/content-events", json={"items": [event]}, headers=token)

    assert (answer.status_code, answer.json()) == (202, {"accepted": 1})
    assert again.status_code == 202
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_malformed_content_event_is_refused_whole(client: TestClient, token: dict[str, str]) -> None:
    bad = {"platform": "synapse", "event_id": "$e", "kind": "text", "at": "2026-11-02T09:00:00"}
    answer = client.post("/api/v1/content-events", json={"items": [bad]}, headers=token)
    assert answer.status_code == 422
