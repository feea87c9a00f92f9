"""``tagfeed work``: one of several processes sharing polling and building through PostgreSQL.

Each worker runs the same config against the same ``postgresql://`` store. In
a loop it claims due external feeds under row leases (``tagfeed.store.leases``),
polls them with a few fetches in flight, each of another host and on its own
connection (``tagfeed.poll.fetchers``; a host's turn holds up only that
host's feeds, ``tagfeed.poll.hostqueue``), and stores each poll's articles together with the source's new
state in one transaction (``settle_polled``): a worker killed mid-poll leaves
neither behind, so the feed is still due, its lease expires and another
worker polls it again; nothing is lost and a stored ETag never hides articles
that were not stored. In a thread and on a connection of its own, so polls
go on meanwhile, a worker whose turn it is (``BUILD_TURN``) builds the output when ``build_every`` has passed since the
last build, reading tag pages itself and the feeds' articles from the store;
the build holds ``BUILD_LOCK``, so a manual ``tagfeed build`` or a ``serve``
on the same store waits for it. Such a build polls feeds as a worker does
(``poll_due``): only those no worker holds, under leases. Requests to one
upstream host take turns across every process, ``host_gap`` apart
(``tagfeed.poll.hostturns``). Times are the database's clock.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

from tagfeed.poll.aggregate import user_agent
from tagfeed.config import Config
from tagfeed.errors import ConfigError, StoreError, TagfeedError
from sources.hostgate import host_of
from tagfeed.poll.fetchers import Fetched, FetchPool
from tagfeed.poll.hostqueue import HostQueue
from tagfeed.store.leases import claim, db_now, held, register, release
from tagfeed.store.locks import BUILD_TURN, advisory_lock
from tagfeed.store.postgres import PgStore
from tagfeed.poll.shared import Poller
from tagfeed.building.pipeline import build
from tagfeed.building.rules import admitter

log = logging.getLogger("tagfeed.worker")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    owner: str  # this worker's name in the leases table
    lease: float = 300.0  # seconds a claimed feed stays ours; longer than one poll can take
    tick: float = 1.0  # seconds between two rounds when nothing was due
    batch: int = 10  # feeds claimed and not yet fetched, at most
    fetchers: int = 4  # fetches in flight at once, each on its own connection and of another host


class Worker:
    """One worker process: the poll loop in the calling thread, builds in a thread of their own;
    ``stop`` ends both after the polls and the build in progress."""

    def __init__(self, config: Config, options: WorkerOptions, stop: threading.Event) -> None:
        if not config.site.store:
            raise ConfigError("site.store", "tagfeed work needs a postgresql:// store shared by the workers")
        self.config, self.options, self.stop = config, options, stop
        self.poller = Poller(config, owner=options.owner, user_agent=user_agent(config.site.base_url),
                             lease=options.lease, admit=admitter(config))
        self._build_retry: datetime | None = None  # after a failed build, this worker waits a period
        by_host: dict[str, list[str]] = {}
        for name in sorted(self.poller.feeds):
            by_host.setdefault(host_of(name), []).append(name)
        # round robin over hosts: equally due feeds are claimed spread over them
        self._interleaved = [n for row in itertools.zip_longest(*by_host.values()) for n in row if n]

    def run(self) -> None:
        """Poll and build until stopped, each on a connection (and a thread) of its own."""
        try:
            import psycopg  # noqa: F401 - the worker needs the postgresql extra; the CLI imports this module lazily
        except ImportError:
            raise StoreError("tagfeed work needs psycopg: pip install 'tagfeed[postgresql]'") from None
        builder = threading.Thread(target=self.reconnecting, args=("build", self.build_loop), name="build")
        builder.start()
        try:
            self.reconnecting("poll", self.poll_loop)
        finally:
            self.stop.set()
            builder.join()
        log.info("worker %s stopped", self.options.owner)

    def reconnecting(self, what: str, loop: Callable[[PgStore], None]) -> None:
        """Run ``loop`` on a connection of its own until stopped. A lost database (PostgreSQL
        restarted, a failover, a dropped connection) is logged and reconnected after 1, 2, 4 ... 60 s,
        not fatal."""
        import psycopg  # checked by ``run`` already

        delay = 1.0
        while not self.stop.is_set():
            try:
                with PgStore(self.config.site.store) as store:
                    loop(store)
                return
            except (psycopg.OperationalError, psycopg.InterfaceError, StoreError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.error("worker %s (%s): database connection lost (%s); reconnecting in %.0fs",
                          self.options.owner, what, reason, delay)
                self.stop.wait(delay)
                delay = min(delay * 2, 60.0)

    def poll_loop(self, store: PgStore) -> None:
        """Claim due feeds and keep up to ``fetchers`` fetches in flight, one per host; a feed whose
        host is busy or within its gap waits in a ``HostQueue`` while other hosts' feeds go ahead."""
        register(store.conn, sorted(self.poller.feeds))
        release(store.conn, held(store.conn, self.options.owner), self.options.owner)  # a lost session's
        log.info("worker %s: %d feeds, lease %ss, %d fetchers", self.options.owner, len(self.poller.feeds),
                 self.options.lease, self.options.fetchers)
        hosts = HostQueue(per_host=1 if self.config.site.host_gap > 0 else self.options.fetchers)
        holding, in_flight, next_claim = set[str](), 0, 0.0
        try:
            with FetchPool(self.poller, self.config.site.store, self.options.fetchers) as pool:
                while not self.stop.is_set():
                    now = time.monotonic()
                    room = self.options.batch - len(holding)
                    if room > 0 and now >= next_claim:
                        got = self.claim(store, hosts, holding, room)
                        for name in got:
                            hosts.add(name, host_of(name))
                        holding.update(got)
                        next_claim = now if len(got) == room else now + self.options.tick
                    while in_flight < self.options.fetchers and (task := hosts.take(now)):
                        pool.submit(*task)
                        in_flight += 1
                    waits = [self.options.tick]
                    if in_flight < self.options.fetchers and (ready := hosts.wait(now)) is not None:
                        waits.append(ready)
                    if room > 0:
                        waits.append(next_claim - now)
                    with contextlib.suppress(queue.Empty):
                        fetched = pool.done.get(timeout=max(0.005, min(waits)))
                        while True:
                            in_flight -= 1
                            self.finished(fetched, hosts, holding)
                            fetched = pool.done.get_nowait()
        finally:
            if holding:  # queued, not fetched: free for others now rather than when the lease runs out
                with contextlib.suppress(Exception):
                    release(store.conn, sorted(holding), self.options.owner)

    @staticmethod
    def finished(fetched: Fetched, hosts: HostQueue, holding: set[str]) -> None:
        """One try at a feed ended: its host is free again, at once or after the wait it was told."""
        if fetched.failed is not None:
            raise fetched.failed
        if fetched.later > 0:  # the host was not free: the feed waits for it, still ours
            hosts.done(fetched.host, now=time.monotonic(), retry=fetched.name, after=fetched.later)
        else:
            hosts.done(fetched.host, now=time.monotonic())
            holding.discard(fetched.name)

    def claim(self, store: PgStore, hosts: HostQueue, holding: set[str], room: int) -> list[str]:
        """Lease up to ``room`` due feeds, none of a host that has its share queued here already."""
        busy = hosts.full()
        names = [n for n in self._interleaved if n not in holding and host_of(n) not in busy]
        if not names:
            return []
        return claim(store.conn, names, self.options.owner, lease=self.options.lease, limit=room)

    def build_loop(self, store: PgStore) -> None:
        """Builds on their own connection and thread, so polls go on while one runs."""
        while not self.stop.is_set():
            self.build_if_due(store)
            self.stop.wait(self.options.tick)

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
