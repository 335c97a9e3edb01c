"""Due-process demo data for `make run`: a trusted flagger, notices from users and from the flagger on
messages of the platform, one decided and enforced case, one decision a notifier appealed — so that the
moderation queue, the trusted flaggers, the appeals and the statements have something to show.

Loaded once (when no notice exists), each step in its own transaction, through the same services as the
pages and the API.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.config import public_url
from trustdesk.credentials import derived_api_key
from trustdesk.db import unit_of_work
from trustdesk.safety import appeals, cases, enforcement, flaggers, notices
from trustdesk.safety.models import Notice, TrustedFlagger
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.staff import service as staff

FLAGGER = "Demo Online Safety Helpline"
NOTICES = (
    # (message index, category, keyword, reason, from the trusted flagger)
    (0, DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH, DsaKeyword.HATE_SPEECH,
     "The message insults people for their religion and calls for them to be driven out.", False),
    (1, DsaCategory.SCAMS_AND_FRAUD, DsaKeyword.PHISHING,
     "A fake bank login page that asks for card numbers.", True),
    (2, DsaCategory.RISK_FOR_PUBLIC_SECURITY, DsaKeyword.TERRORIST_CONTENT,
     "It praises last week's attack and asks others to repeat it.", True),
    (3, DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH, DsaKeyword.DEFAMATION,
     "It says my neighbour is a thief, which is untrue.", False),
)  # fmt: skip


@dataclass
class ModerationDemo:
    flagger_key: str = ""
    notices: int = 0
    appeal_keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        return (
            f"Moderation: {self.notices} notices in the queue; trusted flagger {FLAGGER!r}, "
            f"API key {self.flagger_key}"
        )


def load(container: Container, moderator: str) -> ModerationDemo:
    """Notices on the first messages of the platform; the first decided (remove) by one moderator, the
    last not acted upon and appealed by its notifier, for another moderator to decide."""
    demo = ModerationDemo()
    secret = container.settings.secret_key.get_secret_value()
    key = flaggers.PREFIX + derived_api_key(secret, FLAGGER).split("_", 1)[1]
    demo.flagger_key = key
    with unit_of_work(container.sessions) as session:
        if (session.scalar(select(func.count()).select_from(Notice)) or 0) > 0:
            demo.notices = session.scalar(select(func.count()).select_from(Notice)) or 0
            return demo
        flagger, _ = flaggers.register(
            session, container.clock, Actor.operator(), name=FLAGGER, country="BE",
            contact_email="notices@helpline.example", key=key,
            expertise=[DsaCategory.RISK_FOR_PUBLIC_SECURITY, DsaCategory.SCAMS_AND_FRAUD],
        )  # fmt: skip
        flagger_id = flagger.id
    events = container.connector.content_events(limit=50)
    texts = [e for e in events if e.text][: len(NOTICES)]
    receipts = []
    for (index, category, keyword, reason, by_flagger), event in zip(NOTICES, texts, strict=False):
        with unit_of_work(container.sessions) as session:
            body = notices.NoticeIn(
                location=event.locator, reason=reason, category=category, keyword=keyword,
                notifier_name=None if by_flagger else f"Demo notifier {index}",
                notifier_email=None if by_flagger else f"notifier{index}@example.org", good_faith=True,
            )  # fmt: skip
            sender = session.get(TrustedFlagger, flagger_id) if by_flagger else None
            receipt = notices.submit_notice(
                session, container.clock, container.connector, body, flagger=sender
            )
            receipts.append((receipt.case.id, receipt.key))
    demo.notices = len(receipts)
    if len(receipts) == len(NOTICES):
        decide = [
            (receipts[0][0], cases.DecisionIn(
                restrictions=frozenset({Restriction.REMOVE}),
                explanation="The message attacks people for their religion and calls for their expulsion.",
                ground=DecisionGround.ILLEGAL_CONTENT,
                legal_ground="Council Framework Decision 2008/913/JHA Art. 1 (public incitement to hatred)",
                category=DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH, keyword=DsaKeyword.HATE_SPEECH)),
            (receipts[3][0], cases.DecisionIn(
                restrictions=frozenset(), explanation="A private dispute; the message states an opinion.")),
        ]  # fmt: skip
        for case_id, decision in decide:
            with unit_of_work(container.sessions) as session:
                user = staff.acting_user(session, moderator)
                cases.claim(session, container.clock, user, case_id)
                rules = cases.DecisionRules(public_url=public_url(container.settings))
                cases.decide(session, container.clock, user, case_id, decision, rules=rules)
        with unit_of_work(container.sessions) as session:
            enforcement.run_due(session, container.clock, container.connector)
        with unit_of_work(container.sessions) as session:
            appeal = appeals.file_appeal(
                session, container.clock, receipts[3][1], "It is not an opinion: it accuses him of a crime."
            )
            demo.appeal_keys.append(appeal.reference)
    return demo
