"""What a build tells its caller: the report, and the progress callback it calls on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

    def summary(self) -> str:
        warned = f"; warnings: {len(self.warnings)}" if self.warnings else ""
        return (
            f"sources: {self.sources_ok} ok, {self.sources_failed} failed; "
            f"articles: {self.articles_seen} read, {self.articles_new} new, {self.articles_total} published; "
            f"files: {len(self.written)} written, {self.unchanged} unchanged; "
            f"errors: {len(self.errors)}{warned}"
        )
