"""Polling external feed sources during a build: when each is due, and what its answer does.

Glue between ``sources.fetch`` (the network), ``sources.feed`` (parsing) and
the store: a poll either brings articles or records a failure as the source's
state (last error, error count, backoff), never raising, so the other sources
still publish and the last good articles stay in the store. ``is_due`` and
``next_state`` are pure; the clock comes in as ``now``.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sources.feed import parse_feed
from sources.fetch import CONNECT_TIMEOUT, NEVER, TOTAL_TIMEOUT, FetchResult, Outcome, fetch, next_fetch
from sources.hostgate import HOSTS, Gate
from sources.model import Article
from sources.schedule import feed_ttl
from tagfeed import __version__
from tagfeed.config import FeedSource, PageSource
from tagfeed.settings import default
from tagfeed.errors import (GONE, HTTP_STATUS, INTERNAL, LOW_YIELD, RETRY_AFTER, Failure, FetchError,
                            SourceError, StoreError, unexpected)
from tagfeed.metrics import RECORDER
from tagfeed.poll.pages import FullText, Robots, page_poll, remember_feed_note
from tagfeed.store.records import WARNING, yield_warning
from tagfeed.store.sqlite import SourceState, Store

log = logging.getLogger("tagfeed.poll.aggregate")
bugs = logging.getLogger("tagfeed.bugs")  # a bug of ours met while polling a source: never silenced


@dataclass(frozen=True, slots=True)
class Poll:
    """What one source gave this build: articles, or its failure."""

    articles: tuple[Article, ...] = ()
    failure: Failure | None = None
    polled: bool = False
    notes: tuple[str, ...] = ()  # warnings for the build summary: a page's own feed, its low yield
    gone: bool = False  # not polled because it answered 410 once: never again

    @property
    def error(self) -> str | None:
        """The failure's message, naming the URL: the line for stderr and the report."""
        return self.failure.message if self.failure else None


def user_agent(base_url: str) -> str:
    """What tagfeed calls itself upstream; made once per build or worker and handed down."""
    return f"tagfeed/{__version__} (+{base_url})"


def is_gone(state: SourceState) -> bool:
    """Answered 410: never polled again (its articles stay published)."""
    return state.state == "gone" or (state.next_fetch is not None and state.next_fetch >= NEVER)


def is_due(state: SourceState | None, now: datetime, *, fetch_all: bool = False) -> bool:
    """Never fetched, or its time has come. ``fetch_all`` skips only the regular wait:
    a gone source, a Retry-After and an error backoff still hold."""
    if state is None:
        return True
    if is_gone(state):
        return False
    if state.next_fetch is None:
        return True
    if state.retry_after is not None and now < state.retry_after:
        return False
    if state.error_count and now < state.next_fetch:
        return False
    return fetch_all or state.next_fetch <= now


def next_state(old: SourceState, outcome: Outcome, now: datetime, rng: random.Random, *, every: int,
               result: FetchResult | None = None, failure: Failure | None = None,
               count: int | None = None) -> SourceState:
    """The source's state after one poll. ``failure`` is set for every failure, HTTP or not.

    Validators are taken from every answer, a 304 included; the RSS ``<ttl>``
    of a body is kept so a later 304 is scheduled by it too.
    """
    retry = result.headers.get("retry-after") if result else None
    ttl = feed_ttl(result.body) if result is not None and result.body else old.ttl
    when = next_fetch(old, outcome, now, rng, every=every, retry_after=retry,
                      headers=result.headers if result else None, ttl=ttl)
    state = dataclasses.replace(old, last_attempt=now, next_fetch=when)
    if result is not None and result.permanent_url:
        state = dataclasses.replace(state, url=result.permanent_url)
    if failure is None:
        return state.failed(
            None, state="ok", last_ok=now, error_count=0, ttl=ttl,
            article_count=old.article_count if count is None else count,
            etag=(result.etag if result else None) or state.etag,
            last_modified=(result.last_modified if result else None) or state.last_modified)
    kind = {Outcome.GONE: "gone", Outcome.RETRY_AFTER: "backoff"}.get(outcome, "error")
    if outcome is Outcome.RETRY_AFTER:
        failure = dataclasses.replace(failure, retry_after=when)
    # A failure without a new body (429, 5xx, a refused connection, a timeout) keeps the validators
    # of the last good body, so the next poll can still be a 304. A new body that failed to read
    # (a 200 we could not parse) drops them: the next poll fetches in full, not a 304 over it.
    new_body = result is not None and result.outcome is Outcome.OK
    return state.failed(failure, state=kind, error_count=old.error_count + 1,
                        etag=None if new_body else old.etag,
                        last_modified=None if new_body else old.last_modified)


