"""The whole output tree as (relative path, bytes) pairs, computed, never written.

Order and selection are settled here once: newest first by published, ties by
id; feeds and tag pages hold the ``max_items`` newest; every article gets a page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from feeds.archive import TagArchive, render_archived_atom
from feeds.atom import atom_entry, render_atom
from feeds.channel import Channel, entry_content, entry_dates, sort_articles, xml_clean
from feeds.fingerprint import Fresh, Prints, never_fresh
from feeds.html import (
    TagEntry,
    render_article_page,
    render_index,
    render_tag_page,
    tag_page_row,
)
from feeds.jsonfeed import json_item, render_json
from feeds.opml import render_opml
from feeds.rss import render_rss, rss_item
from feeds.status import SourceStatus
from feeds.urls import Format, Urls
from sources.model import Article, Tag

File = tuple[str, bytes]
Entry = Callable[[Article], str]
Renderer = Callable[[Channel, Sequence[Article], Entry | None], bytes]
EntryMaker = Callable[[Channel, Article, str | None], str]
RENDERERS: tuple[tuple[Format, Renderer, EntryMaker], ...] = (
    ("atom", render_atom, atom_entry), ("rss", render_rss, rss_item), ("json", render_json, json_item))


class Fragments:
    """Each article's Atom entry, RSS item, JSON item and list row, made once per render.

    An article is in several feeds (every tag's and all.*) with the same text
    in each; its pieces are kept until their expected uses are spent, so memory
    holds only the articles whose feeds are part done. A count that is off only
    costs a re-render or a piece kept longer, never different bytes.
    """

    def __init__(self, uses: Mapping[str, int]) -> None:
        self._uses = uses
        self._made: dict[tuple[str, str], list[Any]] = {}  # (kind, id) -> [text, uses left]

    def getter(self, kind: str, make: Entry) -> Entry:
        """``make`` for pieces of ``kind``, each made once and handed out until its uses are spent
        (one closure per kind: this runs for every entry of every feed)."""
        made, uses = self._made, self._uses

        def get(article: Article) -> str:
            key = (kind, article.id)
            found = made.get(key)
            if found is None:
                text, left = make(article), uses.get(article.id, 1) - 1
                if left > 0:
                    made[key] = [text, left]
                return text
            found[1] -= 1  # in place: a hit allocates nothing
            if found[1] <= 0:
                del made[key]
            return found[0]  # type: ignore[no-any-return]

        return get


@dataclass(frozen=True, slots=True)
class TagGroup:
    tag: Tag
    articles: tuple[Article, ...]  # newest first, all of them


def render_site(site_title: str, urls: Urls, articles: Sequence[Article], max_items: int, *,
                archives: Mapping[str, TagArchive] | None = None, fresh: Fresh = never_fresh,
                sources: Sequence[SourceStatus] = (), hub: str | None = None,
                article_digests: Mapping[str, bytes] | None = None) -> Iterator[File]:
    """Every file of the tree: all.*, each tag's feeds and page, article pages, index, OPML.

    ``sources`` is the index's "Sources" section (feeds/status.py).
    A tag in ``archives`` gets an RFC 5005 Atom feed and archive pages instead (feeds/archive.py).
    A group of files whose inputs' fingerprint ``fresh`` says is on disk already is not rendered;
    ``article_digests`` (``Store.articles``) spares hashing each article for that.
    """
    ordered = _unique(sort_articles([xml_clean(a) for a in articles]))
    groups = group_by_tag(ordered)
    prints = Prints(article_digests)

    def done(paths: tuple[str, ...], parts: object, articles: Sequence[Article] = ()) -> bool:
        """Whether ``fresh`` has these files on disk already; nothing is hashed when nobody asks."""
        return fresh is not never_fresh and fresh(paths, prints.of(parts, articles))

    uses = Counter(a.id for a in ordered[:max_items])
    uses.update(a.id for group in groups for a in group.articles[:max_items])
    pieces = Fragments(uses)
    everything = Channel(urls=urls, site_title=site_title, hub=hub)
    if not done(_feed_paths(everything), (everything, max_items), ordered[:max_items]):
        yield from _render_feeds(everything, ordered[:max_items], pieces)
    for group in groups:
        channel = Channel(urls=urls, site_title=site_title, tag=group.tag, hub=hub)
        archive = (archives or {}).get(group.tag.slug)
        paths = (*_feed_paths(channel), channel.path("html"))
        if not archive and done(paths, (channel, max_items), group.articles[:max_items]):
            continue
        yield from _render_feeds(channel, group.articles[:max_items], pieces, skip="atom" if archive else None)
        if archive:
            yield from render_archived_atom(channel, group.articles, archive)
        here = channel.path("html")  # every tag page is in one folder, so a row is the same on each
        yield here, render_tag_page(channel, group.articles[:max_items],
                                    pieces.getter("row", lambda a: tag_page_row(urls, here, a)))
    for article in ordered:
        if not done((urls.article_path(article),), (site_title, urls), (article,)):
            yield urls.article_path(article), render_article_page(site_title, urls, article)
    entries = [TagEntry(group.tag, len(group.articles)) for group in groups]
    if not done((urls.index_path(),), (everything, entries, max_items, sources), ordered[:max_items]):
        yield urls.index_path(), render_index(everything, entries, ordered[:max_items], sources)
    newest = entry_dates(ordered[0])[1] if ordered else None
    tags = [g.tag for g in groups]
    if not done((urls.opml_path(),), (site_title, urls, tags, newest)):
        yield urls.opml_path(), render_opml(site_title, urls, tags, newest)


def _feed_paths(channel: Channel) -> tuple[str, ...]:
    return tuple(channel.path(fmt) for fmt, _, _ in RENDERERS)


def _render_feeds(channel: Channel, articles: Sequence[Article], pieces: Fragments,
                  skip: Format | None = None) -> Iterator[File]:
    """A scope's feeds; entries depend on ``channel.urls`` only, so one site's channels share them."""
    contents: dict[str, str] = {}  # an entry made in one format is made in the others next

    def content(article: Article) -> str:
        found = contents.get(article.id)
        if found is None:
            found = contents[article.id] = entry_content(article)
        return found

    for fmt, render, make in RENDERERS:
        if fmt == skip:
            continue

        def build(article: Article, make: EntryMaker = make) -> str:
            return make(channel, article, content(article))

        yield channel.path(fmt), render(channel, articles, pieces.getter(fmt, build))


def _unique(articles: list[Article]) -> list[Article]:
    """One article per id (the first, i.e. newest); the store should already ensure it."""
    seen: dict[str, Article] = {}
    for article in articles:
        seen.setdefault(article.id, article)
    return list(seen.values())


def group_by_tag(ordered: Sequence[Article]) -> list[TagGroup]:
    """Tags sorted by name; a slug spelt two ways shows its smallest spelling."""
    members: dict[str, list[Article]] = {}
    names: dict[str, str] = {}
    for article in ordered:
        for tag in article.tags:
            members.setdefault(tag.slug, []).append(article)
            names[tag.slug] = min(names.get(tag.slug, tag.name), tag.name)
    tags = sorted((Tag(slug=slug, name=name) for slug, name in names.items()),
                  key=lambda t: (t.name.casefold(), t.slug))
    return [TagGroup(tag, tuple(_unique(members[tag.slug]))) for tag in tags]
