"""One build: ingest every source, settle articles in the store, write the tree.

A source that fails is recorded (its error names the file or URL) and the
others still publish; what the store already holds stays published. The clock
comes in as ``now`` so tests can pin it.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from feeds.site import File, render_site
from feeds.urls import Urls
from feeds.staging import ensure_root
from feeds.write import has_twin, sweep_temp_files
from sources.model import Article
from tagfeed import __version__
from tagfeed.building.archive import plan_archives
from tagfeed.building.incidents import site_health
from tagfeed.building.ingest import Ingest, ingest_sources
from tagfeed.building.outputs import OutputIndex
from tagfeed.building.publish import open_publisher
from tagfeed.building.report import BuildReport, Progress
from tagfeed.building.views import plan_view_archives, view_scopes
from tagfeed.building.websub import changed_feed_urls, ping_hub
from tagfeed.config import Config
from tagfeed.poll.aggregate import user_agent
from tagfeed.store import settled
from tagfeed.store.locks import locked_store, settling_articles
from tagfeed.store.settle import settle
from tagfeed.store.sqlite import Store


def _drop_parse_cache(state_dir: Path) -> None:
    """Remove the parsed-dump cache an earlier version kept in ``state_dir/parsed`` (its own
    ``*.parsed`` files only): settled dumps (``tagfeed.store.settled``) made it redundant."""
    folder = state_dir / "parsed"
    if folder.is_dir() and not folder.is_symlink():
        for entry in folder.glob("*.parsed"):
            entry.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def _long_lived() -> Iterator[None]:
    """A build's ``gc.freeze()``s last until it ends. The articles read and loaded live through
    the whole build, yet each full collection of the cyclic garbage collector scanned them all
    again: 16 of them cost 5 s of a 10,000-tag cold build. Frozen objects are still freed by
    reference counting; only cycles among them wait for ``unfreeze``, which comes here."""
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """No cyclic collection while the sources are read, one at the end. Reading only adds
    objects that live through the build (the articles), and each collection of the older
    generations scanned all those read so far again: a quarter of the reading time of a
    1,000-tag cold build (1.5 s -> 1.15 s). The one collection at the end (0.1 s there)
    frees any cycle made meanwhile before ``gc.freeze`` keeps the rest."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            gc.collect()


def build(config: Config, now: datetime | None = None, progress: Progress | None = None, *,
          fetch_all: bool = False, poll_feeds: bool = True) -> BuildReport:
    """Ingest every source once, then write the whole output tree.

    External feeds are polled when due; ``fetch_all`` also polls those merely
    not due yet (never one that is gone, in backoff or under Retry-After). Without
    ``poll_feeds`` no feed is polled: ``tagfeed work`` polls them under leases.
    """
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    say = progress or (lambda stage, done, total: None)
    urls, agent = Urls(config.site.base_url), user_agent(config.site.base_url)  # one each per build, handed down
    if not config.site.output_url:  # before any work: a folder we cannot write to is one clear error
        ensure_root(config.site.output_dir)
    with locked_store(config.site) as store, _long_lived():
        clean_key = f"output_clean {config.site.output_dir}"
        if store.get_meta(clean_key) != "yes":  # the last build here was killed while writing: drop its temp files
            sweep_temp_files(config.site.output_dir)
        _drop_parse_cache(config.site.state_dir)
        markers = settled.load(store)  # dumps settled as they are: not parsed or settled again
        clock = _Stages()
        with _no_collections():
            ingest = ingest_sources(config, store, now, say, user_agent=agent, markers=markers,
                                    fetch_all=fetch_all, poll_feeds=poll_feeds)
        clock.lap("read")
        gc.freeze()  # what was read lives through the build (see _long_lived)
        with settling_articles(store):  # workers settle polled articles meanwhile
            new = settle(store, ingest.articles, now)
        ingest.write_sightings(store, now)
        settled.save(store, ingest.order, ingest.markers.items(), markers)  # only now: their articles are stored
        ingest.save_states()  # only now: the articles of every poll are stored
        clock.lap("settle")
        written, unchanged, total = _write_site(config, store, urls, now, ingest, say)
        clock.lap("write")
    if config.site.websub_hub:  # after the lock: a slow hub never holds up the next build
        ping_hub(config.site.websub_hub, changed_feed_urls(urls, written), user_agent=agent)
    return BuildReport(
        started=now, sources_ok=ingest.ok, sources_failed=len(ingest.errors),
        sources_not_due=ingest.not_due, sources_gone=ingest.gone,
        articles_seen=ingest.seen, articles_new=new, articles_total=total,
        written=tuple(written), unchanged=unchanged, errors=tuple(ingest.errors), warnings=tuple(ingest.warnings),
        stages=tuple(clock.laps), read_by_source=tuple(ingest.counts.items()),
    )


class _Stages:
    """Wall time per stage of one build, for /metrics (never in a file: outputs stay clock-free)."""

    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []
        self._start = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.laps.append((stage, now - self._start))
        self._start = now


def _write_site(config: Config, store: Store, urls: Urls, now: datetime, ingest: Ingest,
                say: Progress) -> tuple[Sequence[str], int, int]:
    """Render every group whose inputs changed and publish it; (paths written, unchanged, articles)."""
    digests: dict[str, bytes] = {}  # each article's fingerprint, from its stored row
    articles = list(store.articles(digests))
    gc.freeze()
    say("reading", ingest.units, ingest.units)
    archives = plan_archives(store, articles, config.site.max_items, config.site.archive_page_size)
    views = view_scopes(config.views, articles, now)
    view_archives = plan_view_archives(store, views, articles, config.site.max_items, config.site.archive_page_size)
    sources, status = site_health(store, config.site.title, urls, now,
                                  config.path.parent if config.path else None, ingest.names,
                                  version=__version__, hub=config.site.websub_hub or None)
    publisher = open_publisher(config.site, store)  # a local directory or s3://bucket/prefix
    outputs = OutputIndex(store, publisher.state)  # groups whose inputs did not change are skipped
    files = render_site(config.site.title, urls, articles, config.site.max_items, archives=archives,
                        fresh=outputs.fresh, sources=sources, hub=config.site.websub_hub or None,
                        article_digests=digests, version=__version__, views=views, view_archives=view_archives)
    files = _counted(itertools.chain(files, status), say, estimate_files(articles) + 4 * len(views))
    clean_key = f"output_clean {config.site.output_dir}"
    store.set_meta(clean_key, "no")
    report = publisher.publish_tree(files)
    outputs.commit()
    store.set_meta(clean_key, "yes")
    store.set_meta("last_build", now.isoformat())
    store.set_meta("last_build_errors", str(len(ingest.errors)))
    return report.written, report.unchanged + outputs.skipped_files, len(articles)


def estimate_files(articles: list[Article]) -> int:
    """Files a full render writes, ``.gz`` twins included (as the summary counts them): a page per
    article, four files per tag, and the site's own."""
    tags = {t.slug for a in articles for t in a.tags}
    return 2 * (len(articles) + 4 * len(tags) + 8)


def _counted(files: Iterable[File], say: Progress, total: int) -> Iterator[File]:
    done = 0
    for item in files:
        yield item
        done += 2 if has_twin(item[0]) else 1
        say("writing", done, total)
