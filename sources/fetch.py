"""Fetching an external feed: one conditional GET with hard limits, plus pure scheduling.

``fetch`` is the one edge that touches the network: httpx, redirects followed
by hand (so a 301/308 can be told from a 302/307), a connect timeout, a total
deadline enforced while streaming, and a cap on the body size. It never parses.
Each hop connects to an address resolved once (``_Pins``): a URL from content
(``from_content``) and a redirect to another host reach public addresses only,
checked on the address connected to, unless ``allow_private``.
``classify``, ``parse_retry_after`` and ``next_fetch`` are pure: status and
headers in, a decision out; the clock and the randomness come in as arguments.
"""

from __future__ import annotations

import enum
import functools
import random
import time
import ssl
import zlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from sources.pinning import Pins, pinned_request
from sources.schedule import polite_interval
from tagfeed.errors import TIMEOUT, FetchError

CONNECT_TIMEOUT = 10.0
TOTAL_TIMEOUT = 30.0
MAX_REDIRECTS = 5
BACKOFF_CAP = timedelta(hours=24)
RETRY_AFTER_CAP = timedelta(days=7)  # a server cannot silence a source forever
NEVER = datetime.max.replace(tzinfo=timezone.utc)


class Outcome(enum.Enum):
    NOT_MODIFIED = "not_modified"
    OK = "ok"
    MOVED = "moved"  # 301, 308: permanent, remember the new URL
    REDIRECT = "redirect"  # 302, 303, 307: follow, do not remember
    GONE = "gone"  # 410: stop polling
    RETRY_AFTER = "retry_after"  # 429, 503: honour Retry-After
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one poll brought back; ``body`` is empty unless ``outcome`` is OK."""

    url: str  # the URL the response came from, after every redirect
    status: int
    outcome: Outcome
    headers: Mapping[str, str]  # lower-case names, as feedparser expects
    body: bytes = b""
    permanent_url: str | None = None  # set when a 301/308 moved the source

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


class _Failures(Protocol):
    @property
    def error_count(self) -> int: ...


def classify(status: int, headers: Mapping[str, str]) -> Outcome:
    """The decision a status code asks for; a redirect without Location is an error."""
    if status == 304:
        return Outcome.NOT_MODIFIED
    if 200 <= status < 300:
        return Outcome.OK
    if status in (301, 302, 303, 307, 308):
        if not _header(headers, "location"):
            return Outcome.ERROR
        return Outcome.MOVED if status in (301, 308) else Outcome.REDIRECT
    if status == 410:
        return Outcome.GONE
    if status in (429, 503):
        return Outcome.RETRY_AFTER
    return Outcome.ERROR


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + min(timedelta(seconds=int(value)), RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return min(max(when, now), now + RETRY_AFTER_CAP)


def backoff(failures: int, every: int, rng: random.Random) -> timedelta:
    """Exponential in consecutive failures, from ``every``, capped at 24 h, jittered down.

    The jitter keeps sources that failed together (one host down) from all
    coming back in the same second.
    """
    exponent = min(max(failures - 1, 0), 32)
    delay = min(BACKOFF_CAP.total_seconds(), every * 2.0**exponent)
    return timedelta(seconds=round(delay * rng.uniform(0.75, 1.0)))


def next_fetch(state: _Failures, outcome: Outcome, now: datetime, rng: random.Random, *,
               every: int, retry_after: str | None = None, headers: Mapping[str, str] | None = None,
               ttl: int | None = None) -> datetime:
    """When to poll next. ``state`` is the source before this poll (its failure count).

    After an answer, ``every`` stretched by the response's freshness and the
    feed's ``ttl`` (``sources.schedule``); after a failure, Retry-After or backoff.
    """
    if outcome in (Outcome.OK, Outcome.NOT_MODIFIED):
        return now + polite_interval(every, headers or {}, now, ttl=ttl)
    if outcome is Outcome.GONE:
        return NEVER
    if outcome is Outcome.RETRY_AFTER:
        when = parse_retry_after(retry_after, now)
        if when is not None:
            return when
    return now + backoff(state.error_count + 1, every, rng)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _request_headers(user_agent: str, etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {
        "User-Agent": user_agent,
        "Accept": "application/atom+xml, application/rss+xml, application/feed+json, "
                  "application/xml;q=0.9, application/json;q=0.8, text/xml;q=0.8, */*;q=0.5",
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _decoder(response: httpx.Response, url: str) -> zlib._Decompress | None:
    """Our own inflater, so the cap counts decoded bytes as they are made (gzip bombs)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")


