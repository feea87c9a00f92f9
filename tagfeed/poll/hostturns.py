"""Politeness per upstream host across processes: ``sources.hostgate``'s contract, kept in PostgreSQL.

Workers (``tagfeed work``) on one or several machines share a store, but each
process's ``HOSTS`` gate knows only its own requests: N workers could send one
host N requests at once. ``SharedHostGate.turn`` holds a PostgreSQL advisory
lock per host (the two-key form: a tagfeed namespace and ``hashtext(host)``)
for the whole request, and first waits out ``gap`` after the end of the last
request any process made there, kept in ``host_turns``. The lock is the
session's, so a worker that dies mid-request releases it with its connection.
Times are the database's clock. Threads of one process queue on the local gate
first, so they never wait on the database for each other.

A worker with several fetches in flight ``reserve``s a host first, without
waiting: when another process holds it or its gap has not passed, it gets
the seconds to come back after and polls another host meanwhile. A held
reservation is the turn of the next request to that host.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from sources.hostgate import HOSTS, HostGate, host_of
from tagfeed.store.hostturns import host_turn, let_go, try_host


class SharedHostGate:
    """One request at a time per host among every process on the store, ``gap`` seconds apart.
    One per connection and thread: a reservation is this session's lock."""

    def __init__(self, conn: Any, local: HostGate = HOSTS, sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn, self.local, self.sleep = conn, local, sleep
        self._reserved: str | None = None

    def reserve(self, url: str, gap: float) -> float:
        """0.0 when ``url``'s host is ours for the next request, else the seconds before trying again."""
        self.unreserve()
        left = try_host(self.conn, host_of(url), gap)
        if left == 0.0:
            self._reserved = host_of(url)
        return left

    def unreserve(self) -> None:
        """Give back a reservation no request used (the feed was not due after all)."""
        if self._reserved is not None:
            host, self._reserved = self._reserved, None
            let_go(self.conn, host)

    @contextlib.contextmanager
    def turn(self, url: str, gap: float) -> Iterator[None]:
        host = host_of(url)
        held, self._reserved = host == self._reserved, (None if host == self._reserved else self._reserved)
        with self.local.turn(url, 0), host_turn(self.conn, host, held=held) as wait:
            if (left := wait(gap)) > 0:
                self.sleep(left)
            yield
