"""The /healthz document: the last build this process ran, and every source's state from the store.

``health_status`` is pure; ``read_health`` reads the store and the output tree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tagfeed.building.report import BuildReport
from tagfeed.config import Config
from tagfeed.errors import TagfeedError
from tagfeed.poll.pages import FEED_NOTE
from tagfeed.store.postgres import open_store
from tagfeed.store.sqlite import SourceState



class BuildTracker:
    """The outcome of the last build this process ran, for /healthz; replaced whole, never mutated."""

    last: dict[str, Any] | None = None

    def succeeded(self, report: BuildReport) -> None:
        self.last = {"at": report.started.isoformat(), "ok": True, "summary": report.summary(),
                     "errors": list(report.errors), "warnings": list(report.warnings)}

    def failed(self, error: BaseException) -> None:
        self.last = {"at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(), "ok": False,
                     "summary": None, "errors": [f"{type(error).__name__}: {error}"]}


_SOURCE_FIELDS = ("name", "kind", "state", "last_error", "last_ok", "next_fetch", "error_count", "article_count")


def _source_json(state: SourceState, note: str | None = None) -> dict[str, Any]:
    """One source's state; ``note`` is what its last poll had to say (a page's own feed)."""
    values = {key: getattr(state, key) for key in _SOURCE_FIELDS}
    if state.state == "gone":  # never fetched again: no date far in the future
        values["next_fetch"] = None
    out = {key: v.isoformat() if isinstance(v, datetime) else v for key, v in values.items()}
    return {**out, "note": note} if note else out


def health_status(last_build: str | None, errors: int, articles: int, sources: list[SourceState],
                  published: bool, build: dict[str, Any] | None) -> str:
    """failing (503): nothing useful is served; degraded: served, but something failed; else ok."""
    all_failed = errors > 0 and articles == 0 and not any(s.state == "ok" for s in sources)
    if last_build is None or not published or all_failed:
        return "failing"
    if errors or (build and not build["ok"]) or any(s.state != "ok" for s in sources):
        return "degraded"
    return "ok"


def read_health(config: Config, tracker: BuildTracker) -> dict[str, Any]:
    build = tracker.last
    published = (config.site.output_dir / "index.html").is_file()
    try:
        with open_store(config.site) as store:
            last_build, errors = store.get_meta("last_build"), int(store.get_meta("last_build_errors") or 0)
            sources, articles = store.sources(), store.count_articles()
            notes = {s.name: store.get_meta(FEED_NOTE + s.name) for s in sources if s.kind == "page"}
    except (TagfeedError, ValueError) as exc:
        return {"status": "failing", "last_build": None, "last_build_errors": None, "sources": [],
                "build": build, "error": str(exc)}
    return {"status": health_status(last_build, errors, articles, sources, published, build),
            "last_build": last_build, "last_build_errors": errors, "articles": articles,
            "sources": [_source_json(s, notes.get(s.name)) for s in sources], "build": build}
