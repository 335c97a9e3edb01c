"""An agency's signing keys (RFC 9421 HTTP Message Signatures, Ed25519) and its supervisors, reached for
callbacks on a number from an official directory.

Both are part of what a verification vouches for (``service._registered``): registering or revoking a key,
adding or removing a supervisor lapses the agency's verification, and each change is audited. Services
never commit: the entry point owns the transaction.
"""

import base64
import binascii
import re
from datetime import datetime, timedelta

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import AgencyKey, AgencySupervisor, SignatureNonce
from trustdesk.authorities.service import _PHONE, get_agency, lapse
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound, Unauthenticated

__all__ = [
    "NONCE_RETENTION",
    "SIGNATURE_WINDOW",
    "add_supervisor",
    "list_keys",
    "list_supervisors",
    "parse_public_key",
    "public_key_of",
    "purge_nonces",
    "register_key",
    "remember_nonce",
    "remove_supervisor",
    "revoke_key",
    "signing_key_of",
]

SIGNATURE_WINDOW = timedelta(seconds=300)
"""How far a signature's ``created`` may be from the server's clock, either way."""
NONCE_RETENTION = 2 * SIGNATURE_WINDOW
"""How long a nonce is remembered: a signature created up to one window ahead stays acceptable until one
window after that, so a nonce older than two windows can never be replayed."""

_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,99}")
_NONCE = re.compile(r"[\x21-\x7e]{8,128}")
RAW_KEY_BYTES = 32


