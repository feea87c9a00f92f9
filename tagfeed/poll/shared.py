"""Polling under leases on a store shared by workers: what ``tagfeed work`` and a build on it share.

A feed is claimed (``tagfeed.store.leases``), renewed just before its fetch,
polled with requests to its host taking turns across every process
(``tagfeed.poll.hostturns``), and its articles are stored together with the
source's new state in one transaction (``settle_polled``): a process killed
mid-poll leaves neither behind, so the feed is still due, its lease expires and
another process polls it again; a stored ETag never hides articles that were
not stored. Times are the database's clock.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sources.fetch import CONNECT_TIMEOUT, TOTAL_TIMEOUT
from sources.model import Article, merge
from tagfeed.config import Config, FeedSource
from tagfeed.poll.aggregate import Aggregator
from tagfeed.poll.hostturns import SharedHostGate
from tagfeed.store.leases import claim, register, release, renew
from tagfeed.store.locks import settling
from tagfeed.store.postgres import PgStore
from tagfeed.store.provenance import Sightings
from tagfeed.store.settle import settle
from tagfeed.store.sqlite import SourceState
from tagfeed.store.tables import VerdictRow

log = logging.getLogger("tagfeed.poll.shared")

# A source's keep/block rules (``tagfeed.building.rules.admitter``): the articles it may publish,
# and the verdicts to store for it (None: no rule judged this poll, the old verdicts stand).
Admit = Callable[[FeedSource, Sequence[Article], datetime], tuple[list[Article], list[VerdictRow] | None]]


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Deferred(Aggregator):
    """An Aggregator whose polls' states wait (``defer_states``) for the worker to store them with
    the articles, and which leaves the link dedup to ``canonical_links`` inside that transaction."""

    def canonical(self, articles: Iterable[Article]) -> list[Article]:
        return list(articles)


def canonical_links(store: PgStore, articles: Sequence[Article]) -> list[Article]:
    """``Aggregator.canonical``'s rule with an indexed lookup instead of every article:
    the id already stored for a link wins, then the first in this poll."""
    known = store.ids_by_link(sorted({a.link for a in articles if a.link}))
    out = []
    for article in articles:
        first = known.setdefault(article.link, article.id) if article.link else article.id
        out.append(article if first == article.id else dataclasses.replace(article, id=first))
    return out


def settle_polled(store: PgStore, state: SourceState, articles: Sequence[Article], now: datetime,
                  verdicts: list[VerdictRow] | None = None) -> int:
    """Date and store one poll's articles, the source's state and its rules' verdicts in one
    transaction; returns how many were new."""
    with settling(store.conn):
        found: dict[str, Article] = {}
        sightings = Sightings()
        for article in canonical_links(store, articles):
            sightings.add(article)
            old = found.get(article.id)
            found[article.id] = merge(old, article) if old else article
        new = settle(store, found, now.replace(microsecond=0))
        sightings.write(store, now.replace(microsecond=0))
        if verdicts is not None:
            store.replace_verdicts([state.name], verdicts)
        store.put_source(state)
    return new


@dataclass(frozen=True, slots=True)
class Poller:
    """Polls feeds of one config under leases, as ``owner``: each feed claimed, renewed just
    before its fetch, settled with its new state in one transaction, released. A worker's
    rounds and a build on a shared store (``poll_due``) go through here alike."""

    config: Config
    owner: str
    user_agent: str  # ``aggregate.user_agent``, made once by whoever makes the Poller
    lease: float = 300.0
    admit: Admit | None = None  # the sources' keep/block rules, as a build applies them

    @property
    def feeds(self) -> dict[str, FeedSource]:
        return {s.url: s for s in self.config.sources if isinstance(s, FeedSource)}

    def claim(self, store: PgStore, limit: int, fetch_all: bool = False) -> list[str]:
        return claim(store.conn, sorted(self.feeds), self.owner, lease=self.lease, limit=limit,
                     fetch_all=fetch_all)

    def poll_claimed(self, store: PgStore, names: Sequence[str], stop: threading.Event | None = None,
                     fetch_all: bool = False) -> list[tuple[str, str | None]]:
        """Poll the claimed ``names`` and release them; returns (url, error or None) of each polled."""
        feeds, done = self.feeds, []
        try:
            for name in names:
                if stop is not None and stop.is_set():
                    break
                now = renew(store.conn, name, self.owner, lease=self.lease)
                if now is None:  # the lease ran out and another worker has the feed
                    continue
                polled = self.poll_one(store, feeds[name], now, fetch_all)
                if polled is not None:
                    done.append((name, polled))
        finally:
            if names:
                release(store.conn, names, self.owner)
        return [(name, error or None) for name, error in done]

    def poll_one(self, store: PgStore, source: FeedSource, now: datetime, fetch_all: bool = False,
                 gate: SharedHostGate | None = None) -> str | None:
        """Poll one feed; its error text, "" when it went well, None when it was not due after all."""
        # a poll must end well inside its lease, or another worker could take the feed meanwhile
        aggregator = _Deferred(store, now, user_agent=self.user_agent, host_gap=self.config.site.host_gap,
                               connect_timeout=min(CONNECT_TIMEOUT, self.lease / 4),
                               total_timeout=min(TOTAL_TIMEOUT, self.lease / 2), fetch_all=fetch_all,
                               gate=gate or SharedHostGate(store.conn), defer_states=True,
                               allow_private_hosts=self.config.site.allow_private_hosts)
        poll = aggregator.poll(source)
        if not aggregator.deferred:  # not due after all (polled by another worker meanwhile)
            return None
        articles, verdicts = self.admit(source, poll.articles, now) if self.admit else (list(poll.articles), None)
        new = settle_polled(store, aggregator.deferred[-1], articles, now, verdicts)
        if poll.error:
            log.warning("%s", poll.error)
        log.debug("%s: %d articles, %d new", source.url, len(poll.articles), new)
        return poll.error or ""


def poll_due(config: Config, store: PgStore, *, user_agent: str, fetch_all: bool = False,
             admit: Admit | None = None) -> list[tuple[str, str | None]]:
    """What a build on a shared store does instead of polling by itself: every due feed (every
    one with ``fetch_all``) that no worker holds, under leases like a worker's."""
    poller = Poller(config, owner=f"build {default_owner()}", user_agent=user_agent, admit=admit)
    register(store.conn, sorted(poller.feeds))
    return poller.poll_claimed(store, poller.claim(store, len(poller.feeds), fetch_all), fetch_all=fetch_all)
