"""Reports of apparent child sexual abuse material to NCMEC's CyberTipline (18 U.S.C. § 2258A), sent.

A report is queued when the platform learns of the material: the scanner's hash match of a
``report_ncmec`` bank (``scanner.py``) or a reviewer's decision with a child sexual abuse keyword
(:func:`queue_for_decision`). The worker (:func:`send_due`) then sends each queued report through a
`CyberTiplineClient` — NCMEC's API, or the local test double — as a retried step:

1. the content is fetched from the platform (``PlatformConnector.fetch_content``: removed content is
   still held, preserved, by the platform), the record built in the CyberTipline's own fields and
   validated (`validate_report`);
2. ``/submit`` opens the report; NCMEC's report id is kept at once;
3. each file is uploaded (``/upload``) and described (``/fileinfo``), and the progress kept;
4. ``/finish`` completes it: the report is ``reported``.

A transient failure (a network error, NCMEC's server error) is retried with the enforcement back-off and
the next attempt resumes where the last stopped: an open report is never submitted twice, a file never
uploaded twice. A refusal (NCMEC finds the record invalid, the credentials are wrong), content the
platform no longer holds or media too large to fetch fail the report for good; ``trustdesk ncmec list``
shows it with the error and ``trustdesk ncmec retry`` queues it again once fixed.

``fileViewedByEsp`` says whether a person at the platform looked at the file: a reviewer who revealed it
on the case page (their exposure is recorded), not a hash match. Law enforcement relies on this answer to
know whether it may open the file without a warrant, so it is never guessed.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, NotFound
from trustdesk.platform.protocol import ContentEvent, ContentNotFound, PlatformConnector, PlatformError
from trustdesk.safety.cybertipline import (
    ChatImIncident,
    ContactPerson,
    CyberTiplineReport,
    FileHash,
    IncidentSummary,
    IncidentType,
    ReportedFile,
    Reporter,
    ReportingPerson,
    ResponseCode,
    UserReported,
)
from trustdesk.safety.cybertipline_clients import (
    CyberTiplineClient,
    CyberTiplineError,
    CyberTiplineTransientError,
)
from trustdesk.safety.cybertipline_xml import ReportIncomplete, validate_report
from trustdesk.safety.enforcement import BACKOFF, CSAM
from trustdesk.safety.models import Case, Exposure, ModerationDecision, NcmecReport

__all__ = ["ReporterDetails", "attempt", "due", "queue_for_decision", "report_of", "retry", "send_due"]

_EXTENSION: Final = {"image": "jpg", "video": "mp4", "file": "bin"}
_CONTENT_TYPE: Final = {"image": "image/jpeg", "video": "video/mp4"}


@dataclass(frozen=True)
class ReporterDetails:
    """Who reports: the platform's trust and safety team, as NCMEC registered it."""

    platform: str
    email: str
    name: str = "Trust and Safety"
    contact_email: str | None = None


def queue_for_decision(
    session: Session, clock: Clock, case: Case, decision: ModerationDecision
) -> NcmecReport | None:
    """Queue a report for a reviewer's restricting decision on child sexual abuse material; None when the
    decision is of another kind or the material is reported already (the scanner's hash match)."""
    if decision.keyword not in CSAM or not decision.restrictions:
        return None
    known = session.scalar(select(NcmecReport.id).where(NcmecReport.event_key == case.event_key))
    if known is not None:
        return None
    now = clock()
    viewed = session.scalar(select(Exposure.id).where(Exposure.case_id == case.id).limit(1)) is not None
    report = NcmecReport.queued(
        decision_id=decision.id,
        event_key=case.event_key,
        account_id=case.account_id,
        locator=case.locator,
        at=now,
        file_viewed=viewed,
        incident={"locator": case.locator, "case_id": case.id, "keyword": str(decision.keyword)},
    )
    session.add(report)
    session.flush()
    audit.record(
        session, clock, Actor.system(), AuditAction.NCMEC_REPORT_QUEUE, subject_type="ncmec_report",
        subject_id=report.id, data={"event_key": case.event_key, "decision_id": decision.id},
    )  # fmt: skip
    return report


def _file(row: NcmecReport, content: ContentEvent, data: bytes) -> ReportedFile:
    kind = content.media_kind or "file"
    hashes = [
        FileHash("MD5", hashlib.md5(data, usedforsecurity=False).hexdigest()),
        FileHash("SHA256", hashlib.sha256(data).hexdigest()),
        *(FileHash("PDQ", pdq) for pdq, _quality in content.media_pdq[:1]),
    ]
    found = (
        f"matched {row.incident.get('bank')} (distance {row.incident.get('distance')})"
        if row.enforcement_id
        else "decided by a reviewer"
    )
    return ReportedFile(
        file_name=f"{content.event_id}.{_EXTENSION.get(kind, 'bin')}",
        file_viewed_by_esp=bool(row.file_viewed),
        uploaded_to_esp_timestamp=content.at,
        location_of_file=content.locator,
        publicly_available=content.chat_type == "public" if content.chat_type else None,
        original_file_hashes=tuple(hashes),
        additional_info=f"Trustdesk report {row.id}: {found}.",
        content_type=_CONTENT_TYPE.get(kind, "application/octet-stream"),
    )


