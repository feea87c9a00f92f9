"""RSS 2.0 with feedgen: bytes in, nothing on disk.

lastBuildDate is the newest entry's updated and every item carries a guid and
a pubDate (RFC 822), so readers neither invent ids nor date items by fetch time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.channel import GENERATOR, GENERATOR_VERSION, Channel, entry_content, entry_dates, entry_title, feed_updated
from feeds.urls import MEDIA_TYPES
from sources.model import Article

# lxml escapes text, so a plain-text element's content never holds a raw "<".
_PLAIN_TEXT = re.compile(rb"<(title|category|source)(?: [^>]*)?>[^<]*</\1>")


def render_rss(channel: Channel, articles: Sequence[Article]) -> bytes:
    fg = FeedGenerator()
    fg.title(channel.title)
    fg.description(channel.subtitle)
    fg.link(href=channel.feed_url("rss"), rel="self", type=MEDIA_TYPES["rss"])
    fg.link(href=channel.html_url, rel="alternate")  # RSS <link> is the last one given
    fg.generator(f"{GENERATOR} {GENERATOR_VERSION}")
    if channel.language:
        fg.language(channel.language)
    fg.lastBuildDate(feed_updated(channel, articles))
    if channel.hub:
        fg.register_extension("websub", _Hub, atom=False, rss=True)
        fg.websub.hub = channel.hub
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


def hex_escape_plain_text(xml: bytes) -> bytes:
    """``&`` and ``<`` in titles, categories and sources as ``&#x26;``/``&#x3C;`` (RSS Profile).

    The same characters to any XML parser; the hex form tells RSS readers that
    guess at markup in titles that this is text.
    """
    def fix(match: re.Match[bytes]) -> bytes:
        return match[0].replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")

    return _PLAIN_TEXT.sub(fix, xml)


def _is_permalink(article: Article) -> bool:
    """An http(s) id is the item's URL; a urn:uuid is not (isPermaLink="false")."""
    return article.id.startswith(("http://", "https://"))
