"""The client's address, correctly behind trusted reverse proxies (setting ``trusted_proxies``).

Only when the direct peer is a trusted proxy is ``X-Forwarded-For`` read, and then from the right: each
trusted proxy appends the address it received from, so the right-most address that is not itself a
trusted proxy is the client. Everything left of it was written by the client and proves nothing.
"""

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.requests import Request

__all__ = ["UNKNOWN", "client_address", "client_of"]

UNKNOWN = "unknown"
MAX_LENGTH = 64

Network = IPv4Network | IPv6Network


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPv4Address | IPv6Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]) -> str:
    """The client's address given the direct peer, the X-Forwarded-For header values and the proxies."""
    if not peer:
        return UNKNOWN
    peer_address = _parse(peer)
    if not _trusted(peer_address, proxies):
        return str(peer_address) if peer_address is not None else peer[:MAX_LENGTH]
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = str(peer_address)
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # not an address: what our last proxy received cannot be read, so stop at that proxy
            return client
        client = str(address)
        if not _trusted(address, proxies):
            return client
    return client  # every hop is a trusted proxy: the left-most one


def client_of(request: Request, proxies: Sequence[Network]) -> str:
    """The address of the client of ``request`` (see `client_address`)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), proxies)
