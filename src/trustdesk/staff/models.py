"""Staff users and their role grants."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.authorities.models import new_id
from trustdesk.db import Base, UTCDateTime, enum_type
from trustdesk.staff.roles import Role


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(200))
    """``v1:`` + the AES-GCM ciphertext of the base32 secret (auth/totp.py); legacy rows hold plaintext."""
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The last TOTP time step accepted: a code of this step or an earlier one is refused (single use)."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    grants: Mapped[list["RoleGrant"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)


class RoleGrant(Base):
    __tablename__ = "staff_role_grants"

    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role), primary_key=True)


class StaffToken(Base):
    """An API token of a staff user; only its SHA-256 is stored."""

    __tablename__ = "staff_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scope: Mapped[str] = mapped_column(String(1000))
    """The permissions this token may use, space-separated (``*``: all of its user's, chosen explicitly);
    what it may do is this scope intersected with its user's roles at the time of use."""
    label: Mapped[str] = mapped_column(String(100), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user: Mapped[StaffUser] = relationship(lazy="joined")
