"""One build: ingest every source, settle articles in the store, write the tree.

A source that fails is recorded (its error names the file or URL) and the
others still publish; what the store already holds stays published. The clock
comes in as ``now`` so tests can pin it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import gc
import glob
import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import cast

from feeds.site import File, render_site
from feeds.urls import Urls
from feeds.write import sweep_temp_files
from sources.model import Article, merge, unite_authors, unite_enclosures
from sources.tagpage import parse_tagpage_bytes, read_dump
from tagfeed.aggregate import Aggregator, user_agent
from tagfeed.archive import plan_archives
from tagfeed.config import Config, FeedSource, SiteConfig, TagPageSource
from tagfeed.errors import StoreError, TagPageError
from tagfeed.health import record_low_yield, site_health, yield_warning
from tagfeed.locks import BUILD_LOCK, advisory_lock, settling
from tagfeed.outputs import OutputIndex
from tagfeed.pgstore import PgStore, open_store
from tagfeed import settled
from tagfeed.provenance import Sightings, seen_again
from tagfeed.publish import open_publisher
from tagfeed.store import SourceState, Store, article_from_json, content_hash
from tagfeed.settled import Marker, dump_key
from tagfeed.websub import changed_feed_urls, ping_hub

log = logging.getLogger("tagfeed.build")
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
    warnings: tuple[str, ...] = ()  # e.g. a tag page's yield dropped (tagfeed/health.py)

    def summary(self) -> str:
        warned = f"; warnings: {len(self.warnings)}" if self.warnings else ""
        return (
            f"sources: {self.sources_ok} ok, {self.sources_failed} failed; "
            f"articles: {self.articles_seen} read, {self.articles_new} new, {self.articles_total} published; "
            f"files: {len(self.written)} written, {self.unchanged} unchanged; "
            f"errors: {len(self.errors)}{warned}"
        )


@dataclass(frozen=True, slots=True)
class _Quiet:
    """A dump read as a completed build settled it (``tagfeed.settled``): not parsed unless
    another source gave one of its articles this build."""

    path: Path
    data: bytes
    marker: Marker

    def parse(self) -> list[Article]:
        return parse_tagpage_bytes(self.data, source=str(self.path))


@dataclass
class _Ingest:
    """What one build read, in source order; ``gather`` merges it by id, in first-seen order."""

    articles: dict[str, Article] = field(default_factory=dict)
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # every configured source, read this build or not
    sightings: Sightings = field(default_factory=Sightings)  # (id, source) -> its tags, for explain
    read: list[list[Article] | _Quiet] = field(default_factory=list)  # each source read, in order
    order: list[str] = field(default_factory=list)  # names of the sources read, in order
    markers: dict[str, Marker] = field(default_factory=dict)  # dumps parsed this build, to mark settled
    seen: int = 0  # distinct articles read, quiet dumps' included

    def add(self, found: list[Article]) -> None:
        for article in found:
            self.sightings.add(article)
            old = self.articles.get(article.id)
            self.articles[article.id] = merge(old, article) if old else article

    def gather(self) -> None:
        """Merge everything from parsed dumps and feeds and, from quiet dumps, only the articles
        those gave too (merging is per article, in source order: each result is a full read's)."""
        wanted = {a.id for found in self.read if isinstance(found, list) for a in found}
        quiet_ids: set[str] = set()
        for found in self.read:
            if isinstance(found, list):
                self.add(found)
                continue
            quiet_ids.update(found.marker.ids)
            if wanted.intersection(found.marker.ids):
                self.add([a for a in found.parse() if a.id in wanted])
        self.seen = len(wanted | quiet_ids)

    def write_sightings(self, store: Store, now: datetime) -> None:
        """Store this build's sightings; a quiet dump's only move ``last_seen``, unless its rows are
        missing (a store that lost the table): then they are written from its parsed articles."""
        self.sightings.write(store, now)
        quiet = {str(q.path): q for q in self.read if isinstance(q, _Quiet)}
        missing = seen_again(store, now, {name: q.marker.ids for name, q in quiet.items()})
        if missing:
            again = Sightings()
            for name in missing:
                for article in quiet[name].parse():
                    again.add(article)
            again.write(store, now)


def expand_paths(source: TagPageSource) -> list[Path]:
    """Each configured path or glob, relative to the config; a glob matching nothing is an error."""
    found: list[Path] = []
    for pattern in source.paths:
        full = source.root / pattern
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(full)))
            if not matches:
                raise TagPageError(str(full), "no file matches this pattern")
            found.extend(matches)
        else:
            found.append(full)
    return found


