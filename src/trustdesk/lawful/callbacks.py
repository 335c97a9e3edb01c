"""Callback verification: before anything is disclosed on a held request, a person at the platform calls
the agency back on a number from an official directory and records what they heard.

A request is held (``held_for_callback``) when its forgery risk reaches ``risk.HOLD_AT`` or its instrument
requires a callback (a US emergency disclosure). Held, it cannot be executed into a production, and a US
emergency disclosure cannot be approved, until a confirmed callback is recorded (:func:`require_callback`).

The number is never the one the request gives: a forger controls that line (the 2022 forged emergency
requests came from compromised police mailboxes with the forger's number as the "supervisor"). A failed
callback means the request is presumed forged: it is refused, the agency is de-verified, its officers are
deactivated and their API keys revoked, and a security incident is recorded for the entry point to alert
on (:func:`record_callback`).
"""

import logging
import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import AuditAction
from trustdesk.authorities.models import Agency, ApiKey, Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput
from trustdesk.lawful.catalogue import Instrument
from trustdesk.lawful.models import LawfulRequest, RequestCallback
from trustdesk.lawful.notifiers import Notifier, NotifierError
from trustdesk.lawful.workflow import OPEN_STATUSES, RequestStatus, Transition
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require

__all__ = ["CallbackIn", "alert_failed_callback", "confirmed_callback", "record_callback", "require_callback"]

log = logging.getLogger(__name__)

_PHONE: Final = re.compile(r"\+?[0-9][0-9 ().-]{5,38}")


@dataclass(frozen=True)
class CallbackIn:
    number: str
    """The number called, as dialled."""
    directory: str
    """Where the number comes from: the official directory or public website it was taken from."""
    person_reached: str
    confirmed: bool
    note: str


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def confirmed_callback(session: Session, request: LawfulRequest) -> RequestCallback | None:
    return session.scalar(
        select(RequestCallback)
        .where(RequestCallback.request_id == request.id, RequestCallback.confirmed.is_(True))
        .order_by(RequestCallback.called_at.desc())
        .limit(1)
    )


def require_callback(session: Session, request: LawfulRequest, instrument: Instrument, *, step: str) -> None:
    """Refuse ``step`` (approval, execution) of a held request that no callback has confirmed."""
    if not (request.held_for_callback or instrument.callback_verification):
        return
    if confirmed_callback(session, request) is not None:
        return
    why = (
        f"{instrument.code} requires it"
        if instrument.callback_verification
        else f"its forgery risk is {request.risk_score}"
    )
    raise Conflict(
        f"{request.tracking_number} is held for callback verification ({why}): record a confirmed call "
        f"to the agency on a directory number before the {step}",
        code="callback_required",
    )


def _check(request: LawfulRequest, body: CallbackIn) -> None:
    if not _PHONE.fullmatch(body.number.strip()):
        raise InvalidInput(f"{body.number!r} is not a telephone number", field="number")
    given = (request.supervisor_contact or {}).get("phone")
    if given and _digits(str(given)) and _digits(str(given))[-9:] == _digits(body.number)[-9:]:
        raise InvalidInput(
            "this is the number the request gives: call the agency's main line from an official directory "
            "and ask for the supervisor",
            field="number",
            code="number_from_request",
        )
    for field, value in (("directory", body.directory), ("person_reached", body.person_reached)):
        if not value.strip():
            raise InvalidInput(f"say {field.replace('_', ' ')}", field=field)
    if not body.note.strip():
        raise InvalidInput("say what the call established", field="note")


def _lock_agency(
    session: Session, clock: Clock, user: StaffUser, agency: Agency, request: LawfulRequest
) -> int:
    from trustdesk.lawful import review

    """De-verify the agency, deactivate its officers, revoke their keys; returns the officers locked."""
    now = clock()
    agency.verified = False
    officers = list(session.scalars(select(Officer).where(Officer.agency_id == agency.id, Officer.active)))
    for officer in officers:
        officer.active = False
    session.execute(
        update(ApiKey)
        .where(ApiKey.officer_id.in_([o.id for o in officers]), ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record(
        session, clock, review.staff_actor(user), AuditAction.SECURITY_INCIDENT, subject_type="agency",
        subject_id=agency.id,
        data={"after": {"incident": "callback_failed", "request": request.tracking_number, "verified": False,
                        "officers_locked": [o.id for o in officers]}},
    )  # fmt: skip
    return len(officers)


def record_callback(
    session: Session, clock: Clock, user: StaffUser, request: LawfulRequest, body: CallbackIn
) -> RequestCallback:
    """Record a callback. Confirmed: the hold is lifted. Not confirmed: the request is refused as
    presumed forged, and the agency is locked (see the module's docstring)."""
    from trustdesk.lawful import review  # review reads callbacks before approving: import here

    require(user, Permission.STAFF_REQUEST_DECIDE)
    if request.status not in OPEN_STATUSES or request.status is RequestStatus.EXECUTING:
        raise Conflict(f"{request.tracking_number} is {request.status.value}: no callback is recorded now")
    _check(request, body)
    callback = RequestCallback(
        request_id=request.id, called_at=clock(), called_by=user.id, number=body.number.strip(),
        directory=body.directory.strip(), person_reached=body.person_reached.strip(),
        confirmed=body.confirmed, note=body.note.strip(),
    )  # fmt: skip
    session.add(callback)
    session.flush()
    audit.record(
        session, clock, review.staff_actor(user), AuditAction.REQUEST_CALLBACK, subject_type="lawful_request",
        subject_id=request.id,
        data={"after": {"callback_id": callback.id, "confirmed": body.confirmed, "called_by": user.id,
                        "directory": callback.directory}},
    )  # fmt: skip
    if not body.confirmed:
        review.transition(session, clock, review.staff_actor(user), request, Transition.VERIFICATION_FAILED)
        _lock_agency(session, clock, user, request.agency, request)
        request.answered_at = clock()
    session.flush()
    return callback


def alert_failed_callback(sessions: sessionmaker[Session], notifier: Notifier, tracking_number: str) -> None:
    """After a failed callback committed, page the on-call: best effort (the incident is in the audit log
    whatever happens to the page)."""
    from trustdesk.lawful.monitor import Alert, AlertKind

    with sessions() as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking_number)
        ).one()
        alert = Alert(
            kind=AlertKind.VERIFICATION_FAILED, request_id=request.id, tracking_number=tracking_number,
            instrument=request.instrument.value, emergency=request.emergency, received_at=request.received_at,
            due_at=None, time_left_seconds=None,
        )  # fmt: skip
    try:
        notifier.notify(alert)
    except NotifierError as exc:
        log.error("the failed callback on %s could not be paged: %s", tracking_number, exc)
