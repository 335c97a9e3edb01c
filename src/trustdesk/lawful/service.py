"""Intake and lookup of lawful requests. Services never commit: the entry point owns the transaction."""

import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities.models import Agency, Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful import intake_risk
from trustdesk.lawful.catalogue import Catalogue, Instrument
from trustdesk.lawful.intake_risk import Origin
from trustdesk.lawful.models import (
    IdempotencyRecord,
    LawfulRequest,
    LegalWindow,
    RequestDocument,
    RequestTarget,
)
from trustdesk.lawful.schemas import RequestIn
from trustdesk.lawful.vocabulary import FirstOrderNotice, ValidationStatus, WindowKind
from trustdesk.lawful.workflow import RequestStatus, Transition
from trustdesk.policy.admissibility import Admissibility, admissibility
from trustdesk.policy.rules import PolicySet
from trustdesk.policy.values import Ground
from trustdesk.references import new_reference
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require
from trustdesk.transparency.tlog import service as tlog
from trustdesk.vocabulary import InstrumentKind

PDF_MAGIC = b"%PDF-"
MAX_DOCUMENTS_PER_REQUEST = 20


def new_tracking_number(year: int) -> str:
    """``TD-2026-7K3M-Q9XF``: 40 random bits, so numbers reveal neither volume nor order."""
    return new_reference("TD", year)


@dataclass(frozen=True)
class Intake:
    request: LawfulRequest
    created: bool  # False when an Idempotency-Key replayed an earlier submission