class Aggregator:
    """One build's polling: the store, the clock, the user agent and a link index shared by sources."""

    def __init__(self, store: Store, now: datetime, *, user_agent: str, fetch_all: bool = False,
                 connect_timeout: float = CONNECT_TIMEOUT, total_timeout: float = TOTAL_TIMEOUT,
                 host_gap: float = default("site.host_gap"), gate: Gate = HOSTS, defer_states: bool = False,
                 allow_private_hosts: bool = default("site.allow_private_hosts")) -> None:
        self.store = store
        self.now = now
        self.user_agent = user_agent
        self.fetch_all = fetch_all
        self.timeouts = (connect_timeout, total_timeout)
        self.host_gap = host_gap
        self.gate = gate  # process-wide by default: concurrent builds take turns per host
        self._links: dict[str, str] | None = None
        # with ``defer_states`` a poll's new state (its ETag above all) waits for ``save_states``, which
        # the build calls once the poll's articles are stored: a build killed in between must not
        # leave an ETag whose 304 would hide articles that were never stored
        self.deferred: list[SourceState] | None = [] if defer_states else None
        self._last: FetchResult | None = None  # the answer of the poll under way, for its failure's state
        self.robots = Robots(store, user_agent)
        self.allow_private_hosts = allow_private_hosts  # for URLs from content and redirects (sources.addresses)
        self.fulltext = FullText(store, self.robots, self._fetch_content)

    def poll(self, source: FeedSource | PageSource) -> Poll:
        """Fetch ``source`` if it is due, parse it, store its new state; never raises for the source.

        Whatever fetching, decoding, parsing or sanitizing this one source raises
        becomes its recorded failure (``tagfeed.errors.unexpected`` tells a library
        refusing bad input from a bug of ours, whose traceback is logged), so one
        broken or hostile feed never stops the others. Only a store failure, which
        is no source's fault, goes up.
        """
        stored = self.store.get_source(source.url)
        old = stored or SourceState(name=source.url, kind="page" if isinstance(source, PageSource) else "feed",
                                    url=source.url)
        if not is_due(stored, self.now, fetch_all=self.fetch_all):
            if is_gone(old):
                log.info("%s: gone (HTTP 410), not polled any more", source.url)
                return Poll(gone=True)
            log.info("%s: not due until %s", source.url, old.next_fetch)
            return Poll()
        rng = random.Random(f"{source.url} {self.now.isoformat()}")  # reproducible, yet per source
        url = old.url or source.url
        try:
            return self._poll(source, old, url, rng)
        except SourceError as exc:
            if self._last is None:  # no answer at all: a refused connection, a timeout, DNS
                RECORDER.fetched(source.url, None, 0)
            return self._failed(old, Outcome.ERROR, rng, source, exc.failure(), self._last)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - any library's refusal is this source's failure
            failure = unexpected(url, exc)
            if failure.kind == INTERNAL:
                bugs.error("%s", failure.message, exc_info=exc)
            return self._failed(old, Outcome.ERROR, rng, source, failure, self._last)

    def _fetch(self, url: str, *, max_bytes: int, etag: str | None = None,
               last_modified: str | None = None, from_content: bool = False) -> FetchResult:
        """One polite GET: the user agent, the timeouts and the per-host turns of this build."""
        return fetch(url, user_agent=self.user_agent, etag=etag, last_modified=last_modified,
                     max_bytes=max_bytes, connect_timeout=self.timeouts[0], total_timeout=self.timeouts[1],
                     gate=lambda hop: self.gate.turn(hop, self.host_gap), from_content=from_content,
                     allow_private=self.allow_private_hosts)

    def _fetch_content(self, url: str, *, max_bytes: int, etag: str | None = None,
                       last_modified: str | None = None) -> FetchResult:
        """A polite GET of a URL a page handed us (``sources.fetch``: public addresses only, unless allowed)."""
        return self._fetch(url, max_bytes=max_bytes, etag=etag, last_modified=last_modified, from_content=True)

    def _poll(self, source: FeedSource | PageSource, old: SourceState, url: str, rng: random.Random) -> Poll:
        self._last = None
        if isinstance(source, PageSource):
            self.robots.check(url, self._fetch)
        result = self._fetch(url, etag=old.etag, last_modified=old.last_modified, max_bytes=source.max_bytes)
        self._last = result
        RECORDER.fetched(source.url, result.status, len(result.body or b""))
        if result.permanent_url:
            log.warning("%s moved permanently to %s; polling the new URL from now on", url, result.permanent_url)
        if result.outcome is Outcome.NOT_MODIFIED:
            self._save(next_state(old, result.outcome, self.now, rng, every=source.every, result=result))
            return Poll(polled=True)
        if result.outcome is not Outcome.OK:
            return self._failed(old, result.outcome, rng, source, http_failure(result), result)
        notes: tuple[str, ...] = ()
        if isinstance(source, PageSource):
            articles, notes = page_poll(source, result, self.now, self._fetch, self._fetch_content, self.fulltext)
            remember_feed_note(self.store, source.url, next((n for n in notes if ": this page has a feed: " in n), ""))
        else:
            articles = parse_feed(result.body, url=result.url, headers=result.headers, tags=source.tags)
        canonical = tuple(self.canonical(articles))
        state = next_state(old, Outcome.OK, self.now, rng, every=source.every, result=result, count=len(articles))
        if isinstance(source, PageSource) and (warning := yield_warning(stored_state(old), url, len(articles))):
            # the layout changed, probably: a warning and an incident, the old count kept as the baseline
            state = state.failed(Failure(kind=LOW_YIELD, message=warning), state=WARNING,
                                 article_count=old.article_count)
            notes += (warning,)
        self._save(state)
        return Poll(articles=canonical, polled=True, notes=notes)

    def _failed(self, old: SourceState, outcome: Outcome, rng: random.Random, source: FeedSource | PageSource,
                failure: Failure, result: FetchResult | None = None) -> Poll:
        self._save(next_state(old, outcome, self.now, rng, every=source.every, result=result, failure=failure))
        return Poll(failure=failure, polled=True)

    def _save(self, state: SourceState) -> None:
        if self.deferred is not None:
            self.deferred.append(state)
        else:
            self.store.put_source(state)

    def save_states(self) -> None:
        """Store the deferred states of this build's polls (after their articles)."""
        for state in self.deferred or ():
            self.store.put_source(state)
        if self.deferred:
            self.deferred.clear()

    def canonical(self, articles: Iterable[Article]) -> list[Article]:
        """Dedup rule for one link under two ids: the first id seen for a link wins,
        one already in the store before one from this build, and within a build the
        source configured first. The later entry becomes that article (tags merge)."""
        if self._links is None:
            self._links = {a.link: a.id for a in self.store.articles() if a.link}
        out = []
        for article in articles:
            if not article.link:
                out.append(article)
                continue
            first = self._links.setdefault(article.link, article.id)
            out.append(article if first == article.id else dataclasses.replace(article, id=first))
        return out


def stored_state(old: SourceState) -> SourceState | None:
    """``old`` unless it is the blank state of a source never polled (no yield to compare with)."""
    return old if old.last_attempt is not None else None


def http_failure(result: FetchResult) -> Failure:
    """The failure an HTTP error answer is: its kind and status kept, its message naming the URL."""
    if result.outcome is Outcome.GONE:
        return Failure(kind=GONE, status=result.status, message=str(FetchError(
            result.url, "HTTP 410 Gone: no longer polled; its articles stay published")))
    if result.outcome is Outcome.RETRY_AFTER:
        return Failure(kind=RETRY_AFTER, status=result.status, message=str(FetchError(
            result.url, f"HTTP {result.status}, Retry-After: {result.headers.get('retry-after', '(none; backing off)')}")))
    return Failure(kind=HTTP_STATUS, status=result.status, message=str(FetchError(result.url, f"HTTP {result.status}")))
