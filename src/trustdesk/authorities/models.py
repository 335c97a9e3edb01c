"""Agencies, their official e-mail domains, officers and API keys."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.db import Base, UTCDateTime, enum_type
from trustdesk.vocabulary import IssuerKind


def new_id() -> str:
    return str(uuid.uuid4())


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)
    kind: Mapped[IssuerKind] = mapped_column(enum_type(IssuerKind))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    age_recipient: Mapped[str | None] = mapped_column(String(100))
    tco_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the agency gave its 12 hours' notice of procedures before a first TCO order (TCO Art. 3(2))."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    domains: Mapped[list["AgencyDomain"]] = relationship(
        back_populates="agency", cascade="all, delete-orphan", order_by="AgencyDomain.domain", lazy="selectin"
    )

    @property
    def domain_names(self) -> list[str]:
        return [d.domain for d in self.domains]


class AgencyDomain(Base):
    __tablename__ = "agency_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    agency: Mapped[Agency] = relationship(back_populates="domains")


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(200))
    """``v1:`` + the AES-GCM ciphertext of the base32 secret (auth/totp.py); legacy rows hold plaintext."""
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The last TOTP time step accepted: a code of this step or an earlier one is refused (single use)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    agency: Mapped[Agency] = relationship(lazy="joined")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    officer_id: Mapped[str] = mapped_column(ForeignKey("officers.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    officer: Mapped[Officer] = relationship(lazy="joined")


class AgencyKey(Base):
    """An Ed25519 public key an agency signs its API requests with (RFC 9421 HTTP Message Signatures).

    Registered by staff from the agency's own out-of-band submission; registering or revoking one lapses
    the agency's verification, as any change to what a verification vouches for does.
    """

    __tablename__ = "agency_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(100), unique=True)
    """The ``keyid`` signature parameter that names this key."""
    public_key: Mapped[str] = mapped_column(String(64))
    """The raw 32-byte Ed25519 public key, base64url without padding."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    agency: Mapped[Agency] = relationship(lazy="joined")


class SignatureNonce(Base):
    """A nonce seen in a signed request: the same key and nonce again is a replay and is refused."""

    __tablename__ = "signature_nonces"

    key_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AgencySupervisor(Base):
    """A supervisor of the agency, reached for callbacks on a number from an official directory."""

    __tablename__ = "agency_supervisors"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    directory: Mapped[str] = mapped_column(String(300))
    """The official directory the number was taken from (never the agency's own request)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AgencyNotice(Base):
    """A notice to the agency about its own account (a changed encryption recipient, say), shown on the
    portal to every officer of the agency until one of them acknowledges it."""

    __tablename__ = "agency_notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(36))
