"""Real objects behind every path parameter of the app, for the walk of every route as every role.

Everything is made through the services and the API as the desk would make it: a lawful request answered
with its production (so the officer's download exists), a TCO removal order with a content provider's
complaint, the agency of another country, a notified image (an open case with media on the platform), a
decided case with its notice and an appeal against the decision, and trusted flaggers (a fresh one per
caller: revoking is done once).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import PASSWORD, add_staff_login, fresh_code, give_officer_login, totp_key
from tests.factories import epoc, tco
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.auth import enrolment
from trustdesk.auth import service as auth
from trustdesk.auth.service import Face
from trustdesk.authorities import access as officer_access
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyDomain
from trustdesk.clock import FrozenClock
from trustdesk.config import public_url
from trustdesk.db import unit_of_work
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.safety import appeals, cases, enforcement, flaggers, notices, tokens
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.staff import service as staff
from trustdesk.staff.roles import Permission
from trustdesk.transparency import reports
from trustdesk.transparency.metrics import parse_scope
from trustdesk.transparency.periods import parse_period
from trustdesk.transparency.protection import Protection
from trustdesk.transparency.tlog import service as tlog

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
    access: dict[str, str] = field(default_factory=dict)
    """The ids of the access block below (`build_access_params`)."""

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
            **self.access,
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

    seed_signing(sessions, clock, german)  # the signing block below
    tlog.tick(container)  # the transparency log's first signed head
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
        access={
            **build_access_params(sessions, clock),
            "notice_id": seed_agency_notice(sessions, clock),
            **build_transparency_params(container),
            **build_intake_params(container),
            **build_oncall_params(sessions, clock),
        },
    )


# --- transparency: the public page's downloads and the reports' JSON API (issue 12) ----------------------


def build_transparency_params(container: Container) -> dict[str, str]:
    """A published report of the world's records (after the log's first head) and one of its files."""
    period, scope = parse_period("2026-H2"), parse_scope("global")
    with unit_of_work(container.sessions) as session:
        built = reports.build(
            session, container.clock, container.signer, container.catalogue, period, scope,
            provider="Demo messenger", protection=Protection(),
        )  # fmt: skip
        reports.publish(session, container.clock, period, scope)
        return {"report_id": built.report.id, "name": reports.DOCUMENT}


# --- access: revocation and enrolment (issue 11) --------------------------------------------------------
# The routes of ``trustdesk.web.console.access`` and ``trustdesk.web.enrol_routes`` and what they need
# (merged into ``ROUTES`` of tests/integration/test_route_roles.py), and the objects behind their path
# parameters: a staff user with a token and a live console session, an officer of an agency of their own
# (adding one to the walk's agencies would lapse its verification) with a key and a live portal session,
# and an unused enrolment link. The walk's bodies carry no reason, so no revocation is ever carried out.

ACCESS_ROUTES: dict[tuple[str, str], Permission | str] = {
    ("GET", "/enrol/{token}"): "anyone",
    ("POST", "/enrol/{token}"): "anyone",
    ("GET", "/console/access"): Permission.STAFF_USER_MANAGE,
    ("POST", "/console/access/tokens/{token_id}/revoke"): Permission.STAFF_USER_MANAGE,
    ("POST", "/console/access/users/{user_id}/deactivate"): Permission.STAFF_USER_MANAGE,
    ("POST", "/console/access/sessions/{session_id}/revoke"): Permission.STAFF_USER_MANAGE,
    ("POST", "/console/access/keys/{key_id}/revoke"): Permission.STAFF_AGENCY_MANAGE,
    ("POST", "/console/access/officers/{officer_id}/deactivate"): Permission.STAFF_AGENCY_MANAGE,
    ("POST", "/console/access/officer-sessions/{portal_session_id}/revoke"): Permission.STAFF_AGENCY_MANAGE,
    ("GET", "/console/sessions"): "any signed-in session of the face",
    ("POST", "/console/sessions/revoke"): "any signed-in session of the face",
}


def _live_session(
    sessions: sessionmaker[Session], clock: FrozenClock, face: Face, email: str, secret: str
) -> str:
    with unit_of_work(sessions) as session:
        result = auth.login(
            session, clock, face, email, PASSWORD, fresh_code(secret, clock), "192.0.2.7", key=totp_key()
        )
        assert result.ok, result.message
    with unit_of_work(sessions) as session:
        account = (
            staff.find_user(session, email)
            if face is Face.CONSOLE
            else authorities.find_officer(session, email)
        )
        assert account is not None
        (live,) = auth.live_sessions(session, clock, face, account.id)
        return live.id


def build_access_params(sessions: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    user_email, officer_email = "access-target@platform.example", "access-target@access.example"
    user_secret = add_staff_login(sessions, clock, user_email, "legal_reviewer")
    with unit_of_work(sessions) as session:
        agency = authorities.create_agency(
            session, clock, Actor.operator(), name="Access agency", country="FR", kind="police",
            domains=["access.example"],
        )  # fmt: skip
        officer = authorities.add_officer(
            session, clock, Actor.operator(), agency_id=agency.id, name="Access Target", email=officer_email
        ).officer
        (key,) = officer_access.keys_of(session, officer)
        user = staff.find_user(session, user_email)
        assert user is not None
        token, _ = staff.new_token(session, clock, Actor.operator(), user, scope="all", label="walk")
        newcomer = staff.add_user(
            session, clock, Actor.operator(), email="access-newcomer@platform.example", roles=["moderator"]
        ).user
        link = enrolment.issue(session, clock, Actor.operator(), newcomer)
        ids = {"user_id": user.id, "token_id": token.id, "officer_id": officer.id, "key_id": key.id}
    officer_secret = give_officer_login(sessions, clock, officer_email)
    return ids | {
        "session_id": _live_session(sessions, clock, Face.CONSOLE, user_email, user_secret),
        "portal_session_id": _live_session(sessions, clock, Face.PORTAL, officer_email, officer_secret),
        "token": link,
    }


# --- signing keys and supervisors (issue 11 items 1 and 2) ----------------------------------------------
# The routes of ``trustdesk.web.console.agencies`` for signing keys and supervisors and the callback page
# of ``trustdesk.web.console.verification``, and what they need (merged into ``ROUTES`` of
# tests/integration/test_route_roles.py). Their path parameters are the agency's and the request's, which
# exist; the key and the supervisor they act on are form fields, and the walk's empty bodies name none, so
# nothing is revoked or removed. The German agency gets a key and a supervisor, so the pages show them.

SIGNING_ROUTES: dict[tuple[str, str], Permission | str] = {
    ("POST", "/console/agencies/{agency_id}/keys"): Permission.STAFF_AGENCY_MANAGE,
    ("POST", "/console/agencies/{agency_id}/keys/revoke"): Permission.STAFF_AGENCY_MANAGE,
    ("POST", "/console/agencies/{agency_id}/supervisors"): Permission.STAFF_AGENCY_MANAGE,
    ("POST", "/console/agencies/{agency_id}/supervisors/remove"): Permission.STAFF_AGENCY_MANAGE,
    ("GET", "/console/requests/{tracking_number}/callback"): Permission.STAFF_REQUEST_DECIDE,
}


def seed_signing(sessions: sessionmaker[Session], clock: FrozenClock, agency_id: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from tests.factories import CHECK
    from trustdesk.authorities import keys

    public = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    with unit_of_work(sessions) as session:
        keys.register_key(session, clock, Actor.operator(), agency_id, "bka-walk-2026", public.decode())
        keys.add_supervisor(
            session, clock, Actor.operator(), agency_id,
            name="KHK Eva Brandt", title="Duty officer, legal requests", phone="+49 611 55 0",
            directory="bka.de, Kontakt, switchboard",
        )  # fmt: skip
        authorities.verify_agency(session, clock, Actor.operator(), agency_id, CHECK)  # the key lapsed it


# --- notices to the portal officer's agency (issue 11) ----------------------------------------------------


def seed_agency_notice(sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    """A notice to the French agency (the portal officer's), as a changed recipient sends."""
    from trustdesk.authorities import notices as agency_notices
    from trustdesk.authorities.models import Agency, AgencyDomain

    with unit_of_work(sessions) as session:
        agency = session.scalars(
            select(Agency).join(AgencyDomain).where(AgencyDomain.domain == "justice.fr")
        ).one()
        return agency_notices.notify(session, clock, Actor.operator(), agency, "test", "A notice.").id


# --- on call for emergencies (issue 13, item 3) ------------------------------------------------------------
# The ids behind ``/console/oncall/{shift_id}/remove`` and ``/console/pages/{page_id}/acknowledge``: a shift
# of a lawyer of its own (the first caller allowed removes it; the next get 409), and the page the world's
# emergency EPOC raised on arrival (nobody was on call: the fallback page; acknowledged once, then 409).


def build_oncall_params(sessions: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    from trustdesk.oncall import rota
    from trustdesk.oncall.models import Page

    with unit_of_work(sessions) as session:
        lawyer = staff.add_user(
            session, clock, Actor.operator(), email="oncall-seed@platform.example", roles=["legal_reviewer"]
        ).user
        shift = rota.add_shift(
            session, clock, None, user=lawyer, starts_at=clock.now, ends_at=clock.now + timedelta(days=1)
        )
        page_id = session.scalars(select(Page.id).order_by(Page.paged_at, Page.id)).first()
        assert page_id is not None, "the world's emergency paged on arrival"
        return {"shift_id": shift.id, "page_id": page_id}


# --- e-mail and mailroom intake (issue 13) ----------------------------------------------------------------


def build_intake_params(container: Container) -> dict[str, str]:
    """An e-mail in triage with one attachment (no DNS is asked: the message is not signed)."""
    from tests.unit.test_mail_authenticity import mail
    from trustdesk.intake import store
    from trustdesk.intake.authenticity import StaticDns
    from trustdesk.intake.models import InboundAttachment

    raw = mail(attachments=[("order.pdf", "application/pdf", b"%PDF-1.7 broken")]).as_bytes()
    with unit_of_work(container.sessions) as session:
        message = store.receive(session, container.clock, raw, channel=store.EMAIL, dns=StaticDns({}))
        attachment = session.scalars(
            select(InboundAttachment).where(InboundAttachment.message_id == message.id)
        ).one()
        return {"attachment_id": attachment.id, "message_id": message.id}