def report_of(row: NcmecReport, content: ContentEvent, reporter: ReporterDetails) -> CyberTiplineReport:
    """The CyberTipline record of ``row`` from the content as the platform holds it."""
    if content.media_data is None:
        raise ReportIncomplete(
            "fileDetails", "the platform returned no file bytes (no media, or larger than it fetches)"
        )
    first, _, last = reporter.name.partition(" ")
    return CyberTiplineReport(
        incident_summary=IncidentSummary(
            incident_type=IncidentType.CHILD_PORNOGRAPHY,
            incident_date_time=content.at,
            platform=reporter.platform,
            incident_date_time_description="when the platform received the message",
        ),
        reporter=Reporter(
            reporting_person=ReportingPerson(email=reporter.email, first_name=first, last_name=last or None),
            contact_person=ContactPerson(email=reporter.contact_email) if reporter.contact_email else None,
        ),
        user_reported=UserReported(
            esp_identifier=row.account_id, esp_service=reporter.platform, screen_name=row.account_id
        ),
        files=(_file(row, content, content.media_data),),
        internet_details=(ChatImIncident(chat_client=reporter.platform, chat_room_name=content.chat_id),),
    )


def _send(
    row: NcmecReport,
    report: CyberTiplineReport,
    contents: tuple[bytes, ...],
    client: CyberTiplineClient,
    now: datetime,
) -> None:
    """Submit, upload, describe and finish, resuming after what an earlier attempt did; ``contents``
    are the files' bytes, in the order of ``report.files``."""
    if row.cybertip_id is None:
        row.cybertip_id, row.status, row.files = client.submit(report), "open", []
    progress = list(row.files or [])
    try:
        for index, file in enumerate(report.files):
            if index == len(progress):
                uploaded = client.upload(row.cybertip_id, file, contents[index])
                progress.append({"file_id": uploaded.file_id, "md5": uploaded.md5, "described": False})
            if not progress[index]["described"]:
                client.file_info(row.cybertip_id, progress[index]["file_id"], file)
                progress[index] = {**progress[index], "described": True}
    finally:
        row.files = progress  # a new list: the JSON column sees the change
    client.finish(row.cybertip_id)
    row.status, row.finished_at = "reported", now


def attempt(
    session: Session,
    clock: Clock,
    row: NcmecReport,
    connector: PlatformConnector,
    client: CyberTiplineClient,
    reporter: ReporterDetails,
) -> NcmecReport:
    """One attempt at sending ``row``; the outcome is recorded (reported, retried later, or failed)."""
    now = clock()
    row.attempts += 1
    permanent: str | None = None
    try:
        content = connector.fetch_content(row.locator or str(row.incident.get("locator")))
        report = report_of(row, content, reporter)
        validate_report(report)
        _send(row, report, (content.media_data or b"",), client, now)
        row.next_attempt_at, row.last_error = None, None
    except (ContentNotFound, ReportIncomplete) as exc:
        permanent = str(exc)
    except CyberTiplineTransientError as exc:
        _later(row, now, str(exc))
    except CyberTiplineError as exc:
        if exc.code == ResponseCode.ALREADY_FINISHED:
            row.status, row.finished_at, row.next_attempt_at, row.last_error = "reported", now, None, None
        elif exc.code in (ResponseCode.NO_SUCH_REPORT, ResponseCode.ALREADY_RETRACTED):
            row.cybertip_id, row.files = None, None  # NCMEC no longer holds it open: start again
            _later(row, now, str(exc))
        else:
            permanent = str(exc)
    except (PlatformError, OSError, TimeoutError) as exc:
        _later(row, now, f"{type(exc).__name__}: {exc}")
    if permanent is not None:
        row.status, row.next_attempt_at, row.last_error = "failed", None, permanent
    audit.record(
        session, clock, Actor.system(), AuditAction.NCMEC_REPORT_SEND, subject_type="ncmec_report",
        subject_id=row.id, data={"status": row.status, "attempts": row.attempts,
                                 "cybertip_id": row.cybertip_id, "error": row.last_error},
    )  # fmt: skip
    session.flush()
    return row


def _later(row: NcmecReport, now: datetime, error: str) -> None:
    row.last_error = error
    if row.attempts > len(BACKOFF):
        row.status, row.next_attempt_at = "failed", None
    else:
        row.next_attempt_at = now + BACKOFF[row.attempts - 1]


def due(session: Session, now: datetime, *, limit: int = 20) -> list[str]:
    """The ids of the reports to try now, oldest first."""
    return list(
        session.scalars(
            select(NcmecReport.id)
            .where(NcmecReport.status.in_(("queued", "open")), NcmecReport.next_attempt_at <= now)
            .order_by(NcmecReport.next_attempt_at, NcmecReport.id)
            .limit(limit)
        )
    )


def send_due(
    session: Session,
    clock: Clock,
    connector: PlatformConnector,
    client: CyberTiplineClient,
    reporter: ReporterDetails,
    *,
    limit: int = 20,
) -> list[NcmecReport]:
    """Try every report that is due (in the caller's transaction)."""
    return [
        attempt(session, clock, session.get_one(NcmecReport, report_id), connector, client, reporter)
        for report_id in due(session, clock(), limit=limit)
    ]


def retry(session: Session, clock: Clock, actor: Actor, report_id: str) -> NcmecReport:
    """Queue a failed report again (after its cause was fixed); it resumes where it stopped."""
    row = session.get(NcmecReport, report_id)
    if row is None:
        raise NotFound(f"no CyberTipline report {report_id}")
    if row.status != "failed":
        raise Conflict(f"report {report_id} is {row.status}: only a failed report is retried")
    row.status = "open" if row.cybertip_id else "queued"
    row.attempts, row.next_attempt_at = 0, clock()
    audit.record(
        session, clock, actor, AuditAction.NCMEC_REPORT_QUEUE, subject_type="ncmec_report",
        subject_id=row.id, data={"retry": True, "after": row.last_error},
    )  # fmt: skip
    return row
