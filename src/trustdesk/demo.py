"""Demo data for `make run`: agencies, officers, staff, a populated platform and a few requests.

Loading is idempotent: what exists is kept. Demo credentials are derived from the secret key, so every
start can print them again; production refuses the demo secret, and `demo` refuses production.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.auth.service import has_totp_secret, set_credentials
from trustdesk.auth.totp import key_at
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyDomain, ApiKey, Officer
from trustdesk.bus.protocol import Subject
from trustdesk.config import Environment, PlatformKind
from trustdesk.credentials import derived_api_key, hash_api_key
from trustdesk.errors import Forbidden
from trustdesk.lawful import service as lawful
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.package import generate_age_identity
from trustdesk.lawful.schemas import RequestIn
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Role
from trustdesk.vocabulary import IssuerKind, TargetType


@dataclass(frozen=True)
class DemoAgency:
    name: str
    country: str
    kind: IssuerKind
    domain: str
    officer_name: str
    officer_email: str


AGENCIES = [
    DemoAgency(
        "Tribunal judiciaire de Paris - juges d'instruction",
        "FR",
        IssuerKind.INVESTIGATING_JUDGE,
        "justice.fr",
        "Claire Martin",
        "claire.martin@justice.fr",
    ),
    DemoAgency(
        "Bundeskriminalamt", "DE", IssuerKind.POLICE, "bka.bund.de", "Jonas Weber", "jonas.weber@bka.bund.de"
    ),
    DemoAgency(
        "Fiscalía Provincial de Madrid",
        "ES",
        IssuerKind.PROSECUTOR,
        "fiscal.es",
        "Lucía García",
        "lucia.garcia@fiscal.es",
    ),
    DemoAgency(
        "Federal Bureau of Investigation",
        "US",
        IssuerKind.POLICE,
        "fbi.gov",
        "Dana Reyes",
        "dana.reyes@fbi.gov",
    ),
]
STAFF = [
    ("admin@platform.example", "Ada Admin", Role.ADMIN),
    ("reviewer@platform.example", "Rui Reviewer", Role.LEGAL_REVIEWER),
    ("approver@platform.example", "Ana Approver", Role.LEGAL_APPROVER),
    ("moderator@platform.example", "Mo Moderator", Role.MODERATOR),
    ("lead@platform.example", "Lea Lead", Role.MODERATOR),  # the second pair of eyes: appeals, terminations
]


DEMO_OFFICER_EMAILS = frozenset(spec.officer_email for spec in AGENCIES)
DEMO_STAFF_EMAILS = frozenset(email for email, _, _ in STAFF)


def leftovers(session: Session) -> list[str]:
    """The demo agencies, officers and staff users this database holds, as the operator should read them.

    Demo rows are recognised by what `load` writes and nothing else chooses: the officers' and staff
    users' fixed e-mails (the staff on the reserved ``.example`` domain), and an agency by its demo name on
    its demo domain when it has no officer but demo ones (a real agency of that name, with real officers,
    is not demo data). Their passwords and keys are derived from the secret key and printed by `demo`.
    """
    found: list[str] = []
    for spec in AGENCIES:
        domain = session.get(AgencyDomain, spec.domain)
        if domain is None or domain.agency.name != spec.name:
            continue
        real_officers = session.scalar(
            select(func.count())
            .select_from(Officer)
            .where(Officer.agency_id == domain.agency_id)
            .where(func.lower(Officer.email).not_in(DEMO_OFFICER_EMAILS))
        )
        if not real_officers:
            found.append(f"agency {spec.name!r} ({spec.domain})")
    officers = session.scalars(
        select(Officer.email)
        .where(func.lower(Officer.email).in_(DEMO_OFFICER_EMAILS))
        .order_by(Officer.email)
    )
    found += [f"officer {email}" for email in officers]
    users = session.scalars(
        select(StaffUser.email)
        .where(func.lower(StaffUser.email).in_(DEMO_STAFF_EMAILS))
        .order_by(StaffUser.email)
    )
    found += [f"staff user {email}" for email in users]
    return found


def demo_password(secret: str, email: str) -> str:
    return "demo-" + hmac.new(secret.encode(), f"password:{email}".encode(), hashlib.sha256).hexdigest()[:16]


def demo_totp_secret(secret: str, email: str) -> str:
    """A base32 TOTP secret derived like the passwords, so every start can print it again."""
    digest = hmac.new(secret.encode(), f"totp:{email}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


@dataclass
class DemoData:
    url: str
    officers: list[dict[str, str]] = field(default_factory=list)
    staff: list[dict[str, str]] = field(default_factory=list)
    platform: dict[str, int] = field(default_factory=dict)
    sample_requests: list[str] = field(default_factory=list)
    platform_name: str = "Reference platform"
    arrived: list[str] = field(default_factory=list)
    """Ids of the sample requests, to announce once their acknowledgement committed (:func:`announce`)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "officers": self.officers,
            "staff": self.staff,
            "platform": self.platform,
            "sample_requests": self.sample_requests,
        }

    def describe(self) -> str:
        lines = [
            f"Trustdesk demo at {self.url}: point of contact {self.url}/contact,",
            f"authority portal {self.url}/portal, staff console {self.url}/console, API docs {self.url}/docs",
            "",
            "Officers (portal: e-mail, password, TOTP secret; API key):",
        ]
        for o in self.officers:
            lines.append(f"  {o['email']:<28} {o['password']}  TOTP {o['totp_secret']}")
            lines.append(f"  {'':<28} API key {o['api_key']}")
        folder = Path(self.officers[0]["age_identity_file"]).parent
        lines.append(f"  (their agencies' age identities, to decrypt productions: {folder}/)")
        lines += ["", "Staff (console: e-mail, role, password, TOTP secret):"]
        lines += [
            f"  {s['email']:<28} {s['role']:<15} {s['password']}  TOTP {s['totp_secret']}" for s in self.staff
        ]
        lines.append("  The current 6-digit code of a TOTP secret: .venv/bin/trustdesk totp SECRET")
        lines += ["", f"{self.platform_name}: " + ", ".join(f"{n} {k}" for k, n in self.platform.items())]
        if self.sample_requests:
            lines.append("Sample requests: " + ", ".join(self.sample_requests))
        lines += [
            "",
            "Try:",
            f"  curl -s {self.url}/api/v1/requests -H 'Authorization: Bearer {self.officers[0]['api_key']}'",
        ]
        return "\n".join(lines)