def _body_digest(body: RequestIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_against_instrument(body: RequestIn, instrument: Instrument, at: datetime) -> None:
    """What makes a submission malformed for its instrument: contradictions only.

    An instrument that does not apply, a missing required field or an emergency claimed on an instrument
    without an emergency track are not malformed: the request is recorded and answered (refused on
    receipt, or the policy engine's F1 / E2 ask for what is missing)."""
    code = instrument.code.value
    for index, target in enumerate(body.targets):
        if target.type not in instrument.target_types:
            allowed = ", ".join(sorted(t.value for t in instrument.target_types))
            raise InvalidInput(
                f"{code} takes targets of type {allowed}, not {target.type.value}",
                field=f"targets[{index}].type",
            )
    if instrument.kind is InstrumentKind.REMOVAL and body.data_categories:
        raise InvalidInput(f"{code} orders a removal: it takes no data_categories", field="data_categories")
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
    rule = instrument.validation
    if body.validation is not None:
        if body.validation.validated_at > at:
            raise InvalidInput("validation.validated_at is in the future", field="validation.validated_at")
        if rule is not None and body.validation.authority.kind not in rule.validators:
            allowed = ", ".join(sorted(k.value for k in rule.validators))
            raise InvalidInput(
                f"under {code} an order is validated by a {allowed}, not a {body.validation.authority.kind}",
                field="validation.authority.kind",
            )
    confidentiality = instrument.confidentiality
    until = body.confidential_until
    if confidentiality is not None and until is not None and until > at + confidentiality.max:
        raise InvalidInput(
            f"under {code} the content provider may be kept uninformed for at most "
            f"{confidentiality.max.days // 7} weeks from receipt, then extended once "
            "(Regulation (EU) 2021/784 Art. 11(3))",
            code="confidentiality_too_long",
            field="confidential_until",
        )


def refusal_on_receipt(
    country: str, instrument: Instrument, at: datetime, policy: PolicySet, catalogue: Catalogue
) -> Admissibility | None:
    """Why a well-formed request cannot be executed at all, or None: the policy package's
    ``admissibility`` (the law, the platform's policy, an exited jurisdiction)."""
    return admissibility(country, instrument.code, at, policy, catalogue)


def _refusal_text(instrument: Instrument, refusal: Admissibility, catalogue: Catalogue) -> str:
    text = f"We cannot comply with this order ({instrument.code}). {refusal.sentence.strip()}"
    if refusal.alternatives:
        names = "; ".join(f"{code} ({catalogue.get(code).title})" for code in refusal.alternatives)
        text += f" An order the platform can answer from your authorities: {names}."
    elif refusal.ground is not Ground.JURISDICTION_EXITED:
        text += " The platform recognises no instrument of this kind from your authorities."
    return text


def _first_order_notice(
    session: Session, instrument: Instrument, agency: Agency, emergency: bool, now: datetime
) -> FirstOrderNotice | None:
    """TCO Art. 3(2): the 12 hours' notice before an authority's first removal order (not in emergencies)."""
    notice = instrument.first_order_notice
    if notice is None:
        return None
    if agency.tco_notice_at is not None and agency.tco_notice_at <= now - notice:
        return FirstOrderNotice.GIVEN
    if emergency:
        return FirstOrderNotice.EMERGENCY
    earlier = session.scalar(
        select(func.count())
        .select_from(LawfulRequest)
        .where(LawfulRequest.agency_id == agency.id, LawfulRequest.instrument == instrument.code)
    )
    return FirstOrderNotice.NOT_FIRST if earlier else FirstOrderNotice.NOT_GIVEN


def submit(
    session: Session,
    clock: Clock,
    catalogue: Catalogue,
    officer: Officer,
    body: RequestIn,
    *,
    idempotency_key: str | None,
    policy: PolicySet,
    channel: str = "api",
    origin: Origin | None = None,
    signature_key_id: str | None = None,
    received_at: datetime | None = None,
    tracking_number: str | None = None,
) -> Intake:
    """Record a request and compute its deadline; replays of an Idempotency-Key return the original.

    A well-formed request is always recorded with a tracking number; one that cannot be executed at all
    (the instrument does not apply or is not recognised there, or the jurisdiction was exited) is refused
    at once with the ground and a written answer naming the instruments that would be valid.
    ``signature_key_id`` names the agency key whose verified signature the submission carried. A request
    that came by e-mail or letter is recorded by triage with the time the desk ``received_at`` it (every
    deadline counts from then) and the ``tracking_number`` its acknowledgement already gave."""
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

    now = received_at or clock()
    if body.issuing_authority.country != agency.country:
        raise InvalidInput(
            f"{agency.name} transmits orders of authorities in {agency.country}, "
            f"not {body.issuing_authority.country}",
            field="issuing_authority.country",
        )
    instrument = catalogue.get(body.instrument)
    risk = intake_risk.score(session, catalogue, instrument, officer, body, origin or Origin(), now)
    claimed = body.issuing_authority.kind
    if claimed is not agency.kind:  # competence is judged on the agency's verified kind, never the claim
        verified = body.issuing_authority.model_copy(update={"kind": agency.kind})
        body = body.model_copy(update={"issuing_authority": verified})
    check_against_instrument(body, instrument, now)
    refusal = refusal_on_receipt(agency.country, instrument, now, policy, catalogue)
    emergency_track = body.emergency and instrument.supports_emergency
    due = deadlines.due_at(
        instrument.deadline, now, emergency=emergency_track, ordered_due_at=body.respond_by
    )
    validation_status, validation_due = _validation(body, instrument, now)
    offence = body.offence
    request = LawfulRequest(
        tracking_number=tracking_number or new_tracking_number(now.year),
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
        offence_description=offence.description if offence else None,
        offence_max_penalty_years=offence.max_penalty_years if offence else None,
        by_information_system=offence.by_information_system if offence else False,
        sentence_months=offence.sentence_months if offence else None,
        offence_in_issuing_state=offence.committed_in_issuing_state if offence else False,
        person_resides_in_issuing_state=offence.person_resides_in_issuing_state if offence else False,
        validation_status=validation_status,
        validator_kind=body.validation.authority.kind if body.validation else None,
        validator_name=body.validation.authority.name if body.validation else None,
        validated_at=body.validation.validated_at if body.validation else None,
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
        listed_offence=offence.listed_offence if offence else None,
        respond_by=body.respond_by,
        received_at=now,
        due_at=due,
        target_at=due,
        tco_first_order_notice=_first_order_notice(session, instrument, agency, body.emergency, now),
        claimed_issuer_kind=claimed if claimed is not agency.kind else None,
        signed=(origin or Origin()).signed,
        signature_key_id=signature_key_id if (origin or Origin()).signed else None,
        risk_score=risk.score,
        risk_reasons=[{"code": r.code, "points": r.points, "sentence": r.sentence} for r in risk.reasons],
        held_for_callback=risk.hold,
        catalogue_version=catalogue.version,
        channel=channel,
        targets=[RequestTarget(position=i, type=t.type, value=t.value) for i, t in enumerate(body.targets)],
    )
    session.add(request)
    session.flush()
    tlog.record_receipt(session, request)  # the acknowledgement carries its leaf in the transparency log
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
    actor = Actor(ActorKind.OFFICER, officer.id)
    audit.record(
        session,
        clock,
        actor,
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
                "validation_status": validation_status.value if validation_status else None,
                "tco_first_order_notice": request.tco_first_order_notice,
                "risk_score": risk.score,
                "risk_rules": [r.code for r in risk.reasons],
                "held_for_callback": risk.hold,
                "claimed_issuer_kind": request.claimed_issuer_kind,
                "signed": request.signed,
                "signature_key_id": request.signature_key_id,
            }
        },
    )
    if validation_due is not None and refusal is None:
        session.add(
            LegalWindow(
                request_id=request.id, kind=WindowKind.VALIDATION, opened_at=now, due_at=validation_due
            )
        )
        session.flush()
    if refusal is not None:
        _refuse_on_receipt(session, clock, request, instrument, refusal, catalogue)
    return Intake(request, created=True)


