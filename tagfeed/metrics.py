"""What this process saw, for ``GET /metrics``: fetches per source and the last build.

Plain counters in process memory, with no dependency: the poller and the build record here
(``Aggregator._poll``, ``server.run_build``), and ``tagfeed.serving.metrics`` turns them, with
the store's source states, into Prometheus metrics at scrape time. Nothing here is on the
server's hot path; one lock guards the counters against a scrape reading mid-update.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field



def status_class(status: int | None) -> str:
    """``2xx`` .. ``5xx`` for an HTTP answer, ``none`` when there was none (refused, timeout, DNS)."""
    return f"{status // 100}xx" if status is not None and 100 <= status < 600 else "none"


@dataclass
class SourceCounters:
    fetches: Counter[str] = field(default_factory=Counter)  # by status class
    not_modified: int = 0
    bytes: int = 0


@dataclass
class Recorder:
    """The process's counters; ``snapshot`` copies them for a scrape."""

    sources: dict[str, SourceCounters] = field(default_factory=dict)
    last_build: object | None = None  # the last good BuildReport (kept opaque: this module is a leaf)
    builds: Counter[str] = field(default_factory=Counter)  # "ok" / "failed"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fetched(self, url: str, status: int | None, size: int) -> None:
        with self.lock:
            counters = self.sources.setdefault(url, SourceCounters())
            counters.fetches[status_class(status)] += 1
            counters.not_modified += status == 304
            counters.bytes += size

    def built(self, report: object | None) -> None:
        """A build finished (its report), or failed (None): the last good report stays."""
        with self.lock:
            self.builds["ok" if report is not None else "failed"] += 1
            if report is not None:
                self.last_build = report

    def snapshot(self) -> tuple[dict[str, SourceCounters], object | None, Counter[str]]:
        with self.lock:
            sources = {name: SourceCounters(Counter(c.fetches), c.not_modified, c.bytes)
                       for name, c in self.sources.items()}
            return sources, self.last_build, Counter(self.builds)


RECORDER = Recorder()  # one per process, like the host gate
