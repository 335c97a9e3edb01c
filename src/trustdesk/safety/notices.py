"""Notices of illegal content (DSA Art. 16) and the notifiers' standing (Art. 23(2)).

Anyone may notify: the exact location of the content, the reasons, a DSA category, a name and an e-mail
(not required for child sexual abuse, Art. 16(2)(c)) and the good-faith statement. A notice is
acknowledged at once with a reference and joins the open case of the same content, or opens one; a
trusted flagger's notice (Art. 22) raises the case's source and so its place in the queue. Each notifier
(its e-mail, else its address, hashed) is throttled, and one who often sends manifestly unfounded notices
is warned, then suspended for a period (Art. 23(2), (3)), which is recorded.
"""

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities.models import new_id
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key, key_matches
from trustdesk.errors import Forbidden, InvalidInput, NotFound, TooManyRequests
from trustdesk.platform.protocol import ContentEvent, PlatformConnector, PlatformError
from trustdesk.references import new_reference
from trustdesk.safety import queue
from trustdesk.safety.models import Case, Notice, NotifierStanding, TrustedFlagger
from trustdesk.safety.vocabulary import CaseStatus, ChatType, ContentKind, DsaCategory, DsaKeyword
from trustdesk.safety.workflow import CaseSource
from trustdesk.vocabulary import TargetType

__all__ = [
    "ANONYMOUS_KEYWORDS",
    "NoticeIn",
    "Receipt",
    "StandingRule",
    "find_notice",
    "notifier_key",
    "record_outcome",
    "submit_notice",
]

ANONYMOUS_KEYWORDS: Final = frozenset(
    {
        DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
        DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE,
        DsaKeyword.GROOMING_SEXUAL_ENTICEMENT_MINORS,
    }
)
"""Offences of Directive 2011/93/EU Arts 3-7: the notifier need not give a name or e-mail (Art. 16(2)(c))."""