DEMO_CHECK = authorities.AgencyCheck(
    number="+1 555 0100",
    directory="demo data: no call was made",
    person_reached="the demo agency's duty officer",
    note="Demo agency: verified by the demo loader, never in production.",
)


def load(container: Container, session: Session, *, users: int, seed: int) -> DemoData:
    settings = container.settings
    if settings.environment is Environment.PRODUCTION:
        raise Forbidden("demo data is never loaded in production", code="demo_in_production")
    secret = settings.secret_key.get_secret_value()
    clock, operator = container.clock, Actor.operator()
    data = DemoData(url=f"http://{settings.host}:{settings.port}")

    seeded = seed_platform(container, users=users, seed=seed)
    data.platform, data.platform_name = seeded.counts, seeded.name

    keys: dict[str, str] = {}
    totp_key = key_at(settings.totp_key_path)  # TOTP secrets are stored encrypted under it

    def established() -> datetime:
        """Demo agencies and officers are established ones (a brand-new officer or key adds to a
        request's forgery risk, lawful/risk.py): registered a year before the demo."""
        return clock() - timedelta(days=365)

    identities = settings.signing_key_path.parent / "demo-identities"
    for spec in AGENCIES:
        domain = session.get(AgencyDomain, spec.domain)
        agency = (
            domain.agency
            if domain
            else authorities.create_agency(
                session,
                established,
                operator,
                name=spec.name,
                country=spec.country,
                kind=spec.kind,
                domains=[spec.domain],
            )
        )
        key = derived_api_key(secret, f"officer:{spec.officer_email}")
        officer = authorities.find_officer(session, spec.officer_email)
        if officer is None:
            officer = authorities.add_officer(
                session,
                established,
                operator,
                agency_id=agency.id,
                name=spec.officer_name,
                email=spec.officer_email,
                api_key=key,
            ).officer
        elif session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_api_key(key))) is None:
            authorities.issue_api_key(session, clock, operator, officer, key)
        keys[spec.country] = key
        password, totp = (
            demo_password(secret, spec.officer_email),
            demo_totp_secret(secret, spec.officer_email),
        )
        if not has_totp_secret(officer, totp, totp_key):
            set_credentials(session, clock, operator, officer, password, totp, key=totp_key)
        identity_file = identities / f"{spec.domain}.agekey"
        if agency.age_recipient is None or not identity_file.exists():
            identity, recipient = generate_age_identity()
            identity_file.parent.mkdir(parents=True, exist_ok=True)
            identity_file.touch(mode=0o600)
            identity_file.write_text(f"# demo age identity of {spec.name}\n{identity}\n")
            authorities.set_recipient(session, clock, operator, agency.id, recipient)
        if not agency.verified:  # the demo's stand-in for a call to the agency's directory number
            authorities.verify_agency(session, clock, operator, agency.id, DEMO_CHECK)
        data.officers.append(
            {
                "email": spec.officer_email,
                "name": spec.officer_name,
                "agency": spec.name,
                "country": spec.country,
                "api_key": key,
                "password": password,
                "totp_secret": totp,
                "age_identity_file": str(identity_file),
            }
        )

    for email, name, role in STAFF:
        password, totp = demo_password(secret, email), demo_totp_secret(secret, email)
        user = staff.find_user(session, email)
        if user is None:
            user = staff.add_user(
                session, clock, operator, email=email, name=name, roles=[role], password=password
            ).user
        if not has_totp_secret(user, totp, totp_key):
            set_credentials(session, clock, operator, user, password, totp, key=totp_key)
        data.staff.append(
            {"email": email, "name": name, "role": role.value, "password": password, "totp_secret": totp}
        )

    if (session.scalar(select(func.count()).select_from(LawfulRequest)) or 0) == 0 and seeded.usable:
        data.sample_requests, data.arrived = _sample_requests(container, session, seeded)
    return data


