"""Views (``[[views]]``) at build time: which stored articles each query matches, and their
RFC 5005 archive pages. ``feeds.site.render_site`` publishes them as it publishes tags.

A view's matches are settled once per build with the build's ``now`` (``newer:7d``
moves with it); its files are rendered again only when that set or its articles
change, by the same fingerprints as a tag's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feeds.archive import TagArchive
from feeds.channel import sort_articles
from feeds.site import ViewScope
from sources.model import Article, Tag
from tagfeed.building.archive import plan_scopes
from tagfeed.config import View
from tagfeed.query import matches
from tagfeed.query.match import Subject
from tagfeed.store.sqlite import Store


def view_scopes(views: Sequence[View], articles: Sequence[Article], now: datetime) -> list[ViewScope]:
    """Each view's matching ids; an article's text is folded once for all views."""
    if not views:
        return []
    subjects = [Subject(a) for a in articles]
    return [ViewScope(Tag(slug=v.slug, name=v.name),
                      frozenset(s.article.id for s in subjects if matches(v.query, s, now) is not None))
            for v in views]


def plan_view_archives(store: Store, scopes: Sequence[ViewScope], articles: Sequence[Article], max_items: int,
                       page_size: int) -> dict[str, TagArchive]:
    """Each view's archive pages (by slug), kept in the store under ``view:<slug>``."""
    if not scopes:
        return {}
    ordered = [a.id for a in sort_articles(articles)]
    keyed = [(f"view:{s.tag.slug}", [i for i in ordered if i in s.ids]) for s in scopes]
    plans = plan_scopes(store, keyed, max_items, page_size)
    return {key.removeprefix("view:"): plan for key, plan in plans.items()}
