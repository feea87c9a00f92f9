"""Which sources gave each article, with which tags and text, and when: kept for ``tagfeed explain``.

A build notes every sighting (article id, source) as ``_Ingest`` sees it,
before articles from several sources are merged into one, and writes them in
one batch after ``settle``. One row per (article, source): the tags that
source has given it (united over time, as the article's own tags are), how
full its latest text was, and the first and last build that saw it there.

The table lives in the store beside the others (its DDL and SQL in
``schema`` and ``tables``). Nothing here decides what is published: the
article rows in the store do that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sources.model import Article, Tag
from tagfeed.store.sqlite import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class Sighting:
    """One source's part in one article."""

    article_id: str
    source: str
    tags: tuple[Tag, ...]
    truncated: bool
    chars: int  # length of the body it gave, as sources.model.merge measures fullness
    first_seen: datetime | None = None  # None: made up from the article, stored before provenance was kept
    last_seen: datetime | None = None

    @property
    def fullness(self) -> tuple[int, int]:
        """The order merge() uses: a full text beats a teaser, then the longer body wins."""
        return (0 if self.truncated else 1, self.chars)


def sighting_of(article: Article) -> Sighting:
    body = article.content_html or "".join(article.paragraphs)
    return Sighting(article_id=article.id, source=article.source or "", tags=article.tags,
                    truncated=article.truncated, chars=len(body))


@dataclass
class Sightings:
    """What one build saw, by (article id, source); the hook ``_Ingest.add`` calls."""

    seen: dict[tuple[str, str], Sighting] = field(default_factory=dict)

    def add(self, article: Article) -> None:
        new = sighting_of(article)
        old = self.seen.get((new.article_id, new.source))
        if old is not None:  # the same headline twice in one source: keep every tag it gave
            new = Sighting(article_id=new.article_id, source=new.source, tags=_united(old.tags, new.tags),
                           truncated=new.truncated, chars=new.chars)
        self.seen[(new.article_id, new.source)] = new

    def write(self, store: Store, now: datetime) -> None:
        """Store this build's sightings in one transaction, keeping each pair's first_seen and earlier tags."""
        if not self.seen:
            return
        known = _read_raw(store, {i for i, _ in self.seen})
        when = _iso(now)
        # many rows share one stored tags text and one sighting's tags (a page's tag): parse and unite once
        united: dict[tuple[str, tuple[Tag, ...]], tuple[tuple[Tag, ...], tuple[Tag, ...]]] = {}
        rows, seen_again = [], []
        texts: dict[tuple[Tag, ...], str] = {}  # a page's sightings share their tags: one JSON text each
        for key, seen in self.seen.items():
            raw = known.get(key)
            if raw is None:
                tags, first = seen.tags, when
            else:
                text, truncated, chars, first_seen = raw
                pair = united.get((text, seen.tags))
                if pair is None:
                    old_tags = _tags_of(text)
                    pair = united[(text, seen.tags)] = (old_tags, _united(old_tags, seen.tags))
                old_tags, tags = pair
                if (old_tags, bool(truncated), int(chars)) == (tags, seen.truncated, seen.chars):
                    seen_again.append((when, seen.article_id, seen.source))  # only last_seen moves
                    continue
                first = _iso(datetime.fromisoformat(first_seen))
            tags_text = texts.get(tags)
            if tags_text is None:
                tags_text = texts[tags] = _tags_json(tags)
            rows.append((seen.article_id, seen.source, tags_text, int(seen.truncated), seen.chars, first, when))
        rows.sort(key=_pair)  # in primary-key order (see store._first)
        seen_again.sort(key=_pair_of_update)
        store.put_provenance(rows, seen_again)


def seen_again(store: Store, now: datetime, ids_by_source: dict[str, tuple[str, ...]]) -> list[str]:
    """Move ``last_seen`` of the pairs of sources read unchanged and not parsed this build
    (``tagfeed.store.settled``), whose rows were written when each was settled. Returns the sources
    some of whose rows are missing (a store whose table was lost): their sightings need writing."""
    return store.touch_provenance(_iso(now), ids_by_source)


def _pair(row: tuple[Any, ...]) -> tuple[Any, Any]:
    return row[0], row[1]


def _pair_of_update(row: tuple[Any, ...]) -> tuple[Any, Any]:
    return row[1], row[2]


def sightings_for(store: Store, article_id: str) -> list[Sighting]:
    """Every source's part in the article, first seen first (then by name)."""
    return sorted(_read(store, {article_id}),
                  key=lambda s: (s.first_seen or datetime.min.replace(tzinfo=timezone.utc), s.source))


def contributed(store: Store, names: Sequence[str]) -> int:
    """How many articles the source (by any of its names) has contributed to, its text kept or not."""
    return store.provenance_articles(names)


def _read(store: Store, ids: Iterable[str]) -> list[Sighting]:
    return [Sighting(article_id=a, source=s, tags=_tags_of(t), truncated=bool(cut), chars=int(n),
                     first_seen=datetime.fromisoformat(f), last_seen=datetime.fromisoformat(last))
            for a, s, t, cut, n, f, last in store.provenance_rows(ids)]


def _read_raw(store: Store, ids: Iterable[str]) -> dict[tuple[str, str], tuple[str, int, int, str]]:
    """The stored (tags, truncated, chars, first_seen) of each (article, source) pair, undecoded."""
    return {(a, s): (t, cut, n, f) for a, s, t, cut, n, f, _ in store.provenance_rows(ids)}


def _tags_of(text: str) -> tuple[Tag, ...]:
    return tuple(Tag(slug=slug, name=name) for slug, name in json.loads(text))


def _united(old: Iterable[Tag], new: Iterable[Tag]) -> tuple[Tag, ...]:
    return tuple(sorted({t.slug: t for t in (*old, *new)}.values()))


def _tags_json(tags: Iterable[Tag]) -> str:
    return json.dumps([[t.slug, t.name] for t in tags], ensure_ascii=False)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()
