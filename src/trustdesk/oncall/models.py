"""Who of the legal team is on call for emergencies when, and every page sent to them."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.authorities.models import new_id
from trustdesk.db import Base, UTCDateTime


class OncallShift(Base):
    """A staff member on call from ``starts_at`` to ``ends_at``; ``position`` 0 is paged first, then the
    backups in order when nobody acknowledges."""

    __tablename__ = "oncall_shifts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Page(Base):
    """One page about an emergency request to one person on call; escalated to the next when it is not
    acknowledged in time."""

    __tablename__ = "oncall_pages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    """None while the emergency is a message in triage (``inbound_id``); set when triage records it."""
    inbound_id: Mapped[str | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    """The e-mail or letter that sounded like an emergency, paged before anyone triaged it."""
    user_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    """None: nobody was on call (the fallback channel was paged)."""
    level: Mapped[int] = mapped_column(Integer)
    """0 for the first person paged, 1 for the first escalation, ..."""
    channel: Mapped[str] = mapped_column(String(32))  # webhook | email | log
    status: Mapped[str] = mapped_column(String(16), index=True)  # sent | failed | acknowledged | escalated
    paged_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
