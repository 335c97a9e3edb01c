"""Intake and lookup of lawful requests. Services never commit: the entry point owns the transaction."""

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.catalogue import Catalogue, Instrument, RequestField
from trustdesk.lawful.models import IdempotencyRecord, LawfulRequest, RequestDocument, RequestTarget
from trustdesk.lawful.schemas import RequestIn
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.vocabulary import InstrumentKind

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PDF_MAGIC = b"%PDF-"
MAX_DOCUMENTS_PER_REQUEST = 20
AFTER_INTAKE_FIELDS = frozenset({RequestField.ORDER_DOCUMENT.value})
"""Required fields that arrive after the acknowledgement: the signed document is uploaded separately."""


def new_tracking_number(year: int) -> str:
    """``TD-2026-7K3M-Q9XF``: 40 random bits, so numbers reveal neither volume nor order."""
    code = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
    return f"TD-{year}-{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class Intake:
    request: LawfulRequest
    created: bool  # False when an Idempotency-Key replayed an earlier submission


def _body_digest(body: RequestIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _missing(body: RequestIn, dotted: str) -> bool:
    value: Any = body
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return True
    return value in ("", [], ())


def check_against_instrument(body: RequestIn, instrument: Instrument, agency_country: str, at: Any) -> None:
    """What the instrument itself demands of a request; anything else is for the policy engine."""
    code = instrument.code.value
    if not instrument.applies_in(agency_country, at):
        raise InvalidInput(
            f"{code} ({instrument.title}) does not apply to an authority in {agency_country} on {at.date()}",
            code="instrument_not_applicable",
            field="instrument",
        )
    if body.emergency and not instrument.supports_emergency:
        raise InvalidInput(f"{code} has no emergency procedure", field="emergency")
    required = instrument.required_fields | (
        instrument.emergency_required_fields if body.emergency else frozenset()
    )
    for name in sorted(required - AFTER_INTAKE_FIELDS):
        if _missing(body, name):
            raise InvalidInput(f"{code} requires {name}", code="missing_required_field", field=name)
    for index, target in enumerate(body.targets):
        if target.type not in instrument.target_types:
            allowed = ", ".join(sorted(t.value for t in instrument.target_types))
            raise InvalidInput(
                f"{code} takes targets of type {allowed}, not {target.type.value}",
                field=f"targets[{index}].type",
            )
    if instrument.kind is InstrumentKind.REMOVAL and body.data_categories:
        raise InvalidInput(f"{code} orders a removal: it takes no data_categories", field="data_categories")
    if instrument.kind is not InstrumentKind.REMOVAL and not body.data_categories:
        raise InvalidInput(f"{code} needs at least one data category", field="data_categories")
    if body.offence and body.offence.listed_offence:
        listed = set().union(*(rule.listed_offences for rule in instrument.categories.values()))
        if body.offence.listed_offence not in listed:
            allowed = ", ".join(sorted(listed)) or "none"
            raise InvalidInput(
                f"{code} knows no listed offence {body.offence.listed_offence!r} (listed: {allowed})",
                field="offence.listed_offence",
            )
    if body.respond_by is not None:
        if not instrument.deadline.as_ordered:
            raise InvalidInput(f"the deadline of {code} is set by law, not by the order", field="respond_by")
        if body.respond_by <= at:
            raise InvalidInput("respond_by is in the past", field="respond_by")


def submit(
    session: Session,
    clock: Clock,
    catalogue: Catalogue,
    officer: Officer,
    body: RequestIn,
    *,
    idempotency_key: str | None,
    channel: str = "api",
) -> Intake:
    """Record a request and compute its deadline; replays of an Idempotency-Key return the original."""
    agency = officer.agency
    if not agency.verified:
        raise Forbidden(
            f"{agency.name} is not a verified agency yet; "
            "requests are accepted once the platform has verified it",
            code="agency_not_verified",
        )
    digest = _body_digest(body)
    if idempotency_key is not None:
        earlier = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.officer_id == officer.id, IdempotencyRecord.key == idempotency_key
            )
        )
        if earlier is not None:
            if earlier.body_sha256 != digest:
                raise Conflict(
                    "this Idempotency-Key was used for a different request; use a new key for a new request",
                    code="idempotency_key_reused",
                    field="Idempotency-Key",
                )
            return Intake(session.get_one(LawfulRequest, earlier.request_id), created=False)

    now = clock()
    if body.issuing_authority.country != agency.country:
        raise InvalidInput(
            f"{agency.name} transmits orders of authorities in {agency.country}, "
            f"not {body.issuing_authority.country}",
            field="issuing_authority.country",
        )
    instrument = catalogue.get(body.instrument)
    check_against_instrument(body, instrument, agency.country, now)
    due = deadlines.due_at(instrument.deadline, now, emergency=body.emergency, ordered_due_at=body.respond_by)
    request = LawfulRequest(
        tracking_number=new_tracking_number(now.year),
        agency_id=agency.id,
        officer_id=officer.id,
        instrument=instrument.code,
        reference=body.reference,
        status=RequestStatus.ACKNOWLEDGED,
        emergency=body.emergency,
        emergency_justification=body.emergency_justification,
        issuer_name=body.issuing_authority.name,
        issuer_kind=body.issuing_authority.kind,
        issuer_country=body.issuing_authority.country,
        legal_basis=body.legal_basis,
        offence_description=body.offence.description if body.offence else None,
        offence_max_penalty_years=body.offence.max_penalty_years if body.offence else None,
        data_categories=[c.value for c in body.data_categories],
        period_start=body.period.start if body.period else None,
        period_end=body.period.end if body.period else None,
        confidential_until=body.confidential_until,
        non_disclosure_until=body.non_disclosure_until,
        statement_of_reasons=body.statement_of_reasons,
        redress_information=body.redress_information,
        territorial_scope=body.territorial_scope,
        supervisor_contact=body.supervisor_contact.model_dump() if body.supervisor_contact else None,
        suspect_confirmed=body.suspect_confirmed,
        listed_offence=body.offence.listed_offence if body.offence else None,
        respond_by=body.respond_by,
        received_at=now,
        due_at=due,
        catalogue_version=catalogue.version,
        channel=channel,
        targets=[RequestTarget(position=i, type=t.type, value=t.value) for i, t in enumerate(body.targets)],
    )
    session.add(request)
    session.flush()
    if idempotency_key is not None:
        session.add(
            IdempotencyRecord(
                officer_id=officer.id,
                key=idempotency_key,
                body_sha256=digest,
                request_id=request.id,
                created_at=now,
            )
        )
        session.flush()
    audit.record(
        session,
        clock,
        Actor(ActorKind.OFFICER, officer.id),
        AuditAction.REQUEST_RECEIVE,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "tracking_number": request.tracking_number,
                "instrument": instrument.code.value,
                "status": request.status.value,
                "emergency": request.emergency,
                "due_at": due.isoformat() if due else None,
                "agency_id": agency.id,
                "channel": channel,
                "catalogue_version": catalogue.version,
            }
        },
    )
    return Intake(request, created=True)


