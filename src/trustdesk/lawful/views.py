"""JSON-ready views of a request for staff (CLI and staff API) and for its authority (officer API)."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.lawful import callbacks
from trustdesk.lawful.catalogue import Catalogue
from trustdesk.lawful.execution import holds_of, latest_production
from trustdesk.lawful.models import (
    Decision,
    LawfulRequest,
    LegalWindow,
    Removal,
    RemovalComplaint,
    RequestCallback,
    UserNotice,
)
from trustdesk.lawful.review import correspondence_of, current_decision, recommendation_for
from trustdesk.platform.protocol import PlatformConnector
from trustdesk.policy.rules import PolicySet


def decision_view(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "id": decision.id,
        "outcome": decision.outcome,
        "categories": decision.allowed_categories,
        "grounds": decision.grounds,
        "justification": decision.justification,
        "deviates_from_recommendation": decision.deviates,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at.isoformat(),
        "approved_by": decision.approved_by,
        "approved_at": decision.approved_at.isoformat() if decision.approved_at else None,
        "policy_version": decision.policy_version,
    }


def correspondence_view(session: Session, request: LawfulRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "direction": m.direction,
            "kind": m.kind,
            "body": m.body,
            "author": m.author_kind,
            "at": m.created_at.isoformat(),
        }
        for m in correspondence_of(session, request)
    ]


def production_view(session: Session, request: LawfulRequest) -> dict[str, Any] | None:
    production = latest_production(session, request)
    if production is None:
        return None
    return {
        "id": production.id,
        "categories": production.categories,
        "records": production.records,
        "size": production.size,
        "sha256": production.sha256,
        "signer_key_id": production.signer_key_id,
        "created_at": production.created_at.isoformat(),
        "expires_at": production.expires_at.isoformat(),
        "downloads": production.downloads,
        "download": f"/api/v1/requests/{request.tracking_number}/production",
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def verification_view(session: Session, request: LawfulRequest) -> dict[str, Any]:
    """Who the requester is: the kind claimed against the verified one, the forgery risk rule by rule,
    the hold for a callback and the callbacks made."""
    calls = session.scalars(
        select(RequestCallback)
        .where(RequestCallback.request_id == request.id)
        .order_by(RequestCallback.called_at)
    )
    confirmed = callbacks.confirmed_callback(session, request)
    return {
        "verified_kind": request.issuer_kind.value,
        "claimed_kind": request.claimed_issuer_kind.value if request.claimed_issuer_kind else None,
        "signed": request.signed,
        "risk_score": request.risk_score,
        "risk_reasons": request.risk_reasons or [],
        "held_for_callback": request.held_for_callback,
        "hold_lifted": confirmed is not None,
        "callbacks": [
            {
                "id": c.id,
                "called_at": c.called_at.isoformat(),
                "called_by": c.called_by,
                "number": c.number,
                "directory": c.directory,
                "person_reached": c.person_reached,
                "confirmed": c.confirmed,
                "note": c.note,
            }
            for c in calls
        ],
    }


def staff_view(
    session: Session,
    request: LawfulRequest,
    catalogue: Catalogue,
    policy: PolicySet,
    connector: PlatformConnector,
) -> dict[str, Any]:
    """Everything the legal team sees beside the request itself: the recommendation above all."""
    return {
        "agency": {
            "id": request.agency.id,
            "name": request.agency.name,
            "country": request.agency.country,
            "kind": request.agency.kind.value,
            "verified": request.agency.verified,
        },
        "verification": verification_view(session, request),
        "target_at": request.target_at.isoformat() if request.target_at else None,
        "receipt_ground": request.receipt_ground,
        "recommendation": recommendation_for(request, catalogue, policy, connector).as_dict(),
        "decision": decision_view(current_decision(session, request)),
        "correspondence": correspondence_view(session, request),
        "production": production_view(session, request),
        "holds": [
            {
                "id": h.id,
                "account_id": h.account_id,
                "categories": h.categories,
                "expires_at": h.expires_at.isoformat() if h.expires_at else None,
                "extensions": h.extensions,
                "reason": h.reason,
                "released_at": h.released_at.isoformat() if h.released_at else None,
            }
            for h in holds_of(session, request)
        ],
        "removals": [
            {
                "id": r.id,
                "locator": r.locator,
                "action": r.action,
                "scope": r.scope,
                "effective_at": r.effective_at.isoformat(),
                "keep_until": _iso(r.keep_until),
                "reinstated_at": _iso(r.reinstated_at),
            }
            for r in session.scalars(select(Removal).where(Removal.request_id == request.id))
        ],
        "complaints": [
            {
                "id": c.id,
                "removal_id": c.removal_id,
                "received_at": c.received_at.isoformat(),
                "due_at": c.due_at.isoformat(),
                "answered_at": _iso(c.answered_at),
                "upheld": c.upheld,
            }
            for c in session.scalars(
                select(RemovalComplaint)
                .where(RemovalComplaint.request_id == request.id)
                .order_by(RemovalComplaint.received_at, RemovalComplaint.id)
            )
        ],
        "windows": [
            {
                "kind": w.kind.value,
                "opened_at": w.opened_at.isoformat(),
                "due_at": _iso(w.due_at),
                "closed_at": _iso(w.closed_at),
                "outcome": w.outcome,
            }
            for w in session.scalars(
                select(LegalWindow)
                .where(LegalWindow.request_id == request.id)
                .order_by(LegalWindow.opened_at, LegalWindow.id)
            )
        ],
        "user_notices": [
            {
                "account_id": n.account_id,
                "status": n.status,
                "due_at": n.due_at.isoformat() if n.due_at else None,
                "reason": n.reason,
            }
            for n in session.scalars(select(UserNotice).where(UserNotice.request_id == request.id))
        ],
    }


def log_view(session: Session, request: LawfulRequest) -> dict[str, Any] | None:
    """The request's leaf in the public transparency log, and where its inclusion proof is fetched."""
    from trustdesk.transparency.tlog.service import receipt_of

    entry = receipt_of(session, request.id)
    if entry is None:
        return None
    return {
        "leaf_hash": entry.leaf_hash,
        "leaf_index": entry.leaf_index,
        "receipt_url": f"/api/v1/requests/{request.tracking_number}/log-receipt",
    }


def authority_view(session: Session, request: LawfulRequest) -> dict[str, Any]:
    """What the submitting agency sees: outcome and grounds once decided, correspondence, its production,
    its leaf in the transparency log."""
    log = log_view(session, request)
    decision = current_decision(session, request)
    decided = decision is not None and request.status.value not in (
        "in_review",
        "awaiting_approval",
        "decided",
    )
    if request.receipt_ground is not None:  # refused on receipt: no decision, the ground is the answer
        return {
            "outcome": "refuse",
            "grounds": [request.receipt_ground],
            "answered_at": request.answered_at,
            "correspondence": correspondence_view(session, request),
            "production": None,
            "transparency_log": log,
        }
    return {
        "outcome": decision.outcome if decided and decision else None,
        "grounds": decision.grounds if decided and decision else [],
        "answered_at": request.answered_at,
        "correspondence": correspondence_view(session, request),
        "production": production_view(session, request),
        "transparency_log": log,
    }
