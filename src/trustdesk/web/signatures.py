"""Signed officer API requests (RFC 9421), the web part: read the request as received, verify it against the
officer's agency's keys (``authorities.signatures``, ``authorities.keys``), remember the nonce.

A request with no signature headers is allowed and unsigned (its forgery risk scores ``unsigned``); a
request that carries a signature that fails any check is refused with 401 and a problem naming why
(``signature_invalid``, ``signature_expired``, ``signature_replayed``, ``signature_key_unknown``,
``signature_key_revoked``), never treated as unsigned. Routers of the officers' API take
``route_class=SignedRoute`` and the dependency ``request_signature``; a route that records the signature
reads it with ``SignatureDep``.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from trustdesk.app import Container
from trustdesk.authorities import keys, signatures
from trustdesk.db import unit_of_work
from trustdesk.web.deps import ContainerDep, OfficerDep, OfficerPrincipal

__all__ = ["RequestSignature", "SignatureDep", "SignedRoute", "purge_nonces", "request_signature"]

SIGNATURE_DOCS = (
    "An RFC 9421 HTTP Message Signature with the agency's registered Ed25519 key (optional: an unsigned "
    "request is accepted and scores the `unsigned` forgery-risk rule; a signature that fails is refused "
    "with 401). Exactly one signature; parameters `created` (within 300 s of the server's clock), "
    "`keyid` and `nonce` (new for every request); covered components `@method`, `@target-uri` (or "
    "`@authority` and `@path`) and, with a body, `content-digest`. See docs/signed-requests.md."
)


@dataclass(frozen=True)
class RequestSignature:
    """A verified signature: the agency key that signed the request, and its nonce."""

    key_id: str
    nonce: str


class SignedRoute(APIRoute):
    """Reads a signed request's whole body before the route parses it, so that a form upload's
    Content-Digest is checked against the bytes received (an unsigned request streams as before; the body
    size limit applies first either way)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_then_handle(request: Request) -> Response:
            if signatures.is_signed((k.decode("latin-1"), "") for k, _ in request.headers.raw):
                await request.body()  # kept on the request: the route's parser reads it from there
            return await handler(request)

        return read_then_handle


def target_uri(request: Request, public_url: str | None) -> str:
    """The target URI the agency signed: behind a proxy, the configured public origin with this path."""
    if public_url:
        base = urlsplit(public_url)
        return urlunsplit((base.scheme, base.netloc, request.url.path, request.url.query, ""))
    return str(request.url)


def _verify(
    container: Container, principal: OfficerPrincipal, message: signatures.SignedMessage
) -> RequestSignature:
    now = container.clock()
    with unit_of_work(container.sessions) as session:

        def live_key(key_id: str) -> Any:
            return keys.public_key_of(keys.signing_key_of(session, principal.agency_id, key_id))

        verified = signatures.verify(message, now=now, resolve_key=live_key, window=keys.SIGNATURE_WINDOW)
        keys.purge_nonces(session, now)  # opportunistic: a few rows a day
        keys.remember_nonce(session, verified.key_id, verified.nonce, now)
    return RequestSignature(verified.key_id, verified.nonce)


async def request_signature(
    request: Request,
    principal: OfficerDep,
    container: ContainerDep,
    signature_input: Annotated[
        str | None, Header(alias="Signature-Input", description=SIGNATURE_DOCS)
    ] = None,
    signature: Annotated[
        str | None,
        Header(alias="Signature", description="The signature of `Signature-Input`'s label (RFC 9421)"),
    ] = None,
    content_digest: Annotated[
        str | None,
        Header(
            alias="Content-Digest",
            description="RFC 9530 digest of the body (`sha-256` or `sha-512`), covered by the signature",
        ),
    ] = None,
) -> RequestSignature | None:
    """The request's verified signature, None for an unsigned request; a failing one is refused (401)."""
    del signature_input, signature, content_digest  # documented here; read with every header line below
    lines = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
    if not signatures.is_signed(lines):
        return None
    body = await request.body()
    url = target_uri(request, container.settings.public_url)
    message = signatures.SignedMessage(method=request.method, url=url, headers=lines, body=body)
    return await run_in_threadpool(_verify, container, principal, message)


SignatureDep = Annotated[RequestSignature | None, Depends(request_signature)]


def purge_nonces(container: Container) -> int:
    """Forget nonces too old to be replayed; for a serve loop (signed requests also purge as they come)."""
    with unit_of_work(container.sessions) as session:
        return keys.purge_nonces(session, container.clock())
