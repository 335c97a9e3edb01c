"""The reviewer confirms the signed order before deciding (issue 11).

A decision that complies (in full or in part) with a request that came with a signed order needs the
deciding reviewer to have opened every document of the request themselves (the audited view of
``service.open_document``) and to confirm that it is the order the request describes. A refusal needs
neither: a request can be refused precisely because its document is wrong or missing.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import AuditAction
from trustdesk.errors import Conflict, InvalidInput
from trustdesk.lawful.models import LawfulRequest, RequestDocument
from trustdesk.staff.models import StaffUser

__all__ = ["opened_by", "require_confirmed"]


def opened_by(session: Session, request: LawfulRequest, user_id: str) -> set[str]:
    """The ids of the request's documents that the staff user has opened (from the audit log)."""
    events = session.scalars(
        select(AuditEvent.data).where(
            AuditEvent.subject_type == "lawful_request",
            AuditEvent.subject_id == request.id,
            AuditEvent.action == AuditAction.DOCUMENT_VIEW.value,
            AuditEvent.actor_id == user_id,
        )
    )
    return {str(data.get("after", {}).get("document_id")) for data in events}


def require_confirmed(
    session: Session, request: LawfulRequest, user: StaffUser, *, confirmed: bool
) -> list[RequestDocument]:
    """The documents the decision rests on, once ``user`` has opened each and confirmed them; else a
    Conflict naming the documents not yet opened, or InvalidInput asking for the confirmation."""
    documents = list(request.documents)
    if not documents:
        return []
    opened = opened_by(session, request, user.id)
    unread = [d.filename for d in documents if d.id not in opened]
    if unread:
        raise Conflict(
            f"open the signed order before deciding: you have not opened {', '.join(unread)}",
            code="document_not_opened",
        )
    if not confirmed:
        raise InvalidInput(
            "confirm that the signed order you opened is the order this request describes",
            code="document_not_confirmed",
            field="documents_confirmed",
        )
    return documents
