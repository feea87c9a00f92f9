"""Which network addresses a link found in content may reach: public ones only.

A page hands us links (an item's page for full text, a redirect's Location) that
are not the operator's choice; fetched blindly they would let any page reach
the operator's loopback, LAN or cloud metadata service. ``refusal`` says why an
address is not public (None when it is); ``resolve`` asks DNS once, so the
address checked is the one connected to (``sources.fetch`` pins it).
"""

from __future__ import annotations

import ipaddress
import socket

from tagfeed.errors import FetchError

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the IPv4 address is the last 32 bits
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Alibaba's metadata is 100.100.100.200


def refusal(address: IP) -> str | None:
    """Why ``address`` is not a public one ("a loopback address"), or None when it is.

    IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo) are judged
    by the address they carry."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return refusal(inner)
    for test, name in (("is_loopback", "a loopback"), ("is_link_local", "a link-local (cloud metadata)"),
                       ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
                       ("is_reserved", "a reserved"), ("is_private", "a private")):
        if getattr(address, test):
            return f"{name} address"
    if address in _SHARED or not address.is_global:
        return "a non-public address"
    return None


def resolve(url: str, host: str, port: int) -> list[IP]:
    """``host``'s addresses, in the resolver's order of preference; ``FetchError`` naming ``url``
    when it has none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise FetchError(url, f"cannot resolve {host!r}: {exc}") from None
    out: list[IP] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in out:
            out.append(address)
    if not out:
        raise FetchError(url, f"cannot resolve {host!r}: no address")
    return out
