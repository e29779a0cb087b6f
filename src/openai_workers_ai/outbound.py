"""Outbound fetches that cannot be aimed inward: the policy both fetchers apply to URLs a client gave.

A chat ``image_url`` (and any other URL input) is fetched by the gateway, so it must not reach what only
the gateway can reach: loopback, private networks, link-local (cloud metadata), CGNAT, multicast,
unspecified and reserved addresses — in every spelling (``localhost``, ``[::1]``, ``0.0.0.0``,
``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``). So:

- only ``https`` (plain ``http`` only where the deployment allows it);
- a host that is an address literal must be a public unicast address. Literals are read as a browser's
  URL parser (and ``fetch`` in the Worker, where no resolver of ours runs) reads them: the host
  percent-decoded and mapped to ASCII (``１２７.０.０.１``), IPv4 in any of ``inet_aton``'s numeric forms
  (1 to 4 parts, each decimal, octal or hex: ``2130706433``, ``0x7f.1``, ``127.1``; a host ending in a
  number that is no valid address is refused), IPv6 judged by the IPv4 address inside its mapped
  (``::ffff:a.b.c.d``), compatible (``::a.b.c.d``), 6to4 and NAT64 (``64:ff9b::/96``) forms;
- a host name is resolved and *every* address it resolves to is checked, and the connection goes to a
  checked address (the local fetcher's resolver), so a DNS answer cannot change between the check and
  the connection;
- redirects are followed by hand, each hop checked again, at most :data:`MAX_REDIRECTS`;
- the body is capped in bytes, the whole fetch (every hop and the body) in time;
- every refusal and failure has one text (:data:`FAILED`), so that errors do not tell a client which
  ports are open inside.

The address checks are the standard library's (``ipaddress``), not string matching.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote, urlsplit

MAX_REDIRECTS = 5
FETCH_TIMEOUT = 30.0
"""Seconds a whole fetch may take (connecting, every redirect, the body), all hops together."""
CONNECT_TIMEOUT = 10.0
FAILED = "the URL could not be fetched"
"""The one text of every fetch failure, whatever went wrong."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(OSError):
    """The URL, or an address it leads to, is not one the gateway fetches."""


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached."""
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
"""NAT64's local-use prefix (RFC 8215): a network's own translator, refused whatever it embeds."""


def public(address: Address) -> bool:
    """Whether ``address`` is a public unicast address. An IPv6 address that carries an IPv4 one
    (mapped ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``, 6to4, NAT64 ``64:ff9b::a.b.c.d``) is judged
    by the IPv4 address inside; site-local (``fec0::/10``, deprecated but routed by some stacks),
    reserved and local-use NAT64 addresses are refused."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and (int(address) >> 32 == 0 or address in _NAT64):
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return public(inner)
        if address.is_site_local or address in _LOCAL_NAT64:
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


_ENDS_IN_A_NUMBER = re.compile(r"(?:^|\.)(?:[0-9]+|0[xX][0-9a-fA-F]*)\.?$")
_IPV4_PART = re.compile(r"0[xX](?P<hex>[0-9a-fA-F]*)|0(?P<octal>[0-7]+)|(?P<decimal>0|[1-9][0-9]*)")


def _ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host ending in a number spells (``2130706433``, ``0x7f.1``, ``127.1``,
    ``0177.0.0.1``), read as ``inet_aton`` and the URL standard read it; None for a host name.
    :class:`Refused` when it ends in a number but spells no address (``1.2.3.4.5``, ``08.1``)."""
    if not _ENDS_IN_A_NUMBER.search(host):
        return None
    parts = host.removesuffix(".").split(".")
    numbers: list[int] = []
    for part in parts:
        match = _IPV4_PART.fullmatch(part)
        if match is None or len(parts) > 4:
            raise Refused(f"{host} is not a valid IPv4 address")
        hex_digits, octal, decimal = match.group("hex", "octal", "decimal")
        numbers.append(int(hex_digits or "0", 16) if decimal is None and octal is None
                       else int(octal, 8) if octal is not None else int(decimal))
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        raise Refused(f"{host} is not a valid IPv4 address")
    value = last
    for i, n in enumerate(leading):
        value |= n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def normalized(host: str) -> str:
    """A URL's host as ``fetch`` sees it: percent-decoded, mapped to ASCII (IDNA), lower case.
    :class:`Refused` when it cannot be."""
    host = unquote(host)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise Refused("the URL's host is not a valid host name") from None
    return host.lower()


def literal(host: str) -> Address | None:
    """The address a (:func:`normalized`) URL host names literally (``[::1]``, ``127.0.0.1``,
    ``2130706433``, ``0x7f.1``), or None for a host name; :class:`Refused` for a host that ends in a
    number but is no address."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _ipv4(host)


def check(url: str, *, allow_http: bool = False, allow_private: bool = False) -> str:
    """``url`` if the gateway may fetch it (scheme and literal address); :class:`Refused` otherwise.
    Returns its host (to resolve and check next, unless it was a literal)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise Refused(f"only https URLs are fetched ({parts.scheme or 'no scheme'} given)")
    host = normalized(parts.hostname or "")
    if not host:
        raise Refused("the URL names no host")
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        if not allow_private:
            raise Refused("localhost is not fetched")
    address = literal(host)
    if address is not None and not allow_private and not public(address):
        raise Refused("the address is not a public one")
    return host
