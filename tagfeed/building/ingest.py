"""Reading every source of one build, in config order: tag-page dumps and external feeds.

What a source gives is kept in source order and merged by id afterwards
(``Ingest.gather``). A source that fails, whatever raised, is that source's
recorded failure (``tagfeed.errors.Failure``) and one line in the report; the
others are read on. A dump whose bytes are as a completed build settled them
(``tagfeed.store.settled``) is not parsed again unless another source gave one
of its articles.
"""

from __future__ import annotations

import functools
import glob
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from sources.model import Article, merge
from sources.page.articles import distinct_across
from sources.tagpage import parse_tagpage_bytes, read_dump
from tagfeed.building.incidents import record_low_yield
from tagfeed.building.rules import Rules, admitter, rules_fingerprint, verdict_row
from tagfeed.store.records import yield_warning
from tagfeed.config import Config, FeedSource, PageSource, TagPageSource
from tagfeed.errors import INTERNAL, Failure, SourceError, StoreError, TagPageError, unexpected
from tagfeed.poll.aggregate import Aggregator
from tagfeed.poll.shared import poll_due
from tagfeed.building.report import Progress
from tagfeed.store import settled
from tagfeed.store.postgres import PgStore
from tagfeed.store.provenance import Sightings, seen_again
from tagfeed.store.settled import Marker, dump_key
from tagfeed.store.sqlite import SourceState, Store, article_from_json

log = logging.getLogger("tagfeed.building.ingest")
bugs = logging.getLogger("tagfeed.bugs")  # a bug of ours met while reading a source: never silenced


@dataclass(frozen=True, slots=True)
class Quiet:
    """A dump read as a completed build settled it (``tagfeed.store.settled``): not parsed unless
    another source gave one of its articles this build."""

    path: Path
    data: bytes
    marker: Marker
    admit: Callable[[list[Article]], list[Article]] | None = None  # its source's keep/block rules

    def parse(self) -> list[Article]:
        found = parse_tagpage_bytes(self.data, source=str(self.path))
        return self.admit(found) if self.admit else found


@dataclass
class Ingest:
    """What one build read, in source order; ``gather`` merges it by id, in first-seen order."""

    articles: dict[str, Article] = field(default_factory=dict)
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # every configured source, read this build or not
    sightings: Sightings = field(default_factory=Sightings)  # (id, source) -> its tags, for explain
    read: list[list[Article] | Quiet] = field(default_factory=list)  # each source read, in order
    order: list[str] = field(default_factory=list)  # names of the sources read, in order
    markers: dict[str, Marker] = field(default_factory=dict)  # dumps parsed this build, to mark settled
    seen: int = 0  # distinct articles read, quiet dumps' included
    not_due: int = 0  # feeds not polled this build: their time has not come
    gone: int = 0  # feeds not polled any more (HTTP 410)
    counts: dict[str, int] = field(default_factory=dict)  # articles each source gave this build (/metrics)
    units: int = 0  # what the reading bar counted: dumps, globs matching nothing, feeds
    aggregator: Aggregator | None = None  # this build's polling, holding each poll's new state
    rules: Rules = field(default_factory=Rules)  # keep/block rules, and what they decided this build

    def save_states(self) -> None:
        """Store the polled feeds' new states, once their articles are stored (``Aggregator.save_states``)."""
        if self.aggregator is not None:
            self.aggregator.save_states()

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
        if self.rules.read:
            when = now.isoformat()
            store.replace_verdicts(sorted(self.rules.read), [verdict_row(v, when) for v in self.rules.verdicts])
        quiet = {str(q.path): q for q in self.read if isinstance(q, Quiet)}
        missing = seen_again(store, now, {name: q.marker.ids for name, q in quiet.items()})
        if missing:
            again = Sightings()
            for name in missing:
                for article in quiet[name].parse():
                    again.add(article)
            again.write(store, now)


