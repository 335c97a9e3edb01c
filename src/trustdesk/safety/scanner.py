"""The scanner: detect on a batch of content items, then record and act on what was found, once.

Detection reads only memory (`Detectors`); the database sees a batch only when something was found,
in one transaction: the signals, then per item the strongest action —

* ``report_ncmec``: removal through the connector, the content preserved as evidence for one year
  (18 U.S.C. § 2258A(h) as amended by the REPORT Act), and a CyberTipline report queued;
* ``auto_remove``: removal, the content preserved as evidence for six months;
* ``review``: a case in the review queue, its priority from the category, the audience and the
  classifier scores, blurred when a nudity score is high;
* ``log``: the signals only.

Idempotent: an item delivered twice (the bus delivers at least once) finds its signals, case and
enforcement already recorded and adds nothing, and the connector is not called again.
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import new_id
from trustdesk.bus.protocol import EventBus, Subject
from trustdesk.clock import Clock
from trustdesk.db import unit_of_work
from trustdesk.platform.protocol import ContentNotFound, PlatformConnector, RemovalAction
from trustdesk.safety import queue
from trustdesk.safety.detectors import Detection, Detectors, Finding
from trustdesk.safety.events import ContentItem
from trustdesk.safety.matcher import ACTION_STRENGTH
from trustdesk.safety.models import Case, Enforcement, Evidence, NcmecReport, Signal
from trustdesk.safety.queue import DEFAULT_SEVERITY, severity
from trustdesk.safety.vocabulary import BankAction, CaseStatus
from trustdesk.safety.workflow import CaseSource

log = logging.getLogger(__name__)

CSAM_RETENTION = timedelta(days=365)
EVIDENCE_RETENTION = timedelta(days=183)
BLUR_SCORE = 0.5


@dataclass
class ScanResult:
    scanned: int = 0
    with_findings: int = 0
    signals: int = 0
    cases: int = 0
    removals: int = 0
    ncmec_reports: int = 0
    duplicates: int = 0
    events: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def strongest_action(findings: Sequence[Finding]) -> BankAction:
    return max((f.action for f in findings), key=ACTION_STRENGTH.__getitem__, default=BankAction.LOG)


def priority(detection: Detection) -> int:
    """0-100: the gravest keyword, else 50; plus up to 10 for the audience and 10 for a classifier."""
    grave = max((severity(f.keyword) for f in detection.findings if f.keyword), default=DEFAULT_SEVERITY)
    boost = any(s >= BLUR_SCORE for s in detection.scores.values())
    return queue.priority(grave, detection.item.audience, boost=boost)


def _lead(findings: Sequence[Finding], action: BankAction) -> Finding:
    """The finding that decided the action (the first of the strongest)."""
    return next(f for f in findings if f.action is action)


def _evidence_content(item: ContentItem) -> dict[str, Any]:
    content: dict[str, Any] = {
        "platform": item.platform,
        "event_id": item.event_id,
        "locator": item.locator,
        "account_id": item.account_id,
        "chat_id": item.chat_id,
        "chat_type": item.chat_type.value,
        "at": item.at.isoformat(),
        "text": item.text,
    }
    if item.media is not None:
        content["media"] = item.media.model_dump(exclude={"data_b64"}, exclude_none=True)
        content["media"]["data_b64"] = item.media.data_b64
    return content


class Scanner:
    def __init__(
        self,
        detectors: Detectors,
        sessions: sessionmaker[Session],
        clock: Clock,
        connector: PlatformConnector,
        bus: EventBus | None = None,
    ) -> None:
        self.detectors = detectors
        self.sessions = sessions
        self.clock = clock
        self.connector = connector
        self.bus = bus

    def scan(self, items: Sequence[ContentItem]) -> ScanResult:
        """Detect on every item, then record and act on the findings of the batch in one transaction."""
        result = ScanResult(scanned=len(items))
        detections = [d for d in map(self.detectors.detect, items) if d.findings]
        result.with_findings = len(detections)
        if detections:
            unique = _unique(detections)
            with unit_of_work(self.sessions) as session:
                recorded = _recorded(session, [d.item.key for d in unique])
                for detection in unique:
                    self._record(session, detection, recorded, result)
            if self.bus is not None:
                for subject, payload in result.events:
                    self.bus.publish(subject, payload)
        return result

    def _record(
        self, session: Session, detection: Detection, recorded: "Recorded", result: ScanResult
    ) -> None:
        item = detection.item
        seen = set(recorded.signals.get(item.key, set()))
        fresh = []
        for finding in detection.findings:  # one signal per detector, source and match, ever
            key = (finding.detector, finding.source[:100], finding.matched[:100])
            if key not in seen:
                seen.add(key)
                fresh.append(finding)
        if not fresh:
            result.duplicates += 1
            return
        now = self.clock()
        signals = [
            Signal(
                event_key=item.key,
                detector=f.detector,
                source=f.source[:100],
                matched=f.matched[:100],
                distance=f.distance,
                score=f.score,
                action=f.action,
                category=f.category,
                keyword=f.keyword,
                content_kind=item.kind,
                account_id=item.account_id,
                chat_id=item.chat_id,
                locator=item.locator,
                detected_at=now,
            )
            for f in fresh
        ]
        session.add_all(signals)
        result.signals += len(signals)
        action = strongest_action(detection.findings)
        if action in (BankAction.AUTO_REMOVE, BankAction.REPORT_NCMEC):
            if item.key not in recorded.enforced:
                self._remove(session, detection, action, result)
        elif action is BankAction.REVIEW:
            case_id = recorded.cases.get(item.key) or self._open_case(session, detection, result)
            for signal in signals:
                signal.case_id = case_id
        result.events.append(
            (Subject.SIGNALS_RECORDED, {"event_key": item.key, "signals": str(len(signals))})
        )

    def _open_case(self, session: Session, detection: Detection, result: ScanResult) -> str:
        item = detection.item
        lead = _lead(detection.findings, BankAction.REVIEW)
        now = self.clock()
        case = Case(
            id=new_id(),
            event_key=item.key,
            status=CaseStatus.OPEN,
            priority=priority(detection),
            category=lead.category,
            keyword=lead.keyword,
            content_kind=item.kind,
            chat_type=item.chat_type,
            account_id=item.account_id,
            chat_id=item.chat_id,
            locator=item.locator,
            text=item.text,
            media=None
            if item.media is None
            else item.media.model_dump(exclude={"data_b64"}, exclude_none=True),
            blur=any(score >= BLUR_SCORE for score in detection.scores.values()),
            auto_removed=False,
            opened_at=now,
            source=CaseSource.AUTOMATED,
            audience=item.audience,
        )
        case.target_at = queue.target_at(now, case.priority, CaseSource.AUTOMATED)
        session.add(case)
        audit.record(
            session,
            self.clock,
            Actor.system(),
            AuditAction.CASE_OPEN,
            subject_type="case",
            subject_id=case.id,
            data={"event_key": item.key, "priority": case.priority, "by": f"{lead.detector}:{lead.source}"},
        )
        result.cases += 1
        result.events.append((Subject.CASE_OPENED, {"case_id": case.id}))
        return case.id

    def _remove(self, session: Session, detection: Detection, action: BankAction, result: ScanResult) -> None:
        item = detection.item
        lead = _lead(detection.findings, action)
        try:
            self.connector.remove_content(item.locator, RemovalAction.REMOVE)
            outcome, detail = "removed", None
        except ContentNotFound as exc:
            outcome, detail = "not_found", str(exc)
        now = self.clock()
        enforcement = Enforcement(
            event_key=item.key,
            action=action,
            locator=item.locator,
            account_id=item.account_id,
            category=lead.category,
            keyword=lead.keyword,
            outcome=outcome,
            detail=detail,
            executed_at=now,
        )
        session.add(enforcement)
        session.flush()
        content = _evidence_content(item)
        csam = action is BankAction.REPORT_NCMEC
        session.add(
            Evidence(
                enforcement_id=enforcement.id,
                event_key=item.key,
                content=content,
                sha256=hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest(),
                preserved_at=now,
                retain_until=now + (CSAM_RETENTION if csam else EVIDENCE_RETENTION),
                legal_basis="18 U.S.C. 2258A(h)" if csam else "platform terms; evidence for authorities",
            )
        )
        audit.record(
            session,
            self.clock,
            Actor.system(),
            AuditAction.CONTENT_AUTO_REMOVE,
            subject_type="content",
            subject_id=item.key[:64],
            data={
                "locator": item.locator,
                "action": action.value,
                "outcome": outcome,
                "by": f"{lead.detector}:{lead.source}",
                "matched": lead.matched,
            },
        )
        result.removals += 1
        if csam:
            report = NcmecReport.queued(
                enforcement_id=enforcement.id,
                event_key=item.key,
                account_id=item.account_id,
                locator=item.locator,
                at=now,
                file_viewed=False,  # a hash match: no person at the platform looked at the file
                incident={
                    "locator": item.locator,
                    "at": item.at.isoformat(),
                    "bank": lead.source,
                    "hash": lead.matched,
                    "distance": lead.distance,
                },
            )
            session.add(report)
            session.flush()
            audit.record(
                session,
                self.clock,
                Actor.system(),
                AuditAction.NCMEC_REPORT_QUEUE,
                subject_type="ncmec_report",
                subject_id=report.id,
                data={"event_key": item.key},
            )
            result.ncmec_reports += 1
        result.events.append((Subject.CONTENT_REMOVED, {"enforcement_id": enforcement.id}))


@dataclass
class Recorded:
    """What a batch's items have recorded already (they were delivered before)."""

    signals: dict[str, set[tuple[str, str, str]]]
    cases: dict[str, str]
    enforced: set[str]


def _recorded(session: Session, keys: list[str]) -> Recorded:
    """Three queries for a whole batch, instead of three per item."""
    signals: dict[str, set[tuple[str, str, str]]] = {}
    for key, detector, source, matched in session.execute(
        select(Signal.event_key, Signal.detector, Signal.source, Signal.matched).where(
            Signal.event_key.in_(keys)
        )
    ):
        signals.setdefault(key, set()).add((detector, source, matched))
    query = select(Case.event_key, Case.id).where(Case.event_key.in_(keys))
    cases: dict[str, str] = {row.event_key: row.id for row in session.execute(query)}
    enforced = set(session.scalars(select(Enforcement.event_key).where(Enforcement.event_key.in_(keys))))
    return Recorded(signals, cases, enforced)


def _unique(detections: list[Detection]) -> list[Detection]:
    """One detection per item key within a batch (a duplicate in the same batch acts once)."""
    seen: dict[str, Detection] = {}
    for detection in detections:
        seen.setdefault(detection.item.key, detection)
    return list(seen.values())