ACCESS_PREFIX: Final = "tdn_"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
UNDECIDED: Final = (CaseStatus.OPEN, CaseStatus.AWAITING_APPROVAL)
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class NoticeIn(BaseModel):
    """A notice as a notifier sends it (the public page's form and ``POST /api/v1/notices``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    location: Line = Field(description="The content's exact location: its link or message locator")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000)] = Field(
        description="Why the content is illegal (a substantiated explanation)"
    )
    category: DsaCategory
    keyword: DsaKeyword | None = None
    notifier_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    notifier_email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    good_faith: bool = Field(description="The notifier's bona fide belief that the notice is accurate")


@dataclass(frozen=True)
class StandingRule:
    """When a notifier is throttled, warned and suspended (the platform's policy under Art. 23)."""

    per_hour: int = 20
    """Notices a notifier may send per hour; a trusted flagger is not throttled."""
    warn_after: int = 3
    """Manifestly unfounded notices within ``window`` before a warning."""
    suspend_after: int = 5
    """... and before a suspension, once warned."""
    window: timedelta = timedelta(days=90)
    suspension: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Receipt:
    """What the notifier is told at once (Art. 16(4)): the reference, and the case it joined."""

    notice: Notice
    case: Case
    joined: bool
    key: str
    """Shown once: with the reference, it opens the notice's status page and its appeal (Art. 20)."""


def notifier_key(email: str | None, address: str | None) -> str:
    """The notifier's hashed identity: its e-mail (case-folded), else the address it wrote from."""
    basis = f"email:{email.casefold()}" if email else f"addr:{address or 'unknown'}"
    return hashlib.sha256(basis.encode()).hexdigest()


def _reference(at: datetime) -> str:
    return new_reference("NT", at.year)


def _check(body: NoticeIn, flagger: TrustedFlagger | None) -> None:
    if not body.good_faith:
        raise InvalidInput(
            "confirm that you believe in good faith that the information is accurate (DSA Art. 16(2)(d))",
            field="good_faith",
        )
    anonymous_allowed = body.keyword in ANONYMOUS_KEYWORDS
    if flagger is None and not anonymous_allowed:
        if not body.notifier_name:
            raise InvalidInput(
                "give your name (only notices of child sexual abuse may be anonymous, DSA Art. 16(2)(c))",
                field="notifier_name",
            )
        if not body.notifier_email:
            raise InvalidInput("give your e-mail address, to hear our decision", field="notifier_email")
    if body.notifier_email and not _EMAIL.fullmatch(body.notifier_email):
        raise InvalidInput(f"{body.notifier_email!r} is not an e-mail address", field="notifier_email")


def _standing(session: Session, key: str, now: datetime, rule: StandingRule) -> None:
    standing = session.get(NotifierStanding, key)
    if standing is not None and standing.suspended_until is not None and now < standing.suspended_until:
        raise Forbidden(
            f"notices from you are suspended until {standing.suspended_until.date().isoformat()}: "
            f"{standing.reason} (DSA Art. 23(2))",
            code="notifier_suspended",
        )
    recent, oldest = session.execute(
        select(func.count(), func.min(Notice.received_at)).where(
            Notice.notifier_key == key, Notice.received_at > now - timedelta(hours=1)
        )
    ).one()
    if (recent or 0) >= rule.per_hour:
        free_at = oldest + timedelta(hours=1)  # the oldest notice of the hour leaves the count
        raise TooManyRequests(
            f"at most {rule.per_hour} notices an hour: try again after {free_at.strftime('%H:%M')} UTC",
            code="too_many_notices",
            retry_after=math.ceil((free_at - now).total_seconds()),
        )


def _content(connector: PlatformConnector, locator: str) -> ContentEvent | None:
    """The notified message as the platform holds it (a removed one too), or None when it cannot say."""
    try:
        return connector.fetch_content(locator)
    except (PlatformError, ValueError, OSError):
        return None


def _media(content: ContentEvent | None) -> dict[str, Any] | None:
    """What the case keeps of notified media: its hashes and kind (the bytes stay on the platform)."""
    if content is None or content.kind != "media":
        return None
    return {
        "kind": content.media_kind, "sha256": content.media_sha256, "md5": content.media_md5,
        "pdq": [{"hash": h, "quality": q} for h, q in content.media_pdq],
    }  # fmt: skip


_KINDS: Final = {"image": ContentKind.IMAGE, "video": ContentKind.VIDEO}


def _open_case(
    session: Session,
    connector: PlatformConnector,
    body: NoticeIn,
    account_id: str,
    source: CaseSource,
    now: datetime,
) -> Case:
    content = _content(connector, body.location)
    audience = content.audience if content is not None else None
    grave = queue.priority(queue.severity(body.keyword), audience or 0)
    media = _media(content)
    kind = ContentKind.TEXT if media is None else _KINDS.get(str(media["kind"]), ContentKind.FILE)
    case = Case(
        event_key=f"notice:{new_id()}",  # a case opened by a notice, not by a platform event
        status=CaseStatus.OPEN,
        priority=grave,
        category=body.category,
        keyword=body.keyword,
        content_kind=kind,
        chat_type=ChatType(content.chat_type) if content is not None and content.chat_type else None,
        account_id=account_id,
        chat_id=content.chat_id if content is not None else "",
        locator=body.location,
        text=content.text if content is not None else None,
        media=media,
        audience=audience,
        blur=True,
        auto_removed=False,
        opened_at=now,
        source=source,
        target_at=queue.target_at(now, grave, source),
    )
    session.add(case)
    session.flush()
    return case


def submit_notice(
    session: Session,
    clock: Clock,
    connector: PlatformConnector,
    body: NoticeIn,
    *,
    flagger: TrustedFlagger | None = None,
    address: str | None = None,
    rule: StandingRule | None = None,
) -> Receipt:
    """Record a notice and acknowledge it (Art. 16(4)); it joins the open case of the same content.

    Refused, changing nothing: no good-faith statement, a missing name or e-mail where the law needs
    them, content the platform does not hold, a suspended notifier, more than the hourly allowance."""
    rule = rule or StandingRule()
    now = clock()
    _check(body, flagger)
    if flagger is not None:
        key = hashlib.sha256(f"flagger:{flagger.id}".encode()).hexdigest()
    else:
        key = notifier_key(body.notifier_email, address)
    if flagger is None:
        _standing(session, key, now, rule)
    try:
        author = connector.lookup_account(TargetType.CONTENT_URL, body.location)
    except (PlatformError, ValueError):
        author = None
    if author is None:
        raise InvalidInput(
            f"no content at {body.location!r} on this platform: give the message's exact link",
            field="location",
            code="content_not_found",
        )
    source = CaseSource.TRUSTED_FLAGGER if flagger is not None else CaseSource.USER
    case = session.scalar(
        select(Case)
        .where(
            Case.locator == body.location, Case.status.in_((CaseStatus.OPEN, CaseStatus.AWAITING_APPROVAL))
        )
        .order_by(Case.opened_at)
        .limit(1)
    )
    joined = case is not None
    if case is None:
        case = _open_case(session, connector, body, author.platform_id, source, now)
    else:
        case.source = queue.stronger(case.source, source)
        target = queue.target_at(case.opened_at, case.priority, case.source)
        case.target_at = min(case.target_at or target, target)
        if case.category is None:
            case.category, case.keyword = body.category, body.keyword
    access = ACCESS_PREFIX + secrets.token_urlsafe(24)
    notice = Notice(
        reference=_reference(now),
        case_id=case.id,
        locator=body.location,
        reason=body.reason,
        category=body.category,
        keyword=body.keyword,
        notifier_name=body.notifier_name or None,
        notifier_email=body.notifier_email or None,
        good_faith=body.good_faith,
        trusted_flagger_id=flagger.id if flagger is not None else None,
        notifier_key=key,
        received_at=now,
        appeal_key_hash=hash_api_key(access),
    )
    session.add(notice)
    session.flush()
    actor = Actor(ActorKind.TRUSTED_FLAGGER, flagger.id) if flagger else Actor(ActorKind.PUBLIC, key[:16])
    audit.record(
        session, clock, actor, AuditAction.NOTICE_RECEIVE, subject_type="notice", subject_id=notice.id,
        data={"reference": notice.reference, "case_id": case.id, "joined": joined, "source": source.value,
              "category": body.category.value},
    )  # fmt: skip
    return Receipt(notice, case, joined, access)


def record_outcome(
    session: Session,
    clock: Clock,
    case: Case,
    *,
    actioned: bool,
    unfounded: bool = False,
    rule: StandingRule | None = None,
) -> list[Notice]:
    """The case was decided: each of its notices gets its outcome (Art. 16(5)); a manifestly unfounded
    one counts against its notifier, who is warned, then suspended (Art. 23(2), (3))."""
    rule = rule or StandingRule()
    now = clock()
    notices = list(
        session.scalars(select(Notice).where(Notice.case_id == case.id, Notice.decided_at.is_(None)))
    )
    outcome = "actioned" if actioned else ("manifestly_unfounded" if unfounded else "not_actioned")
    for notice in notices:
        notice.decided_at, notice.outcome = now, outcome
        if unfounded and not actioned and notice.trusted_flagger_id is None:
            _count_unfounded(session, clock, notice.notifier_key, now, rule)
    return notices


def _count_unfounded(session: Session, clock: Clock, key: str, now: datetime, rule: StandingRule) -> None:
    recent = (
        session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(
                Notice.notifier_key == key,
                Notice.outcome == "manifestly_unfounded",
                Notice.decided_at > now - rule.window,
            )
        )
        or 0
    )
    standing = session.get(NotifierStanding, key)
    if standing is None:
        standing = NotifierStanding(notifier_key=key, unfounded=0, updated_at=now)
        session.add(standing)
    standing.unfounded, standing.updated_at = recent, now
    actor = Actor.system()
    if standing.warned_at is None and recent >= rule.warn_after:
        standing.warned_at = now
        standing.reason = f"{recent} manifestly unfounded notices in {rule.window.days} days"
        audit.record(
            session, clock, actor, AuditAction.NOTIFIER_WARN, subject_type="notifier", subject_id=key[:16],
            data={"unfounded": recent},
        )  # fmt: skip
    elif (
        standing.warned_at is not None
        and recent >= rule.suspend_after
        and (standing.suspended_until is None or standing.suspended_until <= now)
    ):
        until = now + rule.suspension
        standing.suspended_until = until
        standing.reason = f"{recent} manifestly unfounded notices in {rule.window.days} days after a warning"
        audit.record(
            session, clock, actor, AuditAction.NOTIFIER_SUSPEND, subject_type="notifier",
            subject_id=key[:16], data={"unfounded": recent, "until": until.isoformat()},
        )  # fmt: skip


def find_notice(session: Session, reference: str, key: str) -> Notice:
    """The notice with this reference whose access key is ``key``; the same NotFound for either wrong."""
    notice = session.scalar(select(Notice).where(Notice.reference == reference.strip().upper()))
    if notice is None or not key_matches(notice.appeal_key_hash, key):
        raise NotFound("no notice with this reference and key", code="notice_not_found")
    return notice