def expand_paths(source: TagPageSource) -> tuple[list[Path], list[Path]]:
    """Each configured path or glob, relative to the config: (the files, the globs matching nothing).
    A glob that matches nothing is that glob's failure only; the others are still read."""
    found: list[Path] = []
    missing: list[Path] = []
    for pattern in source.paths:
        full = source.root / pattern
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(full)))
            found.extend(matches)
            if not matches:
                missing.append(full)
        else:
            found.append(full)
    return found, missing


def ingest_tagpages(source: TagPageSource, store: Store, ingest: Ingest, now: datetime,
                     markers: dict[str, Marker], states: dict[str, SourceState],
                     expanded: tuple[list[Path], list[Path]], tick: Callable[[], None]) -> None:
    """Read each dump of ``source`` (``expanded``: its files and the globs matching nothing): parsed
    when it changed, else noted as quiet. ``states`` holds every source's state by name, loaded once
    a build, and gets the new ones. ``tick`` counts one source done (the progress bar)."""
    recorded: list[SourceState] = []
    rules = ingest.rules.for_source(source)
    paths, missing = expanded
    for pattern in missing:
        error = TagPageError(str(pattern), "no file matches this pattern")
        recorded.append(_record(states.get(str(pattern)), str(pattern), "tagpage", now,
                                failure=_read_failure(str(pattern), error), ingest=ingest))
        tick()
    for path in paths:
        tick()
        name = str(path)
        try:
            data = read_dump(path)
            key = dump_key(data) + rules_fingerprint(rules)  # a rule changed: read again
            marker = markers.get(name)
            admit = functools.partial(ingest.rules.apply, rules, name) if rules else None
            if marker is not None and marker.key == key:  # as settled: its articles are stored as they are
                ingest.read.append(Quiet(path, data, marker, admit))
                count = len(marker.ids)
            else:
                found = parse_tagpage_bytes(data, source=name)
                found = admit(found) if admit else found
                ingest.read.append(found)
                ingest.markers[name] = Marker(key, tuple(a.id for a in found))
                count = len(found)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - one unreadable dump is that dump's failure only
            recorded.append(_record(states.get(name), name, "tagpage", now, failure=_read_failure(name, exc),
                                    ingest=ingest))
            continue
        ingest.order.append(name)
        ingest.names.add(name)
        ingest.counts[name] = count
        if warning := yield_warning(states.get(name), name, count):
            log.warning("%s", warning)
            ingest.ok += 1
            ingest.warnings.append(warning)
            record_low_yield(store, name, now, warning)
            continue
        recorded.append(_record(states.get(name), name, "tagpage", now, count=count, ingest=ingest))
    states.update((state.name, state) for state in recorded)
    store.put_sources(recorded)


def _record(old: SourceState | None, name: str, kind: str, now: datetime, *, ingest: Ingest,
            failure: Failure | None = None, count: int = 0) -> SourceState:
    """The source's new state after this read (its old one, if any, given)."""
    ingest.names.add(name)
    old = old or SourceState(name=name, kind=kind)
    if failure:
        ingest.errors.append(failure.message)
        return old.failed(failure, state="error", last_attempt=now, error_count=old.error_count + 1)
    ingest.ok += 1
    return old.failed(None, state="ok", last_ok=now, last_attempt=now, error_count=0, article_count=count)


def _read_failure(name: str, exc: Exception) -> Failure:
    """What reading one dump raised, as its failure: a ``TagPageError`` as it is, anything
    else through ``unexpected``; a bug of ours also gets its traceback logged."""
    failure = exc.failure() if isinstance(exc, SourceError) else unexpected(name, exc)
    log.error("%s", failure.message)
    if failure.kind == INTERNAL:
        bugs.error("%s", failure.message, exc_info=exc)
    return failure


def poll_shared(config: Config, store: PgStore, ingest: Ingest, fetch_all: bool, agent: str) -> None:
    """Poll the due feeds of a store shared with workers as a worker does (``tagfeed.worker``):
    under leases, politely per host across processes, each poll's articles stored with its state."""
    for url, error in poll_due(config, store, user_agent=agent, fetch_all=fetch_all, admit=admitter(config)):
        if error:
            log.error("%s", error)
            ingest.errors.append(error)
        else:
            ingest.ok += 1


