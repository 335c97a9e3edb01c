"""Real objects behind every path parameter of the app, for the walk of every route as every role.

Everything is made through the services and the API as the desk would make it: a lawful request answered
with its production (so the officer's download exists), a TCO removal order with a content provider's
complaint, the agency of another country, a notified image (an open case with media on the platform), a
decided case with its notice and an appeal against the decision, and trusted flaggers (a fresh one per
caller: revoking is done once).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import add_staff_login, give_officer_login
from tests.factories import epoc, tco
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities.models import AgencyDomain
from trustdesk.clock import FrozenClock
from trustdesk.config import public_url
from trustdesk.db import unit_of_work
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.safety import appeals, cases, enforcement, flaggers, notices, tokens
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.staff import service as staff

IMAGE = Path(__file__).resolve().parents[2] / "shared/testdata/pdq/images/bridge-mods/aaa-orig.jpg"
OFFICER_EMAIL = "officer@justice.fr"


@dataclass
class RouteWorld:
    lawful: World
    tracking_number: str
    """An emergency EPOC of the officer's agency, decided, approved, executed and answered: its production
    can be downloaded."""
    document_id: str
    """The signed order uploaded with ``tracking_number``."""
    tco_tracking_number: str
    complaint_id: str
    """A content provider's complaint about the removal carried out for ``tco_tracking_number``."""
    agency_id: str
    code: str
    case_id: str
    """An open case on a notified image, whose media the platform holds."""
    notice_reference: str
    notice_key: str
    appeal_id: str
    appeal_reference: str
    appeal_key: str
    officer_secret: str
    platform_token: str
    new_flagger: Callable[[], str]

    def params(self) -> dict[str, str]:
        """Every path parameter of the app with an id that exists (a fresh trusted flagger each call)."""
        return {
            "tracking_number": self.tracking_number,
            "document_id": self.document_id,
            "complaint_id": self.complaint_id,
            "agency_id": self.agency_id,
            "code": self.code,
            "case_id": self.case_id,
            "appeal_id": self.appeal_id,
            "flagger_id": self.new_flagger(),
        }


def _emergency_epoc() -> dict[str, Any]:
    return epoc(
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        suspect_confirmed=True,
    )


def _notice_body(location: str, **overrides: Any) -> notices.NoticeIn:
    body: dict[str, Any] = {
        "location": location,
        "reason": "It calls for an attack on a railway station.",
        "category": DsaCategory.RISK_FOR_PUBLIC_SECURITY,
        "keyword": DsaKeyword.TERRORIST_CONTENT,
        "notifier_name": "Jo Doe",
        "notifier_email": "jo@example.org",
        "good_faith": True,
    } | overrides
    return notices.NoticeIn.model_validate(body)


def build_route_world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> RouteWorld:
    world = build_world(client, container, sessions, clock)

    # A lawful request with its production.
    tracking = world.submit(_emergency_epoc())
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    answered = world.act(world.reviewer, tracking, "answer")
    assert answered["review"]["production"] is not None, answered
    (document_id,) = [d["id"] for d in world.officer_view(tracking)["documents"]]

    # A removal order, carried out, and the content provider's complaint about it.
    removal_order = world.submit(
        tco(targets=[{"type": "content_url", "value": world.message_locator}]), world.de_key
    )
    world.act(world.reviewer, removal_order, "decide", {"outcome": "comply"})
    (removal,) = world.act(world.reviewer, removal_order, "execute")["review"]["removals"]
    complained = world.act(
        world.reviewer, removal_order, "complaints", {"removal_id": removal["id"], "body": "News reporting."}
    )
    (complaint,) = complained["review"]["complaints"]

    officer_secret = give_officer_login(sessions, clock, OFFICER_EMAIL)
    with unit_of_work(sessions) as session:
        german = session.scalars(
            select(AgencyDomain.agency_id).where(AgencyDomain.domain == "bka.bund.de")
        ).one()
        platform_token = tokens.issue(session, clock, Actor.operator(), "synapse")

    # Content safety: an open case on an image, a decided case with an appeal against its decision.
    platform = cast(ReferencePlatform, container.connector)
    author = platform.add_user(username="author", registered_at=clock.now - timedelta(days=60))
    reader = platform.add_user(username="reader", registered_at=clock.now - timedelta(days=60))
    chat = platform.create_chat("group", [author, reader], created_at=clock.now - timedelta(days=9))
    image = platform.post_message(
        chat, author, media=IMAGE.read_bytes(), sent_at=clock.now - timedelta(hours=1)
    )
    text = platform.post_message(
        chat, author, text="Strike the station on Friday.", sent_at=clock.now - timedelta(hours=1)
    )
    add_staff_login(sessions, clock, "seed-moderator@platform.example", "moderator")
    with unit_of_work(sessions) as session:
        open_case = notices.submit_notice(
            session,
            clock,
            container.connector,
            _notice_body(image, category=DsaCategory.SCAMS_AND_FRAUD, keyword=None),
        ).case.id
        receipt = notices.submit_notice(session, clock, container.connector, _notice_body(text))
        moderator = staff.find_user(session, "seed-moderator@platform.example")
        assert moderator is not None
        cases.claim(session, clock, moderator, receipt.case.id)
        cases.decide(
            session,
            clock,
            moderator,
            receipt.case.id,
            cases.DecisionIn(
                restrictions=frozenset({Restriction.REMOVE}),
                explanation="The post incites a terrorist attack.",
                ground=DecisionGround.ILLEGAL_CONTENT,
                legal_ground="Directive (EU) 2017/541 Art. 5",
                category=DsaCategory.RISK_FOR_PUBLIC_SECURITY,
                keyword=DsaKeyword.TERRORIST_CONTENT,
            ),
            rules=cases.DecisionRules(public_url=public_url(container.settings)),
        )
    with unit_of_work(sessions) as session:
        enforcement.run_due(session, clock, container.connector)
    told = [n.text for n in platform.notices(author) if "/appeal?key=" in n.text]
    assert told, "the statement of reasons carries its appeal link"
    appeal_key = told[-1].split("/appeal?key=", 1)[1].split()[0]
    with unit_of_work(sessions) as session:
        appeal = appeals.file_appeal(session, clock, appeal_key, "It was a quote from the news.")
        appeal_id, appeal_reference = appeal.id, appeal.reference

    made = 0

    def new_flagger() -> str:
        nonlocal made
        made += 1
        with unit_of_work(sessions) as session:
            flagger, _ = flaggers.register(
                session,
                clock,
                Actor.operator(),
                name=f"Flagger {made}",
                country="DE",
                contact_email=f"n{made}@flagger.example",
                expertise=[DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH],
            )
            return flagger.id

    return RouteWorld(
        lawful=world,
        tracking_number=tracking,
        document_id=document_id,
        tco_tracking_number=removal_order,
        complaint_id=complaint["id"],
        agency_id=german,
        code="FR",
        case_id=open_case,
        notice_reference=receipt.notice.reference,
        notice_key=receipt.key,
        appeal_id=appeal_id,
        appeal_reference=appeal_reference,
        appeal_key=appeal_key,
        officer_secret=officer_secret,
        platform_token=platform_token,
        new_flagger=new_flagger,
    )
