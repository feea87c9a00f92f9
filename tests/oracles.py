"""The reference renderers the string-built Atom and RSS are compared with, byte for byte.

feedgen (with lxml's serialization) is a widely used, independent implementation of both
formats: what it writes for a channel and its articles is what ``render_atom``/``render_rss``
must write too (tests/test_render_oracles.py). It is slower by several times, so it runs
in the tests only; feedgen is a dependency of the ``test`` extra, not of tagfeed.

With feedgen every date is set explicitly (it would fill now()) and entries are appended in
the order given (it prepends by default).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.atom import looks_like_markup
from feeds.channel import (
    GENERATOR, Channel, enclosure_type, entry_content, entry_dates, entry_summary, entry_title, feed_updated,
    single_rss_author,
)
from feeds.rss import DC_NS, MEDIA_NS, _is_permalink, _namespaces
from feeds.urls import MEDIA_TYPES
from sources.model import Article

# -- Atom 1.0


class _EntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """What feedgen cannot say itself, added to the entry element it built.

    - Plain text that looks like markup (``<b>``, ``</i>``, ``&amp;``) becomes
      ``type="html"`` holding the escaped text: the same text for readers, and
      none of them renders it as markup. ``AT&T`` or ``a < b`` stay text.
    - atom:source (RFC 4287 §4.2.11) for copied entries. The upstream feed's
      own id and updated are not kept, so its URL stands for the id and the
      entry's updated for a lower bound of the feed's.
    """

    def __init__(self) -> None:
        self.article: Article | None = None
        self.updated: str = ""

    def extend_atom(self, entry: Any) -> Any:
        for name in ("title", "summary"):
            element = entry.find(name)
            if element is not None and element.text and looks_like_markup(element.text):
                element.text = html.escape(element.text, quote=False)
                element.set("type", "html")
        if self.article is not None and self.article.source_url:
            _add_source(entry, self.article, self.updated)
        if self.article is not None:
            _add_people_and_enclosures(entry, self.article)
        return entry


def _add_people_and_enclosures(entry: Any, article: Article) -> None:
    """atom:author (RFC 4287 §4.2.1) for each upstream author, atom:link rel="enclosure" (§4.2.7.2)."""
    for author in article.authors:
        person = etree.SubElement(entry, "author")
        etree.SubElement(person, "name").text = author.label
        if author.email:
            etree.SubElement(person, "email").text = author.email
        if author.uri:
            etree.SubElement(person, "uri").text = author.uri
    for enclosure in article.enclosures:
        link = etree.SubElement(entry, "link", href=enclosure.url, rel="enclosure")
        if enclosure.media_type:
            link.set("type", enclosure.media_type)
        if enclosure.length is not None:
            link.set("length", str(enclosure.length))


def _add_source(entry: Any, article: Article, updated: str) -> None:
    source = etree.SubElement(entry, "source")
    etree.SubElement(source, "id").text = article.source_url
    if article.source_title:
        title = etree.SubElement(source, "title")
        if looks_like_markup(article.source_title):
            title.text = html.escape(article.source_title, quote=False)
            title.set("type", "html")
        else:
            title.text = article.source_title
    etree.SubElement(source, "updated").text = updated
    etree.SubElement(source, "link", rel="self", href=article.source_url)


def render_atom_feedgen(channel: Channel, articles: Sequence[Article]) -> bytes:
    fg = FeedGenerator()
    fg.id(channel.feed_id)
    fg.title(channel.title)
    fg.subtitle(channel.subtitle)
    fg.link(href=channel.feed_url("atom"), rel="self", type=MEDIA_TYPES["atom"])
    fg.link(href=channel.html_url, rel="alternate", type=MEDIA_TYPES["html"])
    if channel.hub:
        fg.link(href=channel.hub, rel="hub")
    fg.author(name=channel.site_title, uri=channel.urls.home_url)
    fg.generator(GENERATOR, version=channel.generator_version, uri=channel.generator_uri)
    if channel.language:
        fg.language(channel.language)
    fg.updated(feed_updated(channel, articles))
    for article in articles:
        _add_entry(fg.add_entry(order="append"), channel, article)
    return bytes(fg.atom_str(pretty=True, encoding="UTF-8"))


def _add_entry(fe: FeedEntry, channel: Channel, article: Article) -> None:
    published, updated = entry_dates(article)
    fe.id(article.id)
    fe.title(entry_title(article))
    fe.link(href=channel.urls.article_link(article), rel="alternate", type=MEDIA_TYPES["html"])
    fe.published(published)
    fe.updated(updated)
    if summary := entry_summary(article):
        fe.summary(summary)
    fe.content(entry_content(article), type="html")
    for tag in article.tags:
        fe.category(term=tag.slug, label=tag.name)
    fe.register_extension("tagfeed", _EntryExtras, atom=True, rss=False)
    fe.tagfeed.article = article
    fe.tagfeed.updated = updated.isoformat()


_PLAIN_TEXT = re.compile(rb"<(title|category|source)(?: [^>]*)?>[^<]*</\1>")
_CHANNEL_DESCRIPTION = re.compile(rb"<description>[^<]*</description>")  # the first one: items' are HTML

def render_rss_feedgen(channel: Channel, articles: Sequence[Article]) -> bytes:
    fg = FeedGenerator()
    fg.title(channel.title)
    fg.description(channel.subtitle)
    fg.link(href=channel.feed_url("rss"), rel="self", type=MEDIA_TYPES["rss"])
    fg.link(href=channel.html_url, rel="alternate")  # RSS <link> is the last one given
    fg.generator(f"{GENERATOR} {channel.generator_version}")
    if channel.language:
        fg.language(channel.language)
    fg.lastBuildDate(feed_updated(channel, articles))
    if channel.hub:
        fg.register_extension("websub", _Hub, atom=False, rss=True)
        fg.websub.hub = channel.hub
    fg.register_extension("tagfeed", _Namespaces, _ItemExtras, atom=False, rss=True)  # each entry gets one too
    fg.tagfeed.namespaces = _namespaces(articles)
    for article in articles:
        _add_item(fg.add_entry(order="append"), channel, article)
    return hex_escape_plain_text(bytes(fg.rss_str(pretty=True, encoding="UTF-8")))


class _Hub(BaseExtension):  # type: ignore[misc]
    """atom:link rel=hub in the channel: feedgen writes only the self link into RSS."""

    hub: str = ""

    def extend_rss(self, rss: Any) -> Any:
        channel = rss.find("channel")
        etree.SubElement(channel, "{http://www.w3.org/2005/Atom}link", href=self.hub, rel="hub")
        return rss


class _Namespaces(BaseExtension):  # type: ignore[misc]
    """dc and media declared on the root, and only when an item uses them (older output unchanged)."""

    namespaces: dict[str, str] = {}

    def extend_ns(self) -> dict[str, str]:
        return self.namespaces


class _ItemExtras(BaseEntryExtension):  # type: ignore[misc]
    """author or dc:creator, one enclosure (RSS 2.0 allows one), media:thumbnail, after the source."""

    article: Article | None = None

    def extend_rss(self, item: Any) -> Any:
        article = self.article
        if article is None:
            return item
        single = single_rss_author(article)
        if single is not None:
            etree.SubElement(item, "author").text = f"{single.email} ({single.name})"
        if article.enclosures:
            first = article.enclosures[0]
            etree.SubElement(item, "enclosure", url=first.url, length=str(first.length or 0),
                             type=enclosure_type(first))
        if single is None:
            for author in article.authors:
                etree.SubElement(item, f"{{{DC_NS}}}creator").text = author.label
        if article.image:
            etree.SubElement(item, f"{{{MEDIA_NS}}}thumbnail", url=article.image)
        return item


def _add_item(fe: FeedEntry, channel: Channel, article: Article) -> None:
    published, _ = entry_dates(article)
    fe.title(entry_title(article))
    fe.link(href=channel.urls.article_link(article))
    fe.guid(article.id, permalink=_is_permalink(article))
    fe.published(published)
    fe.updated(published)  # unused by RSS; set so feedgen does not call now()
    fe.content(entry_content(article))
    for tag in article.tags:
        fe.category(term=tag.slug, label=tag.name)
    if article.source_url:
        fe.source(url=article.source_url, title=article.source_title or article.source_url)
    fe.tagfeed.article = article


def hex_escape_plain_text(xml: bytes) -> bytes:
    """``&``, ``<`` and ``>`` in titles, categories, sources and the channel's (plain text) description as ``&#x26;``/``&#x3C;``/``&#x3E;``
    (RSS Profile).

    The same characters to any XML parser; the hex form tells RSS readers that
    guess at markup in titles that this is text (and the W3C validator then
    does not warn that the title holds HTML).
    """
    def fix(match: re.Match[bytes]) -> bytes:
        return match[0].replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;").replace(b"&gt;", b"&#x3E;")

    return _CHANNEL_DESCRIPTION.sub(fix, _PLAIN_TEXT.sub(fix, xml), count=1)
