"""Which article sits on which RFC 5005 archive page, decided once and kept in the store.

Rule (README, "Archived feeds"): per tag, the current Atom feed holds the
``max_items`` newest articles not yet archived, plus the older ones waiting
for a page. As soon as ``page_size`` of them wait, the oldest ``page_size``
(by published date, then id) become the next page. A page, once cut, is
written to the store and never re-cut, so an article's page never moves and a
full page's entries never change. An article that arrives later with an older
date than the window is not slotted into an old page: it waits in the current
feed and is archived with the next page cut.

``cut_pages`` is pure; ``plan_archives`` reads and extends the store.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.archive import TagArchive
from feeds.channel import sort_articles
from feeds.site import group_by_tag
from sources.model import Article
from tagfeed.store.sqlite import Store

def cut_pages(newest_first: Sequence[str], archived: frozenset[str], max_items: int,
              page_size: int) -> list[tuple[str, ...]]:
    """New full pages (oldest first, each oldest entry first) for one tag's ids."""
    waiting = [i for i in newest_first if i not in archived][max_items:]
    oldest_first = waiting[::-1]
    count = len(oldest_first) // page_size
    return [tuple(oldest_first[n * page_size:(n + 1) * page_size]) for n in range(count)]


def _stored_pages(store: Store) -> dict[str, list[tuple[str, ...]]]:
    pages: dict[str, dict[int, list[str]]] = {}
    for tag, page, article_id in store.archive_rows():
        pages.setdefault(tag, {}).setdefault(page, []).append(article_id)
    return {tag: [tuple(by_page[n]) for n in sorted(by_page)] for tag, by_page in pages.items()}


def plan_archives(store: Store, articles: Sequence[Article], max_items: int,
                  page_size: int) -> dict[str, TagArchive]:
    """Every tag's archive pages, cutting (and storing) the new ones this build makes full."""
    scopes = [(group.tag.slug, [a.id for a in group.articles]) for group in group_by_tag(sort_articles(articles))]
    return plan_scopes(store, scopes, max_items, page_size)


def plan_scopes(store: Store, scopes: Sequence[tuple[str, Sequence[str]]], max_items: int,
                page_size: int) -> dict[str, TagArchive]:
    """The archive pages of each (key, ids newest first): a tag's key is its slug, a view's
    ``view:<slug>`` (no slug has a colon), in the one table of pages."""
    stored = _stored_pages(store)
    new_rows: list[tuple[str, int, int, str]] = []
    plans: dict[str, TagArchive] = {}
    for key, ids in scopes:
        pages = stored.setdefault(key, [])
        archived = frozenset(i for page in pages for i in page)
        for page in cut_pages(ids, archived, max_items, page_size):
            pages.append(page)
            new_rows.extend((key, len(pages), pos, article_id) for pos, article_id in enumerate(page))
        if pages or len(ids) > max_items:  # with waiting articles, even before the first page
            plans[key] = TagArchive(tuple(pages))
    if new_rows:
        store.add_archive_rows(new_rows)
    return plans


def archive_of(store: Store, article_id: str) -> list[tuple[str, int]]:
    """(tag slug, page) of every archive page holding the article, for ``explain``."""
    return store.archive_pages_of(article_id)
