"""Building a responsiveness dossier from the records, and checking one against them (operator, auditor).

`build` reads every request of the scope received in the period, in order of receipt, and writes one line
each: when and how it arrived, when it was acknowledged (at once on the portal and the API; when the
acknowledgement mail went out for e-mail and letters), the correspondence (times, directions and kinds;
never a body), when and how it was answered, its deadline and whether it was met, and its receipt leaf in
the transparency log with the inclusion proof in one signed head — the latest at build time, or the one
asked for — which the dossier carries once. The document is signed with the platform's key. An agency's
own dossier carries each receipt's salt (the agency holds them already, from its log receipts), so every
line's own fields can be checked against its leaf; a country dossier carries none.

It also lists every e-mail and letter of the scope (``inbound``): attributed to the agency at arrival or
recorded as its request, with its SHA-256 and what became of it (in triage, recorded, attached, rejected),
so a message that never became a request is not missing from the authority's account either.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import Agency
from trustdesk.clock import Clock
from trustdesk.dossier.document import (
    FORMAT,
    FORMAT_VERSION,
    SYNCHRONOUS_CHANNELS,
    Deadline,
    LogStatus,
    Period,
    acknowledged_at,
    deadline_of,
    parse_stamp,
    stamp,
)
from trustdesk.errors import InvalidInput, NotFound
from trustdesk.intake.models import InboundMessage, OutboundMail
from trustdesk.intake.outbound import ACKNOWLEDGEMENT, SENT
from trustdesk.lawful import review, views
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.signing.protocol import Signer
from trustdesk.transparency.models import TlogHead
from trustdesk.transparency.reports import canonical_json
from trustdesk.transparency.tlog import service as tlog
from trustdesk.transparency.tlog.checks import leaves_up_to
from trustdesk.transparency.tlog.leaves import RECEIPT, LeafError, parse_leaf

__all__ = ["Built", "Scope", "build", "check_against_log", "scope_of_agency", "scope_of_country"]

ANSWER_KINDS = frozenset(
    {review.CorrespondenceKind.CANNOT_COMPLY.value, review.CorrespondenceKind.ANSWER.value}
)


@dataclass(frozen=True)
class Scope:
    kind: str  # agency | country
    country: str
    agency_id: str | None = None
    agency_name: str | None = None

    @property
    def salts(self) -> bool:
        """Salts go only to the authority they were given to: its own dossier."""
        return self.kind == "agency"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "country": self.country}
        if self.kind == "agency":
            out |= {"agency_id": self.agency_id, "agency_name": self.agency_name}
        return out


def scope_of_agency(session: Session, agency_id: str) -> Scope:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(f"no agency {agency_id}", code="agency_not_found")
    return Scope("agency", agency.country, agency.id, agency.name)


def scope_of_country(country: str) -> Scope:
    code = country.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise InvalidInput(f"{country!r} is not a two-letter country code", field="country")
    return Scope("country", code)


@dataclass(frozen=True)
class Built:
    document: dict[str, Any]
    data: bytes
    """The exact signed bytes (canonical JSON)."""
    signature: bytes
    key_id: str


def _requests(session: Session, scope: Scope, period: Period, now: datetime) -> list[LawfulRequest]:
    query = select(LawfulRequest).where(
        LawfulRequest.received_at >= period.start,
        LawfulRequest.received_at < period.end,
        LawfulRequest.received_at <= now,
    )
    if scope.kind == "agency":
        query = query.where(LawfulRequest.agency_id == scope.agency_id)
    else:
        query = query.join(Agency, Agency.id == LawfulRequest.agency_id).where(
            Agency.country == scope.country
        )
    return list(session.scalars(query.order_by(LawfulRequest.received_at, LawfulRequest.tracking_number)))


def _answered_at(request: LawfulRequest, messages: list[Any], outcome: str | None) -> datetime | None:
    """When the authority got its answer: ``answered_at`` as recorded; a refusal decided in review records
    none, so its answer is the first cannot-comply (or answer) message sent to the authority."""
    if request.answered_at is not None:
        return request.answered_at
    if outcome == "refuse" or request.status is RequestStatus.REFUSED:
        for message in messages:
            if message.direction == "to_authority" and message.kind in ANSWER_KINDS:
                return message.created_at  # type: ignore[no-any-return]
    return None


def _log_entry(
    session: Session, request: LawfulRequest, head: TlogHead | None, salts: bool
) -> dict[str, Any]:
    entry = tlog.receipt_of(session, request.id)
    if entry is None:
        return {"status": LogStatus.MISSING.value}
    out: dict[str, Any] = {"leaf": entry.leaf, "leaf_hash": entry.leaf_hash}
    if salts and entry.salt is not None:
        out["salt"] = entry.salt
    if entry.leaf_index is None or head is None or entry.leaf_index >= head.tree_size:
        return out | {"status": LogStatus.PENDING.value}
    proof = tlog.inclusion(session, entry.leaf_hash, head.tree_size)
    return out | {"status": LogStatus.INCLUDED.value, "leaf_index": entry.leaf_index, "proof": proof["proof"]}


def _acknowledged_at(session: Session, request: LawfulRequest, now: datetime) -> datetime | None:
    """When the authority had its acknowledgement: at once on the portal and the API; for a request that
    came by e-mail or letter, when the first acknowledgement mail about it (or about its message, before
    triage recorded it) went out."""
    if request.channel in SYNCHRONOUS_CHANNELS:
        return acknowledged_at(request.channel, request.received_at)
    messages = select(InboundMessage.id).where(InboundMessage.request_id == request.id)
    sent = session.scalar(
        select(func.min(OutboundMail.sent_at)).where(
            OutboundMail.kind == ACKNOWLEDGEMENT,
            OutboundMail.status == SENT,
            or_(OutboundMail.request_id == request.id, OutboundMail.inbound_id.in_(messages)),
        )
    )
    return sent if sent is not None and sent <= now else None


def _inbound(session: Session, scope: Scope, period: Period, now: datetime) -> list[dict[str, Any]]:
    """Every e-mail and letter of the scope received in the period, whatever became of it: attributed to
    the agency at arrival, or recorded as one of its requests. No sender, subject or body: times, channel,
    the SHA-256 of what was received, and its fate."""
    request = aliased(LawfulRequest)
    query = (
        select(InboundMessage, request.tracking_number)
        .outerjoin(request, request.id == InboundMessage.request_id)
        .join(Agency, Agency.id == func.coalesce(request.agency_id, InboundMessage.agency_id))
        .where(
            InboundMessage.received_at >= period.start,
            InboundMessage.received_at < period.end,
            InboundMessage.created_at <= now,
        )
    )
    if scope.kind == "agency":
        query = query.where(Agency.id == scope.agency_id)
    else:
        query = query.where(Agency.country == scope.country)
    rows = session.execute(query.order_by(InboundMessage.received_at, InboundMessage.id)).all()
    return [
        {
            "n": n,
            "received_at": stamp(message.received_at),
            "channel": message.channel,
            "sha256": message.sha256,
            "tracking_number": tracking or message.tracking_number,
            "status": message.status if message.decided_at is None or message.decided_at <= now else "triage",
        }
        for n, (message, tracking) in enumerate(rows, start=1)
    ]


def _line(
    session: Session, number: int, request: LawfulRequest, head: TlogHead | None, salts: bool, now: datetime
) -> dict[str, Any]:
    messages = review.correspondence_of(session, request)
    withdrawn = request.status is RequestStatus.WITHDRAWN
    outcome = "withdrawn" if withdrawn else views.authority_view(session, request)["outcome"]
    answered = _answered_at(request, messages, outcome)
    if answered is not None and answered > now:
        answered = None  # pinned to an earlier build time: not answered yet then
    return {
        "n": number,
        "tracking_number": request.tracking_number,
        "agency_id": request.agency_id,
        "agency_name": request.agency.name,
        "country": request.agency.country,
        "channel": request.channel,
        "instrument": request.instrument.value,
        "emergency": request.emergency,
        "received_at": stamp(request.received_at),
        "acknowledged_at": stamp(_acknowledged_at(session, request, now)),
        "correspondence": [
            {"at": stamp(m.created_at), "direction": m.direction, "kind": m.kind}
            for m in messages
            if m.created_at <= now
        ],
        "status": request.status.value,
        "outcome": outcome,
        "answered_at": stamp(answered),
        "due_at": stamp(request.due_at),
        "deadline": deadline_of(
            received_at=request.received_at,
            due_at=request.due_at,
            answered_at=answered,
            withdrawn=withdrawn,
            now=now,
        ).value,
        "log": _log_entry(session, request, head, salts),
    }


def _head(session: Session, tree_size: int | None) -> TlogHead | None:
    if tree_size is None:
        return tlog.latest_head(session)
    head = session.get(TlogHead, tree_size)
    if head is None:
        raise NotFound(f"the log signed no head of size {tree_size}", code="tlog_head_not_found")
    return head


def build(
    session: Session,
    clock: Clock,
    signer: Signer,
    scope: Scope,
    period: Period,
    *,
    provider: str,
    at: datetime | None = None,
    tree_size: int | None = None,
) -> Built:
    """The signed dossier of ``scope`` for ``period``, as of now (or of ``at``, not later than now), proven
    against the latest signed head (or the head of ``tree_size``). Stores nothing, changes nothing: two
    builds with the same ``at`` and ``tree_size`` over the same records give the same bytes."""
    now = clock()
    if at is not None:
        if at > now:
            raise InvalidInput("a dossier cannot be built as of a time still to come", field="at")
        now = at
    head = _head(session, tree_size)
    requests = _requests(session, scope, period, now)
    lines = [_line(session, n, r, head, scope.salts, now) for n, r in enumerate(requests, start=1)]
    summary: dict[str, int] = {d.value: 0 for d in Deadline} | {s.value: 0 for s in LogStatus}
    for line in lines:
        summary[line["deadline"]] += 1
        summary[line["log"]["status"]] += 1
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "provider": provider,
        "scope": scope.as_dict(),
        "period": period.as_dict(),
        "built_at": stamp(now),
        "key_id": signer.key_id,
        "salts_included": scope.salts,
        "log": None
        if head is None
        else {"tree_size": head.tree_size, "root_hash": head.root_hash, "checkpoint": head.checkpoint},
        "count": len(lines),
        "summary": summary,
        "lines": lines,
        "inbound": _inbound(session, scope, period, now),
    }
    data = canonical_json(document)
    return Built(document, data, signer.sign(data), signer.key_id)


def record_issue(session: Session, clock: Clock, actor: Actor, built: Built) -> None:
    """Audit that a dossier was issued, to whom and which (its SHA-256): an agency's own copy carries the
    salts of its receipts."""
    document = built.document
    audit.record(
        session, clock, actor, AuditAction.DOSSIER_ISSUE, subject_type="dossier",
        subject_id=str(document["scope"].get("agency_id") or document["scope"].get("country") or "-"),
        data={"sha256": hashlib.sha256(built.data).hexdigest(), "count": document["count"],
              "period": document["period"], "salts_included": document["salts_included"]},
    )  # fmt: skip


# --- against the records ------------------------------------------------------------------------------


def _scope_from(session: Session, document: dict[str, Any]) -> Scope:
    scope = document.get("scope") or {}
    if scope.get("kind") == "agency":
        return scope_of_agency(session, str(scope.get("agency_id")))
    return scope_of_country(str(scope.get("country", "")))


def check_against_log(session: Session, document: dict[str, Any]) -> list[str]:
    """For the operator or an auditor with the database: every request of the dossier's scope received in
    its period (up to its build time) is a line of it, no line is foreign, every line's leaf is its
    request's receipt leaf, and — for a country dossier — the receipt leaves of that country and period
    in the dossier's signed head are exactly as many as its lines proven in that head."""
    try:
        scope = _scope_from(session, document)
        raw = document.get("period") or {}
        period = Period(
            datetime.fromisoformat(raw["since"]).date(), datetime.fromisoformat(raw["until"]).date()
        )
        built_at = parse_stamp(str(document.get("built_at")))
    except (KeyError, TypeError, ValueError, NotFound, InvalidInput) as exc:
        return [f"the dossier's scope, period or build time cannot be read: {exc}"]
    lines = [line for line in document.get("lines") or [] if isinstance(line, dict)]
    by_number = {str(line.get("tracking_number")): line for line in lines}
    problems: list[str] = []
    records = _requests(session, scope, period, built_at)
    known = {r.tracking_number for r in records}
    for request in records:
        line = by_number.get(request.tracking_number)
        if line is None:
            problems.append(
                f"{request.tracking_number} (received {stamp(request.received_at)}, channel "
                f"{request.channel}) is in the records but not in the dossier: omitted"
            )
            continue
        entry = tlog.receipt_of(session, request.id)
        logged = (line.get("log") or {}).get("leaf_hash")
        if entry is not None and logged != entry.leaf_hash:
            problems.append(
                f"line {line.get('n')} ({request.tracking_number}): its leaf is not the request's "
                "receipt leaf in the log"
            )
    problems.extend(
        f"line {line.get('n')} ({line.get('tracking_number')}): no request of this scope and period in the "
        "records"
        for line in lines
        if str(line.get("tracking_number")) not in known
    )
    log = document.get("log")
    if scope.kind == "country" and isinstance(log, dict) and isinstance(log.get("tree_size"), int):
        problems += _count_leaves(session, scope, period, lines, log["tree_size"])
    return problems


def _count_leaves(
    session: Session, scope: Scope, period: Period, lines: list[dict[str, Any]], size: int
) -> list[str]:
    first, last = period.since.isoformat(), period.until.isoformat()
    counted = 0
    for leaf in leaves_up_to(session, size):
        try:
            parsed = parse_leaf(leaf)
        except LeafError:
            continue
        fields = parsed.fields
        if parsed.kind == RECEIPT and fields["country"] == scope.country and first <= fields["day"] <= last:
            counted += 1
    proven = sum(1 for line in lines if (line.get("log") or {}).get("status") == LogStatus.INCLUDED.value)
    if counted != proven:
        found = f"the log's head of {size} leaves holds {counted} receipts of {scope.country} in the period"
        return [f"{found}, the dossier proves {proven}: requests are missing from the dossier"]
    return []
