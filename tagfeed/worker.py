"""``tagfeed work``: one of several processes sharing polling and building through PostgreSQL.

Each worker runs the same config against the same ``postgresql://`` store. In
a loop it claims due external feeds under row leases (``tagfeed.store.leases``),
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
(``tagfeed.poll.hostturns``). Times are the database's clock.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

from tagfeed.poll.aggregate import user_agent
from tagfeed.config import Config
from tagfeed.errors import ConfigError, StoreError, TagfeedError
from tagfeed.store.leases import db_now, held, register, release
from tagfeed.store.locks import BUILD_TURN, advisory_lock
from tagfeed.store.postgres import PgStore
from tagfeed.poll.shared import Poller
from tagfeed.building.pipeline import build

log = logging.getLogger("tagfeed.worker")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    owner: str  # this worker's name in the leases table
    lease: float = 300.0  # seconds a claimed feed stays ours; longer than one poll can take
    tick: float = 1.0  # seconds between two rounds when nothing was due
    batch: int = 10  # feeds claimed per round


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
        try:
            import psycopg  # the worker needs the postgresql extra; the CLI imports this module lazily
        except ImportError:
            raise StoreError("tagfeed work needs psycopg: pip install 'tagfeed[postgresql]'") from None

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
