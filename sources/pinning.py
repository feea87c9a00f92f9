"""The address each host of one fetch is connected at: resolved once, checked, then used.

``sources.fetch`` sends every request of a fetch (its redirects too) to the address
``Pins`` hands out for the URL's host, with the Host header and TLS name kept as
the URL's, so no DNS answer can change between the public-address check
(``sources.addresses``) and the connection.
"""

from __future__ import annotations

import httpx

from sources.addresses import IP, refusal, resolve
from tagfeed.errors import BlockedAddress


class Pins:
    """The address each host of one fetch is connected at, resolved once (no DNS between check and connect).

    The first URL's host is the operator's choice, unless it came ``from_content``; every other host
    (a redirect's) must resolve to a public address, unless ``allow_private``."""

    def __init__(self, url: str, *, from_content: bool, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.trusted = set() if from_content else {host_of_url(url)}
        self.pinned: dict[str, list[IP]] = {}  # by host, whatever the port: a redirect cannot re-resolve it

    def addresses(self, url: str) -> list[IP]:
        """Where ``url`` may be connected, in order; ``BlockedAddress`` when nowhere."""
        parsed = httpx.URL(url)
        host = parsed.host
        if host not in self.pinned:
            found = resolve(url, host, parsed.port or (443 if parsed.scheme == "https" else 80))
            if not self.allow_private and host not in self.trusted:
                public = [a for a in found if refusal(a) is None]
                if not public:
                    raise BlockedAddress(url, f"{host} resolves to {found[0]}, {refusal(found[0])}: not fetched "
                                              "(links from pages and redirects reach public addresses only; "
                                              "site.allow_private_hosts = true allows others)")
                found = public
            self.pinned[host] = found
        return self.pinned[host]


def host_of_url(url: str) -> str:
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL:
        return ""


def pinned_request(client: httpx.Client, url: str, address: IP, timeout: httpx.Timeout) -> httpx.Request:
    """A GET of ``url`` sent to ``address``: the Host header and TLS name (SNI, certificate) stay the URL's."""
    parsed = httpx.URL(url)
    sni = {"sni_hostname": parsed.raw_host.decode("ascii")} if parsed.scheme == "https" else {}
    return client.build_request("GET", parsed.copy_with(host=str(address)), timeout=timeout,
                                headers={"Host": parsed.netloc.decode("ascii")}, extensions=sni)