def get_by_tracking_number(session: Session, tracking_number: str) -> LawfulRequest:
    request = session.scalar(
        select(LawfulRequest).where(LawfulRequest.tracking_number == tracking_number.upper())
    )
    if request is None:
        raise NotFound(f"no request {tracking_number}", code="request_not_found")
    return request


def get_for_agency(session: Session, tracking_number: str, agency_id: str) -> LawfulRequest:
    """A request as its own agency sees it; to anyone else it does not exist."""
    request = session.scalar(
        select(LawfulRequest).where(
            LawfulRequest.tracking_number == tracking_number.upper(), LawfulRequest.agency_id == agency_id
        )
    )
    if request is None:
        raise NotFound(f"no request {tracking_number}", code="request_not_found")
    return request


def list_requests(
    session: Session,
    *,
    agency_id: str | None = None,
    statuses: Sequence[RequestStatus] = (),
    limit: int = 100,
    offset: int = 0,
) -> list[LawfulRequest]:
    query = select(LawfulRequest)
    if agency_id is not None:
        query = query.where(LawfulRequest.agency_id == agency_id)
    if statuses:
        query = query.where(LawfulRequest.status.in_(statuses))
    query = query.order_by(LawfulRequest.received_at.desc(), LawfulRequest.id).limit(limit).offset(offset)
    return list(session.scalars(query))


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def attach_document(
    session: Session,
    clock: Clock,
    officer: Officer,
    tracking_number: str,
    *,
    filename: str,
    content_type: str,
    content: bytes,
    max_bytes: int,
) -> RequestDocument:
    """Attach the signed legal document (PDF only) to the officer's agency's request."""
    request = get_for_agency(session, tracking_number, officer.agency_id)
    if content_type.split(";", maxsplit=1)[0].strip().lower() != "application/pdf":
        raise InvalidInput(
            f"documents must be PDF (application/pdf), not {content_type}",
            code="unsupported_media_type",
            field="file",
        )
    if not content.startswith(PDF_MAGIC) or b"%%EOF" not in content[-2048:]:
        raise InvalidInput(
            "the file is not a complete PDF document", code="unsupported_media_type", field="file"
        )
    if len(content) > max_bytes:
        raise InvalidInput(
            f"documents may be at most {max_bytes} bytes", code="payload_too_large", field="file"
        )
    count = session.scalar(select(func.count()).where(RequestDocument.request_id == request.id)) or 0
    if count >= MAX_DOCUMENTS_PER_REQUEST:
        raise Conflict(f"a request holds at most {MAX_DOCUMENTS_PER_REQUEST} documents", field="file")
    name = _SAFE_NAME.sub("_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip() or "document.pdf"
    document = RequestDocument(
        request_id=request.id,
        filename=name[:200],
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_at=clock(),
        uploaded_by=officer.id,
    )
    session.add(document)
    session.flush()
    audit.record(
        session,
        clock,
        Actor(ActorKind.OFFICER, officer.id),
        AuditAction.DOCUMENT_ATTACH,
        subject_type="lawful_request",
        subject_id=request.id,
        data={"after": {"document_id": document.id, "sha256": document.sha256, "size": document.size}},
    )
    return document