def _read_capped(response: httpx.Response, url: str, max_bytes: int, deadline: float,
                 clock: Callable[[], float]) -> bytes:
    """The body, refusing to hold more than ``max_bytes`` or to read past the deadline."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(url, f"response is {declared} bytes, over the {max_bytes}-byte cap")
    decoder = _decoder(response, url)
    parts: list[bytes] = []
    size = 0
    for raw in response.iter_raw():  # as received: a chunk_size would buffer past the deadline
        try:
            chunk = decoder.decompress(raw, max_bytes + 1 - size) if decoder else raw
        except zlib.error as exc:
            raise FetchError(url, f"cannot decode the compressed body: {exc}") from None
        size += len(chunk)
        if size > max_bytes or (decoder and decoder.unconsumed_tail):
            raise FetchError(url, f"response is over the {max_bytes}-byte cap; stopped reading")
        if clock() > deadline:
            raise FetchError(url, "timed out reading the response (total deadline)", kind=TIMEOUT)
        parts.append(chunk)
    return b"".join(parts)


def _location(url: str, response: httpx.Response) -> str:
    target = urljoin(url, response.headers["location"].strip())
    if urlsplit(target).scheme not in ("http", "https"):
        raise FetchError(url, f"redirect to a non-HTTP URL {target!r}")
    return target


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's verifying context, built once per process: building one loads the CA
    bundle (~25 ms), more than a whole poll of a fast feed. Contexts are thread-safe."""
    return httpx.create_ssl_context()


def fetch(url: str, *, user_agent: str, etag: str | None = None, last_modified: str | None = None,
          max_bytes: int, connect_timeout: float = CONNECT_TIMEOUT,
          total_timeout: float = TOTAL_TIMEOUT, max_redirects: int = MAX_REDIRECTS,
          clock: Callable[[], float] = time.monotonic,
          gate: Callable[[str], AbstractContextManager[None]] | None = None,
          from_content: bool = False, allow_private: bool = False) -> FetchResult:
    """One conditional GET of ``url``; network failures raise ``FetchError``.

    ``gate(url)`` is held around each hop (``sources.hostgate``: one request
    at a time per host, with a gap); a redirect to another host takes its turn there.
    ``from_content``: ``url`` came from a page, not from the operator, so its host
    too must be public (``_Pins``); a refused address raises ``BlockedAddress``.

    HTTP errors (4xx/5xx) come back as a result with their ``Outcome`` so the
    caller can schedule by them. Each socket read waits at most what is left
    of the total deadline at the start of the hop, and the deadline is checked
    after every chunk, so neither a stalled nor a trickling server holds us.
    """
    deadline: float | None = None  # starts with the first request, not with the wait for the host
    headers = _request_headers(user_agent, etag, last_modified)
    seen = {url}
    permanent: str | None = None
    temporary = False
    pins = Pins(url, from_content=from_content, allow_private=allow_private)
    with httpx.Client(headers=headers, follow_redirects=False, verify=_tls_context()) as client:
        for _ in range(max_redirects + 1):
            with gate(url) if gate else nullcontext():
                deadline = clock() + total_timeout if deadline is None else deadline
                remaining = max(deadline - clock(), 0.001)
                timeout = httpx.Timeout(remaining, connect=min(connect_timeout, remaining))
                result = _one_hop(client, url, pins, timeout, max_bytes, deadline, clock)
            if result.outcome not in (Outcome.MOVED, Outcome.REDIRECT):
                return _with_permanent(result, permanent)
            target = result.headers["location"]
            if target in seen:
                raise FetchError(url, f"redirect loop: {target} was already visited")
            if result.outcome is Outcome.REDIRECT:
                temporary = True
            elif not temporary:
                permanent = target  # a 301 after a 302 is not ours to remember
            seen.add(target)
            url = target
    raise FetchError(url, f"more than {max_redirects} redirects")


def _with_permanent(result: FetchResult, permanent: str | None) -> FetchResult:
    if permanent is None:
        return result
    return FetchResult(url=result.url, status=result.status, outcome=result.outcome,
                       headers=result.headers, body=result.body, permanent_url=permanent)


def _one_hop(client: httpx.Client, url: str, pins: Pins, timeout: httpx.Timeout, max_bytes: int,
             deadline: float, clock: Callable[[], float]) -> FetchResult:
    """One request, to the first of ``url``'s pinned addresses that accepts a connection; a
    redirect's resolved target is returned in ``headers['location']``."""
    try:
        addresses = pins.addresses(url)
        for tried, address in enumerate(addresses[:3], 1):
            try:
                response = client.send(pinned_request(client, url, address, timeout), stream=True)
                break
            except httpx.ConnectError:
                if tried == min(len(addresses), 3) or clock() > deadline:
                    raise
        try:
            headers = {k.lower(): v for k, v in response.headers.items()}
            outcome = classify(response.status_code, headers)
            body = b""
            if outcome is Outcome.OK:
                body = _read_capped(response, url, max_bytes, deadline, clock)
            elif outcome in (Outcome.MOVED, Outcome.REDIRECT):
                headers["location"] = _location(url, response)
        finally:
            response.close()  # unread bodies (errors, redirects, over the cap) are dropped
    except httpx.TimeoutException as exc:
        raise FetchError(url, f"timed out ({type(exc).__name__})", kind=TIMEOUT) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: a URL or host httpx cannot send to
        raise FetchError(url, f"{type(exc).__name__}: {exc}") from None
    return FetchResult(url=url, status=response.status_code, outcome=outcome, headers=headers, body=body)