def announce(container: Container, data: DemoData) -> None:
    """After the commit, what an intake route does: each arrival goes on the bus, so that it is preserved
    on receipt (every EPOC) and its legal windows open (a cross-border TCO order's scrutiny)."""
    for request_id in data.arrived:
        container.bus.publish(Subject.REQUEST_RECEIVED, {"request_id": request_id})


@dataclass(frozen=True)
class SeededPlatform:
    """What the demo's platform holds: counts to print, and targets for the sample requests."""

    name: str
    counts: dict[str, int]
    phones: list[str]
    """Phones of accounts the connector in use finds (the sample requests target the first two)."""
    content_locator: str | None
    """A message on the platform (the sample removal order's target)."""

    @property
    def usable(self) -> bool:
        return len(self.phones) >= 2 and self.content_locator is not None


def seed_platform(container: Container, *, users: int, seed: int) -> SeededPlatform:
    """Populate the platform in use (the reference platform is generated here; a Matrix homeserver is
    seeded beforehand by `trustdesk demo --platform matrix`) and find demo targets through its connector."""
    if container.settings.platform is PlatformKind.MATRIX:
        return _matrix_platform(container)
    return _reference_platform(container, users=users, seed=seed)


def _reference_platform(container: Container, *, users: int, seed: int) -> SeededPlatform:
    clock = container.clock
    platform = ReferencePlatform(container.settings.reference_platform_url, clock=clock)
    try:
        platform.create_schema()
        if platform.counts().get("users", 0) == 0:
            now = clock()
            platform.generate(users, seed, now - timedelta(days=180), now)
        counts = {
            k: v for k, v in platform.counts().items() if k in {"users", "sessions", "chats", "messages"}
        }
        phones = [
            a.phone
            for i in (1, 2, 3)
            if (a := platform.lookup_account(TargetType.USER_ID, str(i))) and a.phone
        ]
    finally:
        platform.close()
    first = container.connector.content_events(limit=1)  # a message that exists, whatever the seed
    return SeededPlatform("Reference platform", counts, phones, first[0].locator if first else None)


