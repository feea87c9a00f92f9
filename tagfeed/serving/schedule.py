"""``tagfeed serve``'s schedule: each feed polled on its own ``every``, a build only when it is needed.

Each tick (the shortest feed period, at most ``build_every``) polls the feeds
that are due, as a build would (the same ``Aggregator``: conditional GET,
backoff, Retry-After, per-host turns), and settles what a poll brought into the
store at once, as a worker does (``tagfeed.poll.shared.settle_polled``; a feed's
new state is stored only after its articles). The tick then builds when a poll
changed a stored article, when a tag-page dump's size or mtime moved, or when
``build_every`` has passed since the last build. A poll answered 304, or with
the same entries, costs no build. On a store shared with workers the workers
poll, so a tick only builds.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sources.model import Article, merge
from tagfeed.building.ingest import expand_paths
from tagfeed.config import Config, FeedSource, TagPageSource
from tagfeed.errors import TagfeedError
from tagfeed.metrics import RECORDER
from tagfeed.poll.aggregate import Aggregator, user_agent
from tagfeed.serving.healthz import BuildTracker
from tagfeed.store.locks import locked_store
from tagfeed.store.provenance import Sightings
from tagfeed.store.settle import settle
from tagfeed.store.sqlite import Store

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("tagfeed.serving.schedule")


def tick_seconds(config: Config) -> int:
    """How often ``serve`` ticks: the shortest feed period, at most ``build_every``."""
    return min([config.build_every, *(s.every for s in config.sources if isinstance(s, FeedSource))])


@dataclass
class Ticker:
    """What one ``serve`` process remembers between ticks: when it last built, and the dumps' stats."""

    config: Config
    clock: Callable[[], float] = time.monotonic
    last_build: float | None = None
    dumps: dict[str, tuple[int, int]] = field(default_factory=dict)

    def built(self) -> None:
        """A build ran (at start, or because a tick asked for one)."""
        self.last_build = self.clock()
        self.dumps = self._dump_stats()

    def tick(self, now: datetime | None = None) -> bool:
        """Poll the due feeds; True when a build should follow."""
        changed = False if self.config.site.store else self.poll(now or datetime.now(timezone.utc))
        if changed:
            return True
        if self.last_build is None or self.clock() - self.last_build >= self.config.build_every:
            return True
        return self._dump_stats() != self.dumps

    def poll(self, now: datetime) -> bool:
        """Poll every due feed and settle what each brought; True when a stored article changed."""
        feeds = [s for s in self.config.sources if isinstance(s, FeedSource)]
        if not feeds:
            return False
        now = now.replace(microsecond=0)
        changed = False
        with locked_store(self.config.site) as store:
            aggregator = Aggregator(store, now, user_agent=user_agent(self.config.site.base_url),
                                    host_gap=self.config.site.host_gap,
                                    allow_private_hosts=self.config.site.allow_private_hosts, defer_states=True)
            for source in feeds:
                poll = aggregator.poll(source)
                if poll.error:
                    log.error("%s", poll.error)
                if poll.articles:
                    changed |= _settle_one(store, poll.articles, now)
                aggregator.save_states()  # each poll's state after its articles
        return changed

    def _dump_stats(self) -> dict[str, tuple[int, int]]:
        """(mtime, size) of every configured dump: a build reads the ones that moved."""
        stats: dict[str, tuple[int, int]] = {}
        for source in self.config.sources:
            if not isinstance(source, TagPageSource):
                continue
            paths, _ = expand_paths(source)  # a glob matching nothing: the build reports it
            for path in paths:
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                stats[str(path)] = (st.st_mtime_ns, st.st_size)
        return stats


def _settle_one(store: Store, articles: tuple[Article, ...], now: datetime) -> bool:
    """Date and store one poll's articles (and their sightings); True when a stored row changed."""
    found: dict[str, Article] = {}
    sightings = Sightings()
    for article in articles:
        sightings.add(article)
        old = found.get(article.id)
        found[article.id] = merge(old, article) if old else article
    before = store.article_rows(found)
    settle(store, found, now)
    sightings.write(store, now)
    return store.article_rows(found) != before


def run_build(config: Config, tracker: BuildTracker) -> None:
    """One build; a failure is logged and kept for /healthz, never raised into the server."""
    try:
        from tagfeed.building.pipeline import build  # lazily: the app serves a tree even without the pipeline

        report = build(config)
    except TagfeedError as exc:  # ours names the file or key: one line, no traceback
        log.error("build failed: %s; retrying in %ss", exc, config.build_every)
        tracker.failed(exc)
        RECORDER.built(None)
        return
    except Exception as exc:  # noqa: BLE001 - any failure waits for the next scheduled try
        log.exception("build failed; retrying in %ss", config.build_every)
        tracker.failed(exc)
        RECORDER.built(None)
        return
    tracker.succeeded(report)
    RECORDER.built(report)
    log.info("build: %s", report.summary())


def scheduled(config: Config, tracker: BuildTracker, ticker: Ticker) -> None:
    """One tick: poll the due feeds, and build only if a poll or a dump changed something or
    ``build_every`` has passed (``tagfeed.serving.schedule``). Never raises into the scheduler."""
    try:
        due = ticker.tick()
    except Exception:  # noqa: BLE001 - a failed poll round waits for the next tick, like a failed build
        log.exception("polling failed; the next tick retries")
        return
    if due:
        run_build(config, tracker)
        ticker.built()


def start_scheduler(config: Config, tracker: BuildTracker, ticker: Ticker) -> BackgroundScheduler:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=timezone.utc)
    every = tick_seconds(config)
    scheduler.add_job(scheduled, "interval", seconds=every, args=(config, tracker, ticker),
                      id="tick", max_instances=1, coalesce=True, misfire_grace_time=max(1, every))
    scheduler.start()
    return scheduler
