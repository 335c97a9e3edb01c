"""Content-safety demo data for `make run`: banks of the reference platform's known pictures, a platform
token, and a first pass of the scanner over the platform's content so that the demo has signals and cases.

The "known" pictures are abstract drawings made by the reference platform (never real material); the
platform posts altered copies of them, which the banks catch by PDQ distance.
"""

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.config import PlatformKind
from trustdesk.credentials import derived_api_key
from trustdesk.db import unit_of_work
from trustdesk.safety import banks, tokens
from trustdesk.safety.ingest import ingest_once
from trustdesk.safety.models import Bank, Case, Enforcement, PlatformToken, Signal
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword

DEMO_TOKEN_NAME = "demo-platform"  # noqa: S105 - the name of a token, not a token
_BANKS = (
    # name, category, keyword, action, which known pictures
    (
        "demo-known-csam",
        DsaCategory.PROTECTION_OF_MINORS,
        DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
        BankAction.REPORT_NCMEC,
        slice(0, 1),
    ),
    (
        "demo-terrorist-content",
        DsaCategory.RISK_FOR_PUBLIC_SECURITY,
        DsaKeyword.TERRORIST_CONTENT,
        BankAction.AUTO_REMOVE,
        slice(1, 2),
    ),
    ("demo-review", DsaCategory.OTHER_VIOLATION_TC, None, BankAction.REVIEW, slice(2, None)),
)


@dataclass
class SafetyDemo:
    banks: dict[str, int] = field(default_factory=dict)
    token: str = ""
    rules: int = 0
    rules_version: str = ""
    scanned: int = 0
    signals: int = 0
    cases: int = 0
    removals: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        return "\n".join(
            [
                "Content safety: banks "
                + ", ".join(f"{name} ({count} PDQ)" for name, count in self.banks.items())
                + f"; {self.rules} text rules (version {self.rules_version[:12]})",
                (
                    f"  scanned {self.scanned} platform events: {self.signals} signals, "
                    f"{self.cases} review cases, {self.removals} automatic removals"
                ),
                f"  platform service token (POST /api/v1/match, /api/v1/content-events): {self.token}",
            ]
        )


def _known_pictures() -> list[tuple[str, str, int]]:
    from trustdesk.platform.reference.pictures import known_demo_images

    return [(image.name, image.pdq, image.pdq_quality) for image in known_demo_images()]


def load_banks(container: Container, session: Session) -> dict[str, int]:
    """Create the demo banks once, importing the known pictures' PDQ hashes from a CSV like an operator."""
    pictures = _known_pictures()
    counts = {}
    for name, category, keyword, action, which in _BANKS:
        counts[name] = len(pictures[which])
        if session.scalar(select(Bank.id).where(Bank.name == name)) is not None:
            continue
        bank = banks.create_bank(
            session, container.clock, Actor.operator(), name=name, category=category, keyword=keyword,
            action=action, description="Demo: abstract pictures standing in for known material",
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.csv"
            with path.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["hash", "quality", "note"])
                writer.writerows([pdq, quality, picture] for picture, pdq, quality in pictures[which])
            banks.import_file(
                session, container.clock, Actor.operator(), bank, path, source="Trustdesk demo list",
                contributor="trustdesk demo",
            )  # fmt: skip
    return counts


def demo_token(container: Container, session: Session) -> str:
    """The demo platform token, derived from the secret (like the demo passwords) so every start shows it."""
    derived = derived_api_key(container.settings.secret_key.get_secret_value(), DEMO_TOKEN_NAME)
    token = tokens.PREFIX + derived.split("_", 1)[1]
    if session.scalar(select(PlatformToken.id).where(PlatformToken.name == DEMO_TOKEN_NAME)) is None:
        tokens.issue(session, container.clock, Actor.operator(), DEMO_TOKEN_NAME, token=token)
    return token


def load(container: Container) -> SafetyDemo:
    """Banks, token, and one scan of the platform's content stream (each step in its own transaction)."""
    demo = SafetyDemo()
    with unit_of_work(container.sessions) as session:
        demo.banks = load_banks(container, session)
        demo.token = demo_token(container, session)
    rules = container.rules
    demo.rules, demo.rules_version = len(rules), rules.version
    if container.settings.platform is PlatformKind.REFERENCE:
        while read := ingest_once(
            container.sessions, container.clock, container.connector, container.publish_content
        ):
            demo.scanned += read
    with container.sessions() as session:
        demo.signals = session.scalar(select(func.count()).select_from(Signal)) or 0
        demo.cases = session.scalar(select(func.count()).select_from(Case)) or 0
        demo.removals = session.scalar(select(func.count()).select_from(Enforcement)) or 0
    return demo
