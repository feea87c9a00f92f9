"""RSS 2.0: bytes in, nothing on disk.

lastBuildDate is the newest entry's updated and every item carries a guid and
a pubDate (RFC 822), so readers neither invent ids nor date items by fetch time.
``render_rss`` builds the document as a string, byte for byte what feedgen
with lxml's serialization writes (tests/oracles.py, the reference the tests
compare it with). ``&`` and ``<`` in titles, categories and sources are written
``&#x26;``/``&#x3C;`` (RSS Profile): the same characters to any XML parser, and
the hex form tells RSS readers that guess at markup in titles that this is text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from feeds.channel import (
    GENERATOR, Channel, EntryFacts, check_xml, enclosure_type, entry_facts, entry_title, feed_updated,
    single_rss_author, xml_attr, xml_escape,
)
from feeds.urls import MEDIA_TYPES
from sources.model import Article
from tagfeed.errors import RenderError

DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"


def _namespaces(articles: Sequence[Article]) -> dict[str, str]:
    """The extension namespaces the items use, dc (creators) before media (thumbnails)."""
    dc = media = False
    for article in articles:
        dc = dc or (bool(article.authors) and single_rss_author(article) is None)
        media = media or bool(article.image)
        if dc and media:
            break
    return {**({"dc": DC_NS} if dc else {}), **({"media": MEDIA_NS} if media else {})}


def _is_permalink(article: Article) -> bool:
    """An http(s) id is the item's URL; a urn:uuid is not (isPermaLink="false")."""
    return article.id.startswith(("http://", "https://"))


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render_rss(channel: Channel, articles: Sequence[Article], entries: Sequence[bytes] | None = None,
               updated: datetime | None = None) -> bytes:
    """The same bytes as feedgen + lxml (tests/oracles.py), built as a string (lxml's escaping and indentation).

    A caller rendering many feeds (feeds/site.py) hands in each article's ``rss_item`` as UTF-8,
    made once for all its feeds, and the feed's ``updated`` (``feed_updated``) if it knows it. That
    text is the caller's to have cleaned (``xml_clean``); without it, text XML cannot carry is
    refused as lxml refuses it.
    """
    if not channel.title:
        raise RenderError("channel", "feed has no title")
    namespaces = _namespaces(articles)
    declared = "".join(f'xmlns:{prefix}="{uri}" ' for prefix, uri in namespaces.items())  # lxml's order
    out = [f"<?xml version='1.0' encoding='UTF-8'?>\n<rss {declared}xmlns:atom=\"http://www.w3.org/2005/Atom\" "
           "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" version=\"2.0\">\n  <channel>\n",
           "    <title>", _plain(channel.title), "</title>\n    <link>", xml_escape(channel.html_url),
           "</link>\n    <description>", _plain(channel.subtitle), "</description>\n",
           '    <atom:link href="', xml_attr(channel.feed_url("rss")), '" rel="self" type="',
           MEDIA_TYPES["rss"], '"/>\n    <docs>http://www.rssboard.org/rss-specification</docs>\n',
           "    <generator>", xml_escape(f"{GENERATOR} {channel.generator_version}"), "</generator>\n"]
    if channel.language:
        out += ["    <language>", xml_escape(channel.language), "</language>\n"]
    out += ["    <lastBuildDate>", rfc822(updated or feed_updated(channel, articles)), "</lastBuildDate>\n"]
    if channel.hub:
        out += ['    <atom:link href="', xml_attr(channel.hub), '" rel="hub"/>\n']
    if entries is None:
        out.extend(rss_item(a, entry_facts(channel.urls, a)) for a in articles)
        out.append(_END)
        return check_xml("".join(out)).encode("utf-8")
    return b"".join(["".join(out).encode("utf-8"), *entries, _END_BYTES])


_END = "  </channel>\n</rss>\n"
_END_BYTES = _END.encode()


def rss_item(article: Article, facts: EntryFacts) -> str:
    """One ``<item>`` with its indentation (``facts`` is ``entry_facts`` of the article)."""
    permalink = "true" if _is_permalink(article) else "false"
    out = ["    <item>\n      <title>", _plain(entry_title(article)), "</title>\n      <link>",
           xml_escape(facts.link), "</link>\n      <description>", facts.xml_content,
           f'</description>\n      <guid isPermaLink="{permalink}">', xml_escape(article.id), "</guid>\n"]
    out.extend([_category(tag.name) for tag in article.tags])
    out += ["      <pubDate>", rfc822(facts.published), "</pubDate>\n"]
    if article.source_url:
        title = article.source_title or article.source_url
        out.append(f'      <source url="{_plain_attr(article.source_url)}">{_plain(title)}</source>\n')
    if article.authors or article.enclosures or article.image:
        out.append(_item_extras(article))
    out.append("    </item>\n")
    return "".join(out)


def _item_extras(article: Article) -> str:
    """What ``_ItemExtras`` adds, as lxml lays it out."""
    out = []
    single = single_rss_author(article)
    if single is not None:
        out += ["      <author>", xml_escape(f"{single.email} ({single.name})"), "</author>\n"]
    if article.enclosures:
        first = article.enclosures[0]
        out.append(f'      <enclosure url="{xml_attr(first.url)}" length="{first.length or 0}" '
                   f'type="{xml_attr(enclosure_type(first))}"/>\n')
    if single is None:
        out.extend([f"      <dc:creator>{xml_escape(a.label)}</dc:creator>\n" for a in article.authors])
    if article.image:
        out.append(f'      <media:thumbnail url="{xml_attr(article.image)}"/>\n')
    return "".join(out)


@lru_cache(maxsize=1 << 14)
def _category(name: str) -> str:
    """A tag's ``<category>``: the same in every item that has the tag, so made once."""
    return f"      <category>{_plain(name)}</category>\n"


def _plain(text: str) -> str:
    """Text of a title, category or source: escaped as hex_escape_plain_text leaves it."""
    return xml_escape(text).replace("&amp;", "&#x26;").replace("&lt;", "&#x3C;").replace("&gt;", "&#x3E;")


def _plain_attr(text: str) -> str:
    return xml_attr(text).replace("&amp;", "&#x26;").replace("&lt;", "&#x3C;").replace("&gt;", "&#x3E;")


def rfc822(moment: datetime) -> str:
    """``Sun, 04 Mar 2001 05:06:07 +0000`` for a UTC datetime, as feedgen's C-locale strftime."""
    return (f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000")
