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
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from sources.hostgate import HOSTS, HostGate, host_of
from tagfeed.store.hostturns import host_turn



class SharedHostGate:
    """One request at a time per host among every process on the store, ``gap`` seconds apart."""

    def __init__(self, conn: Any, local: HostGate = HOSTS, sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn, self.local, self.sleep = conn, local, sleep

    @contextlib.contextmanager
    def turn(self, url: str, gap: float) -> Iterator[None]:
        host = host_of(url)
        with self.local.turn(url, 0), host_turn(self.conn, host) as wait:
            if (left := wait(gap)) > 0:
                self.sleep(left)
            yield
