"""Factories for content-safety tests: banks with hashes, PDQ hashes near each other, content items."""

import csv
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import Clock
from trustdesk.safety import banks
from trustdesk.safety.events import ContentItem
from trustdesk.safety.models import Bank
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def random_pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def flip(hex_hash: str, bits: int, rng: random.Random) -> str:
    """The hash with ``bits`` distinct bits flipped: at exactly that Hamming distance."""
    value = int(hex_hash, 16)
    for position in rng.sample(range(256), bits):
        value ^= 1 << position
    return f"{value:064x}"


def make_bank(
    session: Session,
    clock: Clock,
    name: str = "terror",
    *,
    action: BankAction = BankAction.AUTO_REMOVE,
    category: DsaCategory = DsaCategory.RISK_FOR_PUBLIC_SECURITY,
    keyword: DsaKeyword | None = DsaKeyword.TERRORIST_CONTENT,
    threshold: int = 31,
) -> Bank:
    return banks.create_bank(
        session, clock, Actor.operator(), name=name, category=category, action=action, keyword=keyword,
        pdq_threshold=threshold,
    )  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = sorted({key for row in rows for key in row}, key=["hash", "type", "quality", "note"].index)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def import_hashes(
    session: Session, clock: Clock, bank: Bank, folder: Path, hashes: list[str], *, quality: int = 90
) -> banks.ImportReport:
    path = write_csv(
        folder / f"{bank.name}-{len(hashes)}.csv", [{"hash": h, "quality": quality} for h in hashes]
    )
    return banks.import_file(session, clock, Actor.operator(), bank, path)


def item(**overrides: Any) -> ContentItem:
    document: dict[str, Any] = {
        "platform": "reference",
        "event_id": "1",
        "kind": "text",
        "account_id": "7",
        "chat_id": "3",
        "chat_type": "public",
        "audience": 5000,
        "at": AT,
        "locator": "https://t.example/c/3/1",
        "text": "hello",
    }
    document.update(overrides)
    return ContentItem.model_validate(document)
