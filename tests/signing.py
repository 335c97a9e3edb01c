"""Signing requests as an agency does (RFC 9421, Ed25519, with the library docs/signed-requests.md uses), and
registering the agency's key, for the tests of signed submissions."""

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import CHECK
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import keys
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyDomain
from trustdesk.clock import Clock
from trustdesk.db import unit_of_work

BASE = "https://testserver"
COVERED = ("@method", "@target-uri", "content-type")


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class AgencySigner:
    """An agency's Ed25519 key and its key id, signing requests to the test server."""

    key_id: str
    private_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def headers(
        self,
        method: str,
        path: str,
        body: bytes | None,
        *,
        created: datetime,
        headers: dict[str, str] | None = None,
        nonce: str | None = None,
        covered: Sequence[str] = COVERED,
    ) -> dict[str, str]:
        """The request's headers with ``Signature-Input``, ``Signature`` and, for a body,
        ``Content-Digest`` (over exactly ``body``); ``covered`` lists the components signed."""
        message = _Message(method, BASE + path, dict(headers or {}))
        signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={self.key_id: self.private_key}),
        )
        signer.sign(
            message,
            key_id=self.key_id,
            created=created,
            nonce=nonce or secrets.token_urlsafe(16),
            covered_component_ids=[
                c for c in covered if c != "content-type" or "Content-Type" in message.headers
            ],
            body=body,
        )
        return message.headers

    def json(
        self, path: str, payload: Any, *, created: datetime, **options: Any
    ) -> tuple[bytes, dict[str, str]]:
        """A signed JSON POST: the exact body bytes and the headers to send them with."""
        body = json.dumps(payload).encode()
        base = {"Content-Type": "application/json"} | options.pop("headers", {})
        return body, self.headers("POST", path, body, created=created, headers=base, **options)


def agency_of(sessions: sessionmaker[Session], domain: str) -> str:
    with sessions() as session:
        return session.scalars(select(AgencyDomain.agency_id).where(AgencyDomain.domain == domain)).one()


def register(sessions: sessionmaker[Session], clock: Clock, domain: str, key_id: str) -> AgencySigner:
    """Register a new signing key for the agency of ``domain`` and verify the agency again (the key lapsed
    its verification); the signer holding the private key."""
    signer = AgencySigner(key_id)
    agency_id = agency_of(sessions, domain)
    with unit_of_work(sessions) as session:
        keys.register_key(session, clock, Actor.operator(), agency_id, key_id, signer.public_pem())
        authorities.verify_agency(session, clock, Actor.operator(), agency_id, CHECK)
    return signer
