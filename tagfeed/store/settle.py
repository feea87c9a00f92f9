"""Settling articles into the store: their dates, and what a second sighting changes.

Shared by a build (every source it read) and a worker (one polled feed):
the store decides, from what it already holds, each article's ``published`` and
``updated`` and which text wins, so ids and dates stay stable across rebuilds.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

from sources.model import Article, merge, unite_authors, unite_enclosures
from tagfeed.store.sqlite import Store, article_from_json, content_hash


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
