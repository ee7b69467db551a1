"""The address a request comes from, as sign-in throttling counts it.

Behind a reverse proxy every request arrives from the proxy, so the client's own address is in the proxy's
X-Forwarded-For header. Anybody can send that header, so it is read only when the peer is one of the
configured trusted proxies, and only as far back as the chain of trusted proxies goes.
"""
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from fastapi import Request

Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


def parse_address(text: str) -> IPv4Address | IPv6Address | None:
    """An IP address from text, or None when it is not one."""
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def is_trusted(address: IPv4Address | IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def client_address(request: Request, trusted: Sequence[Network] = ()) -> str:
    """The peer's address; when the peer is a trusted proxy, the nearest address in X-Forwarded-For that is not
    one (read from the right, where the trusted proxies appended theirs)."""
    peer = request.client.host if request.client else UNKNOWN
    current = parse_address(peer)
    if current is None or not is_trusted(current, trusted):
        return peer
    forwarded = [hop for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    for hop in reversed(forwarded):
        address = parse_address(hop)
        if address is None:
            break  # a malformed entry: nothing to its left can be trusted either
        current = address
        if not is_trusted(address, trusted):
            break
    return str(current)
