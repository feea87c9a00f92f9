"""What a build tells its caller: the report, and the progress callback it calls on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

# progress(stage, done, total): "reading" counts sources, "writing" counts files rendered
# (total is an estimate: groups whose inputs did not change are skipped, not rendered).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class BuildReport:
    started: datetime
    sources_ok: int
    sources_failed: int
    articles_seen: int
    articles_new: int
    articles_total: int
    written: tuple[str, ...]
    unchanged: int
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. a tag page's yield dropped (tagfeed/building/incidents.py)
    sources_not_due: int = 0  # feeds whose next poll has not come: not read, not failed
    sources_gone: int = 0  # feeds that answered 410: never polled again
    # seconds per stage ("read", "settle", "write"), for /metrics: a measurement, not part of what the build did
    stages: tuple[tuple[str, float], ...] = field(default=(), compare=False, repr=False)
    read_by_source: tuple[tuple[str, int], ...] = ()  # articles each source gave this build (0: not read)

    def summary(self) -> str:
        warned = f"; warnings: {len(self.warnings)}" if self.warnings else ""
        idle = "".join(f", {n} {what}" for n, what in ((self.sources_not_due, "not due"),
                                                      (self.sources_gone, "gone")) if n)
        return (
            f"sources: {self.sources_ok} ok, {self.sources_failed} failed{idle}; "
            f"articles: {self.articles_seen} read, {self.articles_new} new, {self.articles_total} published; "
            f"files: {len(self.written)} written, {self.unchanged} unchanged; "
            f"errors: {len(self.errors)}{warned}"
        )
