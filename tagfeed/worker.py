"""``tagfeed work``: one of several processes sharing polling and building through PostgreSQL.

Each worker runs the same config against the same ``postgresql://`` store. In
a loop it claims due external feeds under row leases (``tagfeed.leases``),
polls them, and stores each poll's articles together with the source's new
state in one transaction (``settle_polled``): a worker killed mid-poll leaves
neither behind, so the feed is still due, its lease expires and another
worker polls it again; nothing is lost and a stored ETag never hides articles
that were not stored. Between rounds a worker whose turn it is
(``BUILD_TURN``) builds the output when ``build_every`` has passed since the
last build, reading tag pages itself and the feeds' articles from the store;
the build holds ``BUILD_LOCK``, so a manual ``tagfeed build`` or a ``serve``
on the same store waits for it. Such a build polls feeds as a worker does
(``poll_due``): only those no worker holds, under leases. Requests to one
upstream host take turns across every process, ``host_gap`` apart
(``tagfeed.hostturns``). Times are the database's clock.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from sources.fetch import CONNECT_TIMEOUT, TOTAL_TIMEOUT
from sources.model import Article, merge
from tagfeed.aggregate import Aggregator, user_agent
from tagfeed.config import Config, FeedSource
from tagfeed.errors import ConfigError, StoreError, TagfeedError
from tagfeed.hostturns import SharedHostGate
from tagfeed.leases import claim, db_now, held, register, release, renew
from tagfeed.locks import BUILD_TURN, advisory_lock, settling
from tagfeed.pgstore import PgStore
from tagfeed.pipeline import build, settle
from tagfeed.provenance import Sightings, ensure_table
from tagfeed.store import SourceState

log = logging.getLogger("tagfeed.worker")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    owner: str  # this worker's name in the leases table
    lease: float = 300.0  # seconds a claimed feed stays ours; longer than one poll can take
    tick: float = 1.0  # seconds between two rounds when nothing was due
    batch: int = 10  # feeds claimed per round


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Deferred(Aggregator):
    """An Aggregator whose polls' states wait (``defer_states``) for the worker to store them with
    the articles, and which leaves the link dedup to ``canonical_links`` inside that transaction."""

    def canonical(self, articles: Iterable[Article]) -> list[Article]:
        return list(articles)


def canonical_links(conn: Any, articles: Sequence[Article]) -> list[Article]:
    """``Aggregator.canonical``'s rule with an indexed lookup instead of every article:
    the id already stored for a link wins, then the first in this poll."""
    links = sorted({a.link for a in articles if a.link})
    known: dict[str, str] = {}
    if links:
        rows = conn.execute(
            "SELECT (data::jsonb) ->> 'link', id FROM articles WHERE (data::jsonb) ->> 'link' = ANY(%s) "
            'ORDER BY published DESC, id COLLATE "C"', (links,)).fetchall()
        for link, article_id in rows:
            known.setdefault(link, article_id)
    out = []
    for article in articles:
        first = known.setdefault(article.link, article.id) if article.link else article.id
        out.append(article if first == article.id else dataclasses.replace(article, id=first))
    return out


def settle_polled(store: PgStore, state: SourceState, articles: Sequence[Article], now: datetime) -> int:
    """Date and store one poll's articles and the source's state in one transaction; returns how many were new."""
    with settling(store.conn):
        found: dict[str, Article] = {}
        sightings = Sightings()
        for article in canonical_links(store.conn, articles):
            sightings.add(article)
            old = found.get(article.id)
            found[article.id] = merge(old, article) if old else article
        new = settle(store, found, now.replace(microsecond=0))
        sightings.write(store, now.replace(microsecond=0))
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

    def poll_one(self, store: PgStore, source: FeedSource, now: datetime, fetch_all: bool = False) -> str | None:
        """Poll one feed; its error text, "" when it went well, None when it was not due after all."""
        # a poll must end well inside its lease, or another worker could take the feed meanwhile
        aggregator = _Deferred(store, now, user_agent=self.user_agent, host_gap=self.config.site.host_gap,
                               connect_timeout=min(CONNECT_TIMEOUT, self.lease / 4),
                               total_timeout=min(TOTAL_TIMEOUT, self.lease / 2), fetch_all=fetch_all,
                               gate=SharedHostGate(store.conn), defer_states=True)
        poll = aggregator.poll(source)
        if not aggregator.deferred:  # not due after all (polled by another worker meanwhile)
            return None
        new = settle_polled(store, aggregator.deferred[-1], poll.articles, now)
        if poll.error:
            log.warning("%s", poll.error)
        log.debug("%s: %d articles, %d new", source.url, len(poll.articles), new)
        return poll.error or ""


def poll_due(config: Config, store: PgStore, *, user_agent: str,
             fetch_all: bool = False) -> list[tuple[str, str | None]]:
    """What a build on a shared store does instead of polling by itself: every due feed (every
    one with ``fetch_all``) that no worker holds, under leases like a worker's."""
    poller = Poller(config, owner=f"build {default_owner()}", user_agent=user_agent)
    register(store.conn, sorted(poller.feeds))
    return poller.poll_claimed(store, poller.claim(store, len(poller.feeds), fetch_all), fetch_all=fetch_all)


