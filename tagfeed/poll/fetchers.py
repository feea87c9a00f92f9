"""A worker's fetches in flight: a few threads, each on its own PostgreSQL connection.

psycopg connections are not for concurrent use, and a host's turn is an
advisory lock of the session making the request, so each thread opens its
own ``PgStore`` and ``SharedHostGate``. A thread takes one claimed feed at a
time (``fetch_claimed``): it reserves the feed's host without waiting, and
when another process holds it or its gap has not passed, it hands the feed
back with the seconds to wait, the lease kept, rather than sleeping while
feeds of other hosts are due (with ``host_gap = 0`` it waits for the request
under way, as every turn did before). Otherwise it renews the lease just before the
fetch (as ``Poller.poll_claimed`` does), polls, stores and releases it.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from types import TracebackType

from tagfeed.poll.hostturns import SharedHostGate
from tagfeed.poll.shared import Poller
from tagfeed.store.leases import release, renew
from tagfeed.store.postgres import PgStore

log = logging.getLogger("tagfeed.poll.fetchers")


@dataclass(frozen=True, slots=True)
class Fetched:
    """How one try at a claimed feed ended."""

    name: str
    host: str
    later: float = 0.0  # > 0: the host was not free; the feed is still ours, try again this much later
    error: str | None = None  # the poll's error text
    failed: BaseException | None = None  # the database went away under the thread


def fetch_claimed(poller: Poller, store: PgStore, gate: SharedHostGate, name: str, host: str) -> Fetched:
    """One try at the claimed feed ``name``; see the module docstring."""
    source, gap = poller.feeds[name], poller.config.site.host_gap
    # with no gap a busy host is a wait of one request: the turn inside the fetch waits for it
    if gap > 0 and (later := gate.reserve(source.url, gap)) > 0:
        return Fetched(name, host, later=later)
    try:
        now = renew(store.conn, name, poller.owner, lease=poller.lease)
        error = poller.poll_one(store, source, now, gate=gate) if now is not None else None
    finally:
        gate.unreserve()  # no-op when the request used the reservation
    release(store.conn, [name], poller.owner)
    return Fetched(name, host, error=error or None)


class FetchPool:
    """``size`` threads polling claimed feeds for ``poller``; results come back on ``done``."""

    def __init__(self, poller: Poller, url: str, size: int) -> None:
        self.poller, self.url = poller, url
        self.todo: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.done: queue.Queue[Fetched] = queue.Queue()
        self.threads = [threading.Thread(target=self._run, name=f"fetch-{n}", daemon=True) for n in range(size)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        store: PgStore | None = None
        try:
            while (task := self.todo.get()) is not None:
                name, host = task
                try:
                    store = store or PgStore(self.url)
                    self.done.put(fetch_claimed(self.poller, store, SharedHostGate(store.conn), name, host))
                except Exception as exc:  # noqa: BLE001 - the worker reconnects; a bug is logged there too
                    self.done.put(Fetched(name, host, failed=exc))
                    if store is not None:
                        store.close()
                    store = None
        finally:
            if store is not None:
                store.close()

    def submit(self, name: str, host: str) -> None:
        self.todo.put((name, host))

    def __enter__(self) -> FetchPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Let the fetches under way end, then close every thread's connection."""
        for _ in self.threads:
            self.todo.put(None)
        for thread in self.threads:
            thread.join()