# --- signing keys ---------------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_public_key(value: str) -> str:
    """An Ed25519 public key, given as PEM (SubjectPublicKeyInfo, ``-----BEGIN PUBLIC KEY-----``) or as the
    raw 32 bytes in base64url: its raw form, base64url without padding (as stored). Anything else is
    InvalidInput saying what it is."""
    text = value.strip()
    if not text:
        raise InvalidInput("give the agency's Ed25519 public key (PEM or raw base64url)", field="public_key")
    if "PRIVATE KEY" in text:
        raise InvalidInput(
            "this is a private key: only the agency's public key is registered; the agency keeps its "
            "private key to itself",
            field="public_key",
        )
    if text.startswith("-----BEGIN"):
        if "-----BEGIN PUBLIC KEY-----" not in text:
            raise InvalidInput(
                "a PEM key must be a SubjectPublicKeyInfo block (-----BEGIN PUBLIC KEY-----)",
                field="public_key",
            )
        try:
            key = load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
            raise InvalidInput("the PEM block is not a readable public key", field="public_key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidInput(
                f"this is a {type(key).__name__.removeprefix('_').replace('PublicKey', '')} key; "
                "agencies sign with Ed25519 keys only",
                field="public_key",
            )
        return _b64url(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", text):
        raise InvalidInput(
            "not a PEM block, and not base64url (letters, digits, '-' and '_')", field="public_key"
        )
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput("the key is not valid base64url", field="public_key") from None
    if len(raw) != RAW_KEY_BYTES:
        raise InvalidInput(
            f"a raw Ed25519 public key is {RAW_KEY_BYTES} bytes; this one is {len(raw)}", field="public_key"
        )
    return _b64url(raw)


def public_key_of(key: AgencyKey) -> Ed25519PublicKey:
    """The stored key as a cryptography key object."""
    raw = base64.urlsafe_b64decode(key.public_key + "=" * (-len(key.public_key) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def _check_key_id(key_id: str) -> str:
    name = key_id.strip()
    if not _KEY_ID.fullmatch(name):
        raise InvalidInput(
            f"{key_id!r} is not a usable key id: 1 to 100 letters, digits or . _ : @ / + = -, "
            "starting with a letter or digit",
            field="key_id",
        )
    return name


def register_key(
    session: Session, clock: Clock, actor: Actor, agency_id: str, key_id: str, public_key: str
) -> AgencyKey:
    """Register a signing key the agency sent out of band; its verification lapses (staff verify again)."""
    agency = get_agency(session, agency_id)
    name = _check_key_id(key_id)
    raw = parse_public_key(public_key)
    if session.scalar(select(AgencyKey.id).where(AgencyKey.key_id == name)) is not None:
        raise Conflict(
            f"a signing key with id {name} is already registered; key ids are never reused", field="key_id"
        )
    twin = session.scalar(
        select(AgencyKey).where(AgencyKey.public_key == raw, AgencyKey.revoked_at.is_(None))
    )
    if twin is not None:
        raise Conflict(f"this public key is already registered, as {twin.key_id}", field="public_key")
    key = AgencyKey(agency_id=agency.id, key_id=name, public_key=raw, created_at=clock())
    session.add(key)
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration of the same key id
        raise Conflict(f"a signing key with id {name} is already registered", field="key_id") from None
    audit.record(
        session, clock, actor, AuditAction.SIGNING_KEY_REGISTER, subject_type="agency", subject_id=agency.id,
        data={"after": {"key_id": name, "public_key": raw, "algorithm": "ed25519"}},
    )  # fmt: skip
    lapse(session, clock, actor, agency, f"signing key {name} registered: verify the agency again")
    return key


def revoke_key(session: Session, clock: Clock, actor: Actor, key_id: str, reason: str) -> AgencyKey:
    """Revoke a signing key: requests signed with it are refused from now on; the verification lapses."""
    if not reason.strip():
        raise InvalidInput("say why the key is revoked", field="reason")
    key = session.scalar(select(AgencyKey).where(AgencyKey.key_id == key_id.strip()))
    if key is None:
        raise NotFound(f"no signing key {key_id}", field="key_id")
    if key.revoked_at is not None:
        raise Conflict(f"signing key {key.key_id} was already revoked", field="key_id")
    key.revoked_at = clock()
    audit.record(
        session, clock, actor, AuditAction.SIGNING_KEY_REVOKE,
        subject_type="agency", subject_id=key.agency_id,
        data={"before": {"key_id": key.key_id, "revoked": False},
              "after": {"key_id": key.key_id, "revoked": True, "reason": reason.strip()}},
    )  # fmt: skip
    lapse(session, clock, actor, key.agency, f"signing key {key.key_id} revoked: verify the agency again")
    return key


def list_keys(session: Session, agency_id: str, *, include_revoked: bool = True) -> list[AgencyKey]:
    get_agency(session, agency_id)
    query = select(AgencyKey).where(AgencyKey.agency_id == agency_id)
    if not include_revoked:
        query = query.where(AgencyKey.revoked_at.is_(None))
    return list(session.scalars(query.order_by(AgencyKey.created_at, AgencyKey.key_id)))


def signing_key_of(session: Session, agency_id: str, key_id: str) -> AgencyKey:
    """The live signing key ``key_id`` of the agency, else Unauthenticated: ``signature_key_unknown`` for a
    key that is not the agency's (another agency's key is not named as such), ``signature_key_revoked``."""
    key = session.scalar(select(AgencyKey).where(AgencyKey.key_id == key_id))
    if key is None or key.agency_id != agency_id:
        raise Unauthenticated(
            f"the request is signed with key {key_id!r}, which is not a registered signing key of your "
            "agency",
            code="signature_key_unknown",
            field="Signature-Input",
        )
    if key.revoked_at is not None:
        raise Unauthenticated(
            f"the request is signed with key {key_id!r}, revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC",
            code="signature_key_revoked",
            field="Signature-Input",
        )
    return key


def remember_nonce(session: Session, key_id: str, nonce: str, at: datetime) -> None:
    """Record a signature's nonce; the same key and nonce again is a replay (Unauthenticated,
    ``signature_replayed``). Two concurrent requests with one nonce: the primary key lets one through."""
    if not _NONCE.fullmatch(nonce):
        raise Unauthenticated(
            "the signature's nonce must be 8 to 128 visible ASCII characters (a random value per request)",
            code="signature_invalid",
            field="Signature-Input",
        )
    replayed = Unauthenticated(
        "this signature (its key and nonce) was already used: sign every request anew, with a new nonce",
        code="signature_replayed",
        field="Signature-Input",
    )
    if session.get(SignatureNonce, (key_id, nonce)) is not None:
        raise replayed
    try:
        with session.begin_nested():
            session.add(SignatureNonce(key_id=key_id, nonce=nonce, seen_at=at))
    except IntegrityError:
        raise replayed from None


def purge_nonces(session: Session, now: datetime) -> int:
    """Forget nonces too old to be replayed (older than ``NONCE_RETENTION``); the number forgotten.

    Called with every signed request; a serve loop may call it too."""
    result = session.execute(delete(SignatureNonce).where(SignatureNonce.seen_at < now - NONCE_RETENTION))
    return int(getattr(result, "rowcount", 0) or 0)


# --- supervisors ----------------------------------------------------------------------------------------


def add_supervisor(
    session: Session,
    clock: Clock,
    actor: Actor,
    agency_id: str,
    *,
    name: str,
    title: str,
    phone: str,
    directory: str,
) -> AgencySupervisor:
    """Add a supervisor reached for callbacks, with a number from an official directory (and which one);
    the agency's verification lapses."""
    agency = get_agency(session, agency_id)
    fields = {"name": (name, 200), "title": (title, 200), "directory": (directory, 300)}
    for field, (value, limit) in fields.items():
        if not value.strip():
            what = "the official directory the number comes from" if field == "directory" else f"the {field}"
            raise InvalidInput(f"give {what}", field=field)
        if len(value.strip()) > limit:
            raise InvalidInput(f"the {field} is longer than {limit} characters", field=field)
    number = phone.strip()
    if not _PHONE.fullmatch(number):
        raise InvalidInput(f"{phone!r} is not a telephone number", field="phone")
    supervisor = AgencySupervisor(
        agency_id=agency.id,
        name=name.strip(),
        title=title.strip(),
        phone=number,
        directory=directory.strip(),
        created_at=clock(),
    )
    session.add(supervisor)
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.SUPERVISOR_ADD, subject_type="agency", subject_id=agency.id,
        data={"after": {"supervisor_id": supervisor.id, "name": supervisor.name, "title": supervisor.title,
                        "phone": number, "directory": supervisor.directory}},
    )  # fmt: skip
    lapse(session, clock, actor, agency, f"supervisor {supervisor.name} added: verify the agency again")
    return supervisor


def remove_supervisor(session: Session, clock: Clock, actor: Actor, supervisor_id: str) -> AgencySupervisor:
    """Remove a supervisor (kept, marked removed); the agency's verification lapses."""
    supervisor = session.get(AgencySupervisor, supervisor_id.strip())
    if supervisor is None:
        raise NotFound(f"no supervisor {supervisor_id}", field="supervisor_id")
    if supervisor.removed_at is not None:
        raise Conflict(f"supervisor {supervisor.name} was already removed", field="supervisor_id")
    supervisor.removed_at = clock()
    agency = get_agency(session, supervisor.agency_id)
    audit.record(
        session, clock, actor, AuditAction.SUPERVISOR_REMOVE, subject_type="agency", subject_id=agency.id,
        data={"before": {"supervisor_id": supervisor.id, "name": supervisor.name, "phone": supervisor.phone},
              "after": {"supervisor_id": supervisor.id, "removed": True}},
    )  # fmt: skip
    lapse(session, clock, actor, agency, f"supervisor {supervisor.name} removed: verify the agency again")
    return supervisor


def list_supervisors(
    session: Session, agency_id: str | None = None, *, include_removed: bool = False
) -> list[AgencySupervisor]:
    """The supervisors of one agency (or of every agency), by agency and name; removed ones on request."""
    query = select(AgencySupervisor)
    if agency_id is not None:
        get_agency(session, agency_id)
        query = query.where(AgencySupervisor.agency_id == agency_id)
    if not include_removed:
        query = query.where(AgencySupervisor.removed_at.is_(None))
    return list(session.scalars(query.order_by(AgencySupervisor.agency_id, AgencySupervisor.name)))