def _matrix_platform(container: Container) -> SeededPlatform:
    from trustdesk.platform.matrix.devserver import demo_phone

    connector = container.connector
    phones = [
        a.phone
        for i in (1, 2, 3)
        if (a := connector.lookup_account(TargetType.PHONE, demo_phone(i))) and a.phone
    ]
    first = connector.content_events(limit=1)
    return SeededPlatform(
        "Matrix homeserver", {"demo users found": len(phones)}, phones, first[0].locator if first else None
    )


def _sample_requests(
    container: Container, session: Session, seeded: SeededPlatform
) -> tuple[list[str], list[str]]:
    phones = seeded.phones
    samples = [
        (
            "justice.fr",
            {
                "instrument": "EU_EPOC",
                "reference": "PJ-2026-0042",
                "emergency": True,
                "emergency_justification": "Credible threat to the life of a missing minor, "
                "last in contact through this account.",
                "issuing_authority": {
                    "name": "Juge d'instruction, Tribunal judiciaire de Paris",
                    "kind": "investigating_judge",
                    "country": "FR",
                },
                "legal_basis": "Regulation (EU) 2023/1543, Art. 5",
                "offence": {"description": "Abduction of a minor", "max_penalty_years": 20},
                "targets": [{"type": "phone", "value": phones[0]}],
                "data_categories": ["subscriber", "identification"],
            },
        ),
        (
            "bka.bund.de",
            {
                "instrument": "EU_TCO_REMOVAL",
                "reference": "TCO-DE-2026-0107",
                "issuing_authority": {"name": "Bundeskriminalamt", "kind": "police", "country": "DE"},
                "legal_basis": "Regulation (EU) 2021/784, Art. 3",
                "statement_of_reasons": "The post glorifies a terrorist attack and incites further attacks.",
                "redress_information": "Action before the Verwaltungsgericht Wiesbaden within one month.",
                "targets": [{"type": "content_url", "value": seeded.content_locator}],
            },
        ),
        (
            "fbi.gov",
            {
                "instrument": "US_SUBPOENA",
                "reference": "GJ-2026-118",
                "issuing_authority": {
                    "name": "Federal Bureau of Investigation",
                    "kind": "police",
                    "country": "US",
                },
                "legal_basis": "18 U.S.C. 2703(c)(2)",
                "targets": [{"type": "phone", "value": phones[1]}],
                "data_categories": ["subscriber"],
            },
        ),
    ]
    tracking, ids = [], []
    for domain, body in samples:
        agency_id = session.get_one(AgencyDomain, domain).agency_id
        submitter = session.scalars(
            select(Officer).where(Officer.agency_id == agency_id).order_by(Officer.email)
        ).first()
        assert submitter is not None, f"the demo agency {domain} has an officer"
        intake = lawful.submit(
            session,
            container.clock,
            container.catalogue,
            submitter,
            RequestIn.model_validate(body),
            idempotency_key=None,
            policy=container.policy,
            channel="demo",
        )
        tracking.append(intake.request.tracking_number)
        ids.append(intake.request.id)
    return tracking, ids
