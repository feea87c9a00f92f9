"""Politeness per host: one request at a time, and a minimum gap between two requests.

``HOSTS`` is the one gate of the process, so a build and a scheduled job of
``serve`` running at once still take turns on a shared host. The gap runs
from the end of one request to the start of the next. The clock and the
sleep come in as arguments, so tests need not really wait. It starts no
thread and does no I/O of its own.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol
from urllib.parse import urlsplit

def host_of(url: str) -> str:
    """The host a URL's requests land on; the port does not make another machine."""
    return (urlsplit(url).hostname or url).lower()


class Gate(Protocol):
    """What a fetch needs of a gate: hold ``url``'s host for one request (``tagfeed.poll.hostturns`` has one
    shared by processes)."""

    def turn(self, url: str, gap: float) -> contextlib.AbstractContextManager[None]: ...


class HostGate:
    """A lock and the end time of the last request, per host."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock = clock
        self.sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    @contextlib.contextmanager
    def turn(self, url: str, gap: float) -> Iterator[None]:
        """Hold ``url``'s host for one request, first waiting out the gap since the last one."""
        host = host_of(url)
        with self._lock(host):
            last = self._last.get(host)
            if last is not None and gap > 0:
                wait = last + gap - self.clock()
                if wait > 0:
                    self.sleep(wait)
            try:
                yield
            finally:
                self._last[host] = self.clock()


HOSTS = HostGate()
