"""The whole output tree as (relative path, bytes) pairs, computed, never written.

Order and selection are settled here once: newest first by published, ties by
id; feeds and tag pages hold the ``max_items`` newest; every article gets a page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from feeds.archive import TagArchive, render_archived_atom
from feeds.atom import atom_entry, render_atom
from feeds.channel import Channel, entry_dates, entry_facts, sort_articles, xml_clean
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
Renderer = Callable[[Channel, Sequence[Article], Sequence[bytes] | None, datetime | None], bytes]
RENDERERS: tuple[tuple[Format, Renderer], ...] = (("atom", render_atom), ("rss", render_rss), ("json", render_json))
_ENTRY = {fmt: attrgetter(fmt) for fmt, _ in RENDERERS}  # a format's entry of a Pieces


@dataclass(slots=True)
class Pieces:
    """One article's Atom entry, RSS item, JSON Feed item and tag-page row, as UTF-8.

    Bytes, so a feed is one ``bytes.join`` of them: encoding each piece once costs
    less than encoding every feed that holds it.
    """

    atom: bytes
    rss: bytes
    json: bytes
    row: bytes
    updated: datetime  # the entry's, for its feeds' own (feed_updated)
    left: int  # uses left (Fragments)


class Fragments:
    """Each article's pieces, made once per render from one ``entry_facts``.

    An article is in several feeds (every tag's and all.*) with the same text
    in each; its pieces are kept until their expected uses are spent, so memory
    holds only the articles whose feeds are part done. A count that is off only
    costs a re-render or a piece kept longer, never different bytes.
    """

    def __init__(self, urls: Urls, uses: Mapping[str, int]) -> None:
        self._urls = urls
        self._uses = uses
        self._made: dict[str, Pieces] = {}
        # a page of the tags folder: a row links from there, and every tag page is in it
        self._row_page = urls.tag_path("x", "html")

    def take(self, article: Article) -> Pieces:
        """The article's pieces, counted as one use."""
        found = self._made.get(article.id)
        if found is None:
            found = self._make(article)
            if found.left > 0:
                self._made[article.id] = found
        else:
            found.left -= 1
            if found.left <= 0:
                del self._made[article.id]
        return found

    def _make(self, article: Article) -> Pieces:
        urls, facts = self._urls, entry_facts(self._urls, article)
        return Pieces(atom_entry(article, facts).encode("utf-8"), rss_item(article, facts).encode("utf-8"),
                      json_item(article, facts).encode("utf-8"),
                      tag_page_row(urls, self._row_page, article, facts).encode("utf-8"),
                      facts.updated, self._uses.get(article.id, 1) - 1)


@dataclass(frozen=True, slots=True)
class ViewScope:
    """A view as the glue settled it: its name and slug (as a ``Tag``) and the ids its query matched."""

    tag: Tag
    ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class TagGroup:
    tag: Tag
    articles: tuple[Article, ...]  # newest first, all of them


def render_site(site_title: str, urls: Urls, articles: Sequence[Article], max_items: int, *,
                archives: Mapping[str, TagArchive] | None = None, fresh: Fresh = never_fresh,
                sources: Sequence[SourceStatus] = (), hub: str | None = None,
                article_digests: Mapping[str, bytes] | None = None, version: str,
                views: Sequence[ViewScope] = (), view_archives: Mapping[str, TagArchive] | None = None,
                ) -> Iterator[File]:
    """Every file of the tree: all.*, each tag's and view's feeds and page, article pages, index, OPML.

    A view is published as a tag is (views/<slug>.*), from the articles of ``ordered`` it names;
    ``view_archives`` are its RFC 5005 pages.
    ``sources`` is the index's "Sources" section (feeds/status.py).
    A tag in ``archives`` gets an RFC 5005 Atom feed and archive pages instead (feeds/archive.py).
    A group of files whose inputs' fingerprint ``fresh`` says is on disk already is not rendered;
    ``article_digests`` (``Store.articles``) spares hashing each article for that.
    ``version`` is tagfeed's, for the feeds' generator and the fingerprints.
    """
    ordered = _unique(sort_articles([xml_clean(a) for a in articles]))
    groups = group_by_tag(ordered)
    view_groups = [TagGroup(v.tag, tuple(a for a in ordered if a.id in v.ids)) for v in views]
    prints = Prints(article_digests, version=version)

    def done(paths: tuple[str, ...], parts: object, articles: Sequence[Article] = ()) -> bool:
        """Whether ``fresh`` has these files on disk already; nothing is hashed when nobody asks."""
        return fresh is not never_fresh and fresh(paths, prints.of(parts, articles))

    uses = Counter(a.id for a in ordered[:max_items])
    uses.update(a.id for group in (*groups, *view_groups) for a in group.articles[:max_items])
    pieces = Fragments(urls, uses)
    everything = Channel(urls=urls, site_title=site_title, generator_version=version, hub=hub)
    if not done(_feed_paths(everything), (everything, max_items), ordered[:max_items]):
        yield from _render_feeds(everything, ordered[:max_items], [pieces.take(a) for a in ordered[:max_items]])
    scopes = [(g, False, (archives or {}).get(g.tag.slug)) for g in groups]
    scopes += [(g, True, (view_archives or {}).get(g.tag.slug)) for g in view_groups]
    for group, view, archive in scopes:
        channel = Channel(urls=urls, site_title=site_title, generator_version=version, tag=group.tag, hub=hub,
                          view=view)
        paths = (*_feed_paths(channel), channel.path("html"))
        top = group.articles[:max_items]
        if not archive and done(paths, (channel, max_items), top):
            continue
        made = [pieces.take(a) for a in top]
        yield from _render_feeds(channel, top, made, skip="atom" if archive else None)
        if archive:
            yield from render_archived_atom(channel, group.articles, archive)
        yield channel.path("html"), render_tag_page(channel, top, [m.row for m in made])
    for article in ordered:
        path = urls.article_path(article)
        if not done((path,), (site_title, urls), (article,)):
            yield path, render_article_page(site_title, urls, article)
    entries = [TagEntry(group.tag, len(group.articles)) for group in groups]
    listed = [TagEntry(group.tag, len(group.articles)) for group in view_groups]
    if not done((urls.index_path(),), (everything, entries, max_items, sources, *listed), ordered[:max_items]):
        yield urls.index_path(), render_index(everything, entries, ordered[:max_items], sources, views=listed)
    newest = entry_dates(ordered[0])[1] if ordered else None
    tags = [g.tag for g in groups]
    named = [g.tag for g in view_groups]
    if not done((urls.opml_path(),), (site_title, urls, tags, newest, *named)):
        yield urls.opml_path(), render_opml(site_title, urls, tags, newest, views=named)


def _feed_paths(channel: Channel) -> tuple[str, ...]:
    return tuple(channel.path(fmt) for fmt, _ in RENDERERS)


def _render_feeds(channel: Channel, articles: Sequence[Article], made: Sequence[Pieces],
                  skip: Format | None = None) -> Iterator[File]:
    """A scope's feeds from its articles' pieces; those depend on ``channel.urls`` only, so one
    site's channels share them."""
    updated = max([m.updated for m in made]) if made else None  # feed_updated, once for every format
    for fmt, render in RENDERERS:
        if fmt != skip:
            yield channel.path(fmt), render(channel, articles, list(map(_ENTRY[fmt], made)), updated)


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