class Worker:
    """The loop of one worker process; ``stop`` ends it after the poll or build in progress."""

    def __init__(self, config: Config, options: WorkerOptions, stop: threading.Event) -> None:
        if not config.site.store:
            raise ConfigError("site.store", "tagfeed work needs a postgresql:// store shared by the workers")
        self.config, self.options, self.stop = config, options, stop
        self.poller = Poller(config, owner=options.owner, user_agent=user_agent(config.site.base_url),
                             lease=options.lease)
        self._build_retry: datetime | None = None  # after a failed build, this worker waits a period

    def run(self) -> None:
        """Poll and build until stopped. A lost database (PostgreSQL restarted, a failover, a
        dropped connection) is logged and reconnected after 1, 2, 4 ... 60 s, not fatal."""
        import psycopg  # the worker needs the postgresql extra; the CLI imports this module lazily

        delay = 1.0
        while not self.stop.is_set():
            try:
                self.run_connected()
                break
            except (psycopg.OperationalError, psycopg.InterfaceError, StoreError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.error("worker %s: database connection lost (%s); reconnecting in %.0fs",
                          self.options.owner, reason, delay)
                self.stop.wait(delay)
                delay = min(delay * 2, 60.0)
        log.info("worker %s stopped", self.options.owner)

    def run_connected(self) -> None:
        """The loop on one connection; returns when stopped, raises when the connection is lost."""
        with PgStore(self.config.site.store) as store:
            register(store.conn, sorted(self.poller.feeds))
            release(store.conn, held(store.conn, self.options.owner), self.options.owner)  # a lost session's
            with settling(store.conn):  # side tables made once, not raced by workers' first settles
                ensure_table(store)
            log.info("worker %s: %d feeds, lease %ss", self.options.owner, len(self.poller.feeds),
                     self.options.lease)
            while not self.stop.is_set():
                polled = self.poll_round(store)
                self.build_if_due(store)
                if polled < self.options.batch:
                    self.stop.wait(self.options.tick)

    def poll_round(self, store: PgStore) -> int:
        """Claim up to ``batch`` due feeds and poll them; returns how many were claimed."""
        names = self.poller.claim(store, self.options.batch)
        self.poller.poll_claimed(store, names, self.stop)
        return len(names)

    def build_if_due(self, store: PgStore) -> None:
        """Build when it is this worker's turn and ``build_every`` has passed since the last build."""
        with advisory_lock(store.conn, BUILD_TURN, wait=False) as mine:
            if not mine:
                return
            now = db_now(store.conn)
            last = store.get_meta("last_build")
            every = timedelta(seconds=self.config.build_every)
            if (last and now - datetime.fromisoformat(last) < every) or (self._build_retry or now) > now:
                return
            try:
                report = build(self.config, now=now, poll_feeds=False)
            except TagfeedError as exc:  # the last good output stays up; a later turn retries
                log.error("build failed: %s", exc)
                self._build_retry = now + every
                return
            log.info("worker %s built: %s", self.options.owner, report.summary())


def run_worker(config: Config, options: WorkerOptions) -> None:
    """Run until SIGTERM or SIGINT, then finish the poll or build in progress and return."""
    stop = threading.Event()
    worker = Worker(config, options, stop)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
