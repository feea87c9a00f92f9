"""Atom 1.0 (RFC 4287) with feedgen: bytes in, nothing on disk.

Every date is set explicitly (feedgen would fill now()) and entries are
appended in the order given (feedgen prepends by default).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.channel import (
    GENERATOR, GENERATOR_VERSION, Channel, entry_content, entry_dates, entry_title, entry_summary, feed_updated,
)
from feeds.urls import MEDIA_TYPES
from sources.model import Article

_LOOKS_LIKE_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|&#?\w+;")


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
            if element is not None and element.text and _LOOKS_LIKE_MARKUP.search(element.text):
                element.text = html.escape(element.text, quote=False)
                element.set("type", "html")
        if self.article is not None and self.article.source_url:
            _add_source(entry, self.article, self.updated)
        return entry


def _add_source(entry: Any, article: Article, updated: str) -> None:
    source = etree.SubElement(entry, "source")
    etree.SubElement(source, "id").text = article.source_url
    if article.source_title:
        etree.SubElement(source, "title").text = article.source_title
    etree.SubElement(source, "updated").text = updated
    etree.SubElement(source, "link", rel="self", href=article.source_url)


def render_atom(channel: Channel, articles: Sequence[Article]) -> bytes:
    fg = FeedGenerator()
    fg.id(channel.feed_id)
    fg.title(channel.title)
    fg.subtitle(channel.subtitle)
    fg.link(href=channel.feed_url("atom"), rel="self", type=MEDIA_TYPES["atom"])
    fg.link(href=channel.html_url, rel="alternate", type=MEDIA_TYPES["html"])
    if channel.hub:
        fg.link(href=channel.hub, rel="hub")
    fg.author(name=channel.site_title, uri=channel.urls.home_url)
    fg.generator(GENERATOR, version=GENERATOR_VERSION, uri=channel.generator_uri)
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