def _ingest_tagpages(source: TagPageSource, store: Store, ingest: _Ingest, now: datetime,
                     markers: dict[str, Marker], states: dict[str, SourceState]) -> None:
    """Read each dump of ``source``: parsed when it changed, else noted as quiet. ``states`` holds
    every source's state by name, loaded once a build, and gets the new ones."""
    recorded: list[SourceState] = []
    try:
        paths = expand_paths(source)
    except TagPageError as exc:
        recorded.append(_record(states.get(str(exc.path)), str(exc.path), "tagpage", now, error=str(exc),
                                ingest=ingest))
        paths = []
    for path in paths:
        name = str(path)
        try:
            data = read_dump(path)
            key = dump_key(data)
            marker = markers.get(name)
            if marker is not None and marker.key == key:  # as settled: its articles are stored as they are
                ingest.read.append(_Quiet(path, data, marker))
                count = len(marker.ids)
            else:
                found = parse_tagpage_bytes(data, source=name)
                ingest.read.append(found)
                ingest.markers[name] = Marker(key, tuple(a.id for a in found))
                count = len(found)
        except TagPageError as exc:
            recorded.append(_record(states.get(name), name, "tagpage", now, error=str(exc), ingest=ingest))
            continue
        ingest.order.append(name)
        ingest.names.add(name)
        if warning := yield_warning(states.get(name), name, count):
            log.warning("%s", warning)
            ingest.ok += 1
            ingest.warnings.append(warning)
            record_low_yield(store, name, now, warning)
            continue
        recorded.append(_record(states.get(name), name, "tagpage", now, count=count, ingest=ingest))
    states.update((state.name, state) for state in recorded)
    store.put_sources(recorded)


def _drop_parse_cache(state_dir: Path) -> None:
    """Remove the parsed-dump cache an earlier version kept in ``state_dir/parsed`` (its own
    ``*.parsed`` files only): settled dumps (``tagfeed.settled``) made it redundant."""
    folder = state_dir / "parsed"
    if folder.is_dir() and not folder.is_symlink():
        for entry in folder.glob("*.parsed"):
            entry.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


def _record(old: SourceState | None, name: str, kind: str, now: datetime, *, ingest: _Ingest,
            error: str | None = None, count: int = 0) -> SourceState:
    """The source's new state after this read (its old one, if any, given)."""
    ingest.names.add(name)
    old = old or SourceState(name=name, kind=kind)
    if error:
        log.error("%s", error)
        ingest.errors.append(error)
        return dataclasses.replace(old, state="error", last_error=error, last_attempt=now,
                                   error_count=old.error_count + 1)
    ingest.ok += 1
    return dataclasses.replace(old, state="ok", last_error=None, last_ok=now, last_attempt=now,
                               error_count=0, article_count=count)


def settle(store: Store, found: dict[str, Article], now: datetime) -> int:
    """Give each article its dates from the store; returns how many were new.

    ``found`` is in first-seen order (sources in config order, each page top
    to bottom). The n-th new article (from 0) is dated ``now`` minus n+1
    seconds: a page's order (newest first) survives as date order, no two new
    articles share a date (readers and the W3C validator dislike identical
    ``updated``), and no date equals the second a reader may poll in (newsboat
    takes a date that is not in the past for no date at all).
    A known article keeps its ``published``; ``updated`` moves only when its
    content changed.
    """
    settled: list[Article] = []
    new = 0
    stored = store.article_rows(found)  # one query, not one per article
    for article_id, article in found.items():
        row = stored.get(article_id)
        if row is None:
            when = article.published or now - timedelta(seconds=new + 1)
            settled.append(dataclasses.replace(article, published=when, updated=article.updated or when))
            new += 1
            continue
        data, old_hash = row
        if _unchanged(data, old_hash, article):
            continue
        old = article_from_json(data)
        merged = reconcile(old, article)
        changed = content_hash(merged) != old_hash
        if changed or merged.tags != old.tags:
            settled.append(dataclasses.replace(
                merged, published=old.published,
                updated=_next_updated(old.updated, article.updated, now) if changed else old.updated))
    store.put_articles(settled)
    return new


