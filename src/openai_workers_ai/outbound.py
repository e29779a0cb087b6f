"""Outbound fetches that cannot be aimed inward: the policy both fetchers apply to URLs a client gave.

A chat ``image_url`` (and any other URL input) is fetched by the gateway, so it must not reach what only
the gateway can reach: loopback, private networks, link-local (cloud metadata), CGNAT, multicast,
unspecified and reserved addresses — in every spelling (``localhost``, ``[::1]``, ``0.0.0.0``,
``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``). So:

- only ``https`` (plain ``http`` only where the deployment allows it);
- a host that is an address literal must be a public unicast address; a host name is resolved and
  *every* address it resolves to is checked, and the connection goes to a checked address (the local
  fetcher's resolver), so a DNS answer cannot change between the check and the connection;
- redirects are followed by hand, each hop checked again, at most :data:`MAX_REDIRECTS`;
- the body is capped in bytes, the whole fetch in time;
- every refusal and failure has one text (:data:`FAILED`), so that errors do not tell a client which
  ports are open inside.

The address checks are the standard library's (``ipaddress``), not string matching.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_REDIRECTS = 5
FETCH_TIMEOUT = 30.0
"""Seconds a whole fetch may take (connecting, every redirect, the body)."""
CONNECT_TIMEOUT = 10.0
FAILED = "the URL could not be fetched"
"""The one text of every fetch failure, whatever went wrong."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(OSError):
    """The URL, or an address it leads to, is not one the gateway fetches."""


def public(address: Address) -> bool:
    """Whether ``address`` is a public unicast address (IPv4-mapped and 6to4 forms judged by the IPv4 inside)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return public(inner)
    return address.is_global and not address.is_multicast


def literal(host: str) -> Address | None:
    """The address a URL host names literally (``[::1]``, ``127.0.0.1``), or None for a host name.
    Odd IPv4 spellings (``2130706433``, ``0x7f.1``) are host names here: the resolver turns them into
    addresses, which are then checked."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check(url: str, *, allow_http: bool = False, allow_private: bool = False) -> str:
    """``url`` if the gateway may fetch it (scheme and literal address); :class:`Refused` otherwise.
    Returns its host (to resolve and check next, unless it was a literal)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise Refused(f"only https URLs are fetched ({parts.scheme or 'no scheme'} given)")
    host = parts.hostname or ""
    if not host:
        raise Refused("the URL names no host")
    if host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
        if not allow_private:
            raise Refused("localhost is not fetched")
    address = literal(host)
    if address is not None and not allow_private and not public(address):
        raise Refused("the address is not a public one")
    return host