def ingest_feed(source: FeedSource | PageSource, aggregator: Aggregator, ingest: Ingest) -> None:
    """Poll one feed or page when due (tagfeed.poll.aggregate keeps its state); failures go to the report."""
    poll = aggregator.poll(source)
    ingest.warnings.extend(poll.notes)
    ingest.names.add(source.url)
    ingest.counts[source.url] = len(poll.articles)
    ingest.order.append(source.url)
    if poll.error:
        log.error("%s", poll.error)
        ingest.errors.append(poll.error)
    elif poll.polled:
        ingest.ok += 1
    elif poll.gone:
        ingest.gone += 1
    else:
        ingest.not_due += 1
    ingest.read.append(ingest.rules.apply(ingest.rules.for_source(source), source.url, poll.articles))


def _distinct_page_dates(store: Store, ingest: Ingest, pages: list[int]) -> None:
    """New page items of several pages dated alike (days only) made distinct (``distinct_across``)."""
    lists = [cast(list[Article], ingest.read[i]) for i in pages]
    if len(lists) < 2:
        return  # one page's dates are distinct already (sources.page.articles.distinct_dates)
    rows = store.article_rows({a.id for found in lists for a in found})
    known = {i: article_from_json(data).published for i, (data, _) in rows.items()}
    for i, found in zip(pages, distinct_across(lists, known)):
        ingest.read[i] = found


def ingest_sources(config: Config, store: Store, now: datetime, say: Progress, *, user_agent: str,
                   markers: dict[str, Marker], fetch_all: bool, poll_feeds: bool) -> Ingest:
    """Read every configured source once, in order, and merge what they gave (``Ingest.gather``).

    Feeds are polled when due; on a store shared with workers only under leases, as a worker
    does. Each poll's new state waits in ``ingest.aggregator`` until its articles are stored.
    """
    aggregator = Aggregator(store, now, user_agent=user_agent, fetch_all=fetch_all,
                            host_gap=config.site.host_gap, allow_private_hosts=config.site.allow_private_hosts,
                            defer_states=True)
    ingest = Ingest(aggregator=aggregator, rules=Rules.of(config, now))
    shared = isinstance(store, PgStore)  # workers may poll too: feeds only under leases, as theirs
    states = {state.name: state for state in store.sources()}
    # the bar counts what the summary counts: each dump, each glob matching nothing, each feed
    expanded = {i: expand_paths(s) for i, s in enumerate(config.sources) if isinstance(s, TagPageSource)}
    total = sum(len(e[0]) + len(e[1]) for e in expanded.values()) + len(config.sources) - len(expanded)
    done = 0
    pages: list[int] = []  # where in ingest.read the pages' articles are

    def tick() -> None:
        nonlocal done
        say("reading", done, total)
        done += 1

    for index, source in enumerate(config.sources):
        if isinstance(source, TagPageSource):
            ingest_tagpages(source, store, ingest, now, markers, states, expanded[index], tick)
        elif isinstance(source, FeedSource) and (not poll_feeds or shared):
            tick()
            ingest.names.add(source.url)
        elif isinstance(source, (FeedSource, PageSource)):
            tick()
            ingest_feed(source, aggregator, ingest)  # pages are polled by this build, even on a shared store
            if isinstance(source, PageSource):
                pages.append(len(ingest.read) - 1)
    ingest.units = total
    _distinct_page_dates(store, ingest, pages)
    if not settled.same_order(store, ingest.order):  # merging depends on source order: read all
        ingest.read = [q.parse() if isinstance(q, Quiet) else q for q in ingest.read]
    ingest.gather()
    if shared and poll_feeds:
        poll_shared(config, cast(PgStore, store), ingest, fetch_all, user_agent)
    return ingest
