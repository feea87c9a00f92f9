"""Which claimed feed a worker fetches next: one fetch in flight per host, the others go first.

A worker holds several claimed feeds at once and fetches a few of them in
parallel (``tagfeed.worker``). A feed waits here until no fetch of its own
host is under way in this process and its host's gap has passed (as far as
the worker knows: the shared turn in PostgreSQL has the last word), so one
host's turn holds up only that host's feeds. Among ready hosts the feed
claimed first goes first. With no gap (``per_host`` > 1) a host's turn is
only its request, so several of its feeds may be under way, their requests
taking turns while the rest of each poll overlaps. Pure: the clock comes in as ``now`` (monotonic
seconds); no thread, no I/O.
"""

from __future__ import annotations

import itertools
from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass
class HostQueue:
    """Claimed feeds by host, the hosts with a fetch in flight, and when each host is ready again."""

    per_host: int = 1  # fetches of one host in flight at once
    _queued: dict[str, deque[tuple[int, str]]] = field(default_factory=dict)  # host -> (seq, name)
    _busy: Counter[str] = field(default_factory=Counter)
    _ready_at: dict[str, float] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, name: str, host: str) -> None:
        self._queued.setdefault(host, deque()).append((next(self._seq), name))

    def take(self, now: float) -> tuple[str, str] | None:
        """The next (name, host) to fetch, its host now marked busy; None when no host is ready."""
        ready = [(q[0][0], host) for host, q in self._queued.items()
                 if self._busy[host] < self.per_host and self._ready_at.get(host, now) <= now]
        if not ready:
            return None
        _, host = min(ready)
        _, name = self._queued[host].popleft()
        if not self._queued[host]:
            del self._queued[host]
        self._busy[host] += 1
        return name, host

    def done(self, host: str, *, now: float, retry: str | None = None, after: float = 0.0) -> None:
        """The fetch for ``host`` ended; ``retry`` (a name) goes back first in line, ``after`` seconds on."""
        self._busy[host] -= 1
        self._ready_at[host] = now + after
        if retry is not None:
            self._queued.setdefault(host, deque()).appendleft((-1, retry))

    def wait(self, now: float) -> float | None:
        """Seconds until a queued feed's host is ready (0 if one is); None if none waits on a free host."""
        times = [self._ready_at.get(host, now) - now for host in self._queued
                 if self._busy[host] < self.per_host]
        return max(0.0, min(times)) if times else None

    def full(self) -> set[str]:
        """Hosts with ``per_host`` feeds queued: claiming more of them would only hoard."""
        return {host for host, q in self._queued.items() if len(q) >= self.per_host}

    def names(self) -> list[str]:
        return [name for q in self._queued.values() for _, name in q]

    def __len__(self) -> int:
        return sum(len(q) for q in self._queued.values())