def _validation(
    body: RequestIn, instrument: Instrument, now: datetime
) -> tuple[ValidationStatus | None, datetime | None]:
    """e-Evidence Art. 4(5): the validation given, or an emergency order whose validation must follow
    within 48 hours (status and the due date of that validation)."""
    if body.validation is not None:
        return ValidationStatus.VALIDATED, None
    rule = instrument.validation
    kind = body.issuing_authority.kind
    if rule is not None and body.emergency and kind in rule.issuers and kind not in rule.validators:
        return ValidationStatus.PENDING, now + rule.emergency_after
    return None, None


def _refuse_on_receipt(
    session: Session,
    clock: Clock,
    request: LawfulRequest,
    instrument: Instrument,
    refusal: Admissibility,
    catalogue: Catalogue,
) -> None:
    from trustdesk.lawful import review  # review imports nothing of intake; keep the import local

    system = Actor.system()
    request.receipt_ground = refusal.ground.value
    review.transition(session, clock, system, request, Transition.REFUSE_ON_RECEIPT)
    review.correspond(
        session,
        clock,
        system,
        request,
        review.CorrespondenceKind.CANNOT_COMPLY,
        _refusal_text(instrument, refusal, catalogue),
    )
    request.answered_at = clock()
    session.flush()


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
DOCUMENT_STATUSES = frozenset(
    {RequestStatus.ACKNOWLEDGED, RequestStatus.IN_REVIEW, RequestStatus.CLARIFICATION_REQUESTED}
)
"""While a request is being judged, its signed order can be attached; not once it is decided."""


def pdf_problem(content: bytes) -> str | None:
    """Why ``content`` is not a PDF the legal team can read (pypdf parses it: pages, not encrypted), or
    None. A file that merely starts with ``%PDF-`` does not count as the signed order."""
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            return "it is encrypted: send it without a password"
        if len(reader.pages) < 1:
            return "it has no pages"
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return f"it does not parse ({type(exc).__name__})"
    return None


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
    """Attach the signed legal document (PDF only) to the officer's agency's request, while the request is
    still being judged: the one rule for the API and the portal."""
    request = get_for_agency(session, tracking_number, officer.agency_id)
    if request.status not in DOCUMENT_STATUSES:
        raise Conflict(
            f"{request.tracking_number} is {request.status.value}: documents are attached only while the "
            "request is being judged",
            code="request_not_open_for_documents",
            field="file",
        )
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
    if (problem := pdf_problem(content)) is not None:
        raise InvalidInput(
            f"the file is not a readable PDF: {problem}", code="unsupported_media_type", field="file"
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


def open_document(
    session: Session, clock: Clock, user: StaffUser, request: LawfulRequest, document_id: str
) -> RequestDocument:
    """A staff member opens the signed order of a request (audited: who read which document, when)."""
    require(user, Permission.STAFF_REQUEST_READ)
    document = session.get(RequestDocument, document_id)
    if document is None or document.request_id != request.id:
        raise NotFound(f"{request.tracking_number} has no document {document_id}")
    audit.record(
        session, clock, Actor(ActorKind.STAFF, user.id), AuditAction.DOCUMENT_VIEW,
        subject_type="lawful_request", subject_id=request.id,
        data={"after": {"document_id": document.id, "sha256": document.sha256, "viewed_by": user.id}},
    )  # fmt: skip
    return document


def document_response_headers(document: RequestDocument) -> dict[str, str]:
    """How a signed order is served to staff: as a download, never rendered in Trustdesk's origin, and with
    a sandboxing policy for a browser that would render it anyway."""
    return {
        "Content-Disposition": f'attachment; filename="{document.filename}"',
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