def _unchanged(data: str, old_hash: str, article: Article) -> bool:
    """True when settling ``article`` against the stored row would store nothing: seen
    again from the same source with the same content hash and no tag the row lacks.
    (From the same source ``reconcile`` keeps the new text and unites the tags, so the
    hash is the new article's and the tags are the old ones exactly when nothing new
    came in.) Anything else, or any doubt, goes the long way through ``reconcile``."""
    stored = json.loads(data)
    if stored.get("source") != article.source:
        return False
    old_tags = [(slug, name) for slug, name in stored["tags"]]
    united = dict(old_tags)
    for tag in article.tags:
        united[tag.slug] = tag.name
    if sorted(united.items()) != old_tags:
        return False
    return content_hash(article) == old_hash


def reconcile(old: Article, new: Article) -> Article:
    """A stored article seen again. From the same source the new text wins (the
    page or feed was edited, even to something shorter); from another source the
    fuller text wins. Tags, authors and enclosures are always united (the new
    reading's first) and a lost image is kept; dates are settled by the caller."""
    undated = dataclasses.replace(new, published=None, updated=None)
    if new.source != old.source:
        return merge(old, undated)
    tags = {t.slug: t for t in (*old.tags, *new.tags)}
    return dataclasses.replace(undated, tags=tuple(sorted(tags.values())),
                               authors=unite_authors(new.authors, old.authors),
                               enclosures=unite_enclosures(new.enclosures, old.enclosures),
                               image=new.image or old.image)


def _next_updated(old: datetime | None, upstream: datetime | None, now: datetime) -> datetime:
    """The upstream ``updated`` when it moved forward, else the time we saw the change."""
    if upstream is not None and (old is None or upstream > old):
        return upstream
    return max(now, old or now)


@contextlib.contextmanager
def build_lock(state_dir: Path) -> Iterator[None]:
    """One build at a time per state dir (``serve``'s scheduler and a manual ``build`` alike)."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(state_dir / "build.lock", "w")
    except OSError as exc:
        raise StoreError(f"{state_dir}: cannot take the build lock: {exc.strerror or exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
def locked_store(site: SiteConfig) -> Iterator[Store]:
    """The store, holding the build lock: a PostgreSQL advisory lock when the store is
    shared by workers (``tagfeed.locks``), else the file lock in ``state_dir``."""
    if not site.store:
        with build_lock(site.state_dir), open_store(site) as store:
            yield store
        return
    with open_store(site) as store, advisory_lock(cast(PgStore, store).conn, BUILD_LOCK):
        yield store


def _settling(store: Store) -> contextlib.AbstractContextManager[None]:
    return settling(store.conn) if isinstance(store, PgStore) else contextlib.nullcontext()


def build(config: Config, now: datetime | None = None, progress: Progress | None = None, *,
          fetch_all: bool = False, poll_feeds: bool = True) -> BuildReport:
    """Ingest every source once, then write the whole output tree.

    External feeds are polled when due; ``fetch_all`` also polls those merely
    not due yet (never one that is gone, in backoff or under Retry-After). Without
    ``poll_feeds`` no feed is polled: ``tagfeed work`` polls them under leases.
    """
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    say = progress or (lambda stage, done, total: None)
    ingest = _Ingest()
    with locked_store(config.site) as store, _long_lived():
        clean_key = f"output_clean {config.site.output_dir}"
        if store.get_meta(clean_key) != "yes":  # the last build here was killed while writing: drop its temp files
            sweep_temp_files(config.site.output_dir)
        aggregator = Aggregator(store, now, base_url=config.site.base_url, fetch_all=fetch_all,
                                host_gap=config.site.host_gap, defer_states=True)
        shared = isinstance(store, PgStore)  # workers may poll too: feeds only under leases, as theirs
        markers = settled.load(store)  # dumps settled as they are: not parsed or settled again
        _drop_parse_cache(config.site.state_dir)
        states = {state.name: state for state in store.sources()}
        for done, source in enumerate(config.sources):
            say("reading", done, len(config.sources))
            if isinstance(source, TagPageSource):
                _ingest_tagpages(source, store, ingest, now, markers, states)
            elif isinstance(source, FeedSource) and (not poll_feeds or shared):
                ingest.names.add(source.url)
            elif isinstance(source, FeedSource):
                _ingest_feed(source, aggregator, ingest)
        if not settled.same_order(store, ingest.order):  # merging depends on source order: read all
            ingest.read = [q.parse() if isinstance(q, _Quiet) else q for q in ingest.read]
        ingest.gather()
        gc.freeze()  # what was read lives through the build (see _long_lived)
        if shared and poll_feeds:
            _poll_shared(config, cast(PgStore, store), ingest, fetch_all)
        with _settling(store):  # workers settle polled articles meanwhile
            new = settle(store, ingest.articles, now)
        ingest.write_sightings(store, now)
        settled.save(store, ingest.order, ingest.markers.items(), markers)  # only now: their articles are stored
        aggregator.save_states()  # only now: the articles of every poll are stored
        digests: dict[str, bytes] = {}  # each article's fingerprint, from its stored row
        articles = list(store.articles(digests))
        gc.freeze()
        say("reading", len(config.sources), len(config.sources))
        urls = Urls(config.site.base_url)
        archives = plan_archives(store, articles, config.site.max_items, config.site.archive_page_size)
        sources, status = site_health(store, config.site.title, urls, now,
                                      config.path.parent if config.path else None, ingest.names,
                                      hub=config.site.websub_hub or None)
        publisher = open_publisher(config.site, store)  # a local directory or s3://bucket/prefix
        outputs = OutputIndex(store, publisher.state)  # groups whose inputs did not change are skipped
        files = render_site(config.site.title, urls, articles, config.site.max_items, archives=archives,
                            fresh=outputs.fresh, sources=sources, hub=config.site.websub_hub or None,
                            article_digests=digests)
        # a local directory or s3://bucket/prefix (tagfeed/publish.py)
        files = _counted(itertools.chain(files, [status]), say, estimate_files(articles))
        store.set_meta(clean_key, "no")
        report = publisher.publish_tree(files)
        outputs.commit()
        store.set_meta(clean_key, "yes")
        store.set_meta("last_build", now.isoformat())
        store.set_meta("last_build_errors", str(len(ingest.errors)))
    if config.site.websub_hub:  # after the lock: a slow hub never holds up the next build
        ping_hub(config.site.websub_hub, changed_feed_urls(urls, report.written),
                 user_agent=user_agent(config.site.base_url))
    return BuildReport(
        started=now, sources_ok=ingest.ok, sources_failed=len(ingest.errors),
        articles_seen=ingest.seen, articles_new=new, articles_total=len(articles),
        written=tuple(report.written), unchanged=report.unchanged + outputs.skipped_files,
        errors=tuple(ingest.errors), warnings=tuple(ingest.warnings),
    )


def estimate_files(articles: list[Article]) -> int:
    """Files a full render writes: a page per article, four files per tag, and the site's own."""
    tags = {t.slug for a in articles for t in a.tags}
    return len(articles) + 4 * len(tags) + 8


def _counted(files: Iterable[File], say: Progress, total: int) -> Iterator[File]:
    done = 0
    for item in files:
        yield item
        done += 1
        say("writing", done, total)


def _poll_shared(config: Config, store: PgStore, ingest: _Ingest, fetch_all: bool) -> None:
    """Poll the due feeds of a store shared with workers as a worker does (``tagfeed.worker``):
    under leases, politely per host across processes, each poll's articles stored with its state."""
    from tagfeed.worker import poll_due  # lazily: the worker module imports this one

    for url, error in poll_due(config, store, fetch_all=fetch_all):
        if error:
            log.error("%s", error)
            ingest.errors.append(error)
        else:
            ingest.ok += 1


def _ingest_feed(source: FeedSource, aggregator: Aggregator, ingest: _Ingest) -> None:
    """Poll one feed when due (tagfeed.aggregate keeps its state); failures go to the report."""
    poll = aggregator.poll(source)
    ingest.names.add(source.url)
    ingest.order.append(source.url)
    if poll.error:
        log.error("%s", poll.error)
        ingest.errors.append(poll.error)
    elif poll.polled:
        ingest.ok += 1
    ingest.read.append(list(poll.articles))
