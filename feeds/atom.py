"""Atom 1.0 (RFC 4287): bytes in, nothing on disk.

``render_atom`` builds the document as a string, byte for byte what
``render_atom_feedgen`` (feedgen + lxml, kept as the oracle the tests compare
against) serializes, several times faster. With feedgen every date is set
explicitly (it would fill now()) and entries are appended in the order given
(it prepends by default).
"""

from __future__ import annotations

import html
import html.entities
import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.channel import (
    GENERATOR,
    GENERATOR_VERSION,
    Channel,
    EntryFacts,
    check_xml,
    entry_content,
    entry_dates,
    entry_facts,
    entry_summary,
    entry_title,
    feed_updated,
    xml_attr,
    xml_escape,
)
from feeds.urls import MEDIA_TYPES
from sources.model import Article
from tagfeed.errors import RenderError

_LOOKS_LIKE_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|&#?\w+;")
_AMPERSAND_WORD = re.compile(r"&(#?\w+)")


def looks_like_markup(text: str) -> bool:
    """Plain text a reader (or the W3C validator) could take for HTML: a tag, a character
    reference, or ``&`` before an entity name or a word with digits or ``_`` (``&id_list=``);
    ``AT&T`` and ``a < b`` do not."""
    if "<" not in text and "&" not in text:  # most text has neither
        return False
    if _LOOKS_LIKE_MARKUP.search(text):
        return True
    return any(name in html.entities.name2codepoint or name == "apos" or not name.isalpha()
               for name in _AMPERSAND_WORD.findall(text))


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


def render_atom(channel: Channel, articles: Sequence[Article], entries: Sequence[bytes] | None = None,
                updated: datetime | None = None) -> bytes:
    """The same bytes as ``render_atom_feedgen``, built as a string (lxml's escaping and indentation).

    A caller rendering many feeds (feeds/site.py) hands in each article's ``atom_entry`` as UTF-8,
    made once for all its feeds, and the feed's ``updated`` (``feed_updated``) if it knows it. That
    text is the caller's to have cleaned (``xml_clean``); without it, text XML cannot carry is
    refused as lxml refuses it.
    """
    urls = channel.urls
    stamp = (updated or feed_updated(channel, articles)).isoformat()
    lang = f' xml:lang="{xml_attr(channel.language)}"' if channel.language else ""
    out = ["<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"", lang, ">\n",
           "  <id>", xml_escape(channel.feed_id), "</id>\n  <title>", xml_escape(_required(channel.title)),
           "</title>\n  <updated>", stamp, "</updated>\n"]
    if channel.site_title:
        out += ["  <author>\n    <name>", xml_escape(channel.site_title), "</name>\n    <uri>",
                xml_escape(urls.home_url), "</uri>\n  </author>\n"]
    out += [_link(channel.feed_url("atom"), "self", MEDIA_TYPES["atom"]),
            _link(channel.html_url, "alternate", MEDIA_TYPES["html"])]
    if channel.hub:
        out.append(_link(channel.hub, "hub"))
    uri = f' uri="{xml_attr(channel.generator_uri)}"' if channel.generator_uri else ""
    out += ["  <generator", uri, f' version="{xml_attr(GENERATOR_VERSION)}">{xml_escape(GENERATOR)}</generator>\n',
            "  <subtitle>", xml_escape(channel.subtitle), "</subtitle>\n"]
    if entries is None:
        out.extend(atom_entry(a, entry_facts(urls, a)) for a in articles)
        out.append(_END)
        return check_xml("".join(out)).encode("utf-8")
    return b"".join(["".join(out).encode("utf-8"), *entries, _END_BYTES])


_END = "</feed>\n"
_END_BYTES = _END.encode()


def _required(text: str) -> str:
    if not text:
        raise RenderError("channel", "feed has no title")
    return text


def _link(href: str, rel: str, media_type: str | None = None) -> str:
    kind = f' type="{xml_attr(media_type)}"' if media_type else ""
    return f'  <link href="{xml_attr(href)}" rel="{rel}"{kind}/>\n'


def _text_construct(name: str, text: str) -> str:
    """Title or summary: markup-like plain text goes as escaped ``type="html"`` (see _EntryExtras)."""
    if looks_like_markup(text):
        return f'    <{name} type="html">{xml_escape(html.escape(text, quote=False))}</{name}>\n'
    return f"    <{name}>{xml_escape(text)}</{name}>\n"


def atom_entry(article: Article, facts: EntryFacts) -> str:
    """One ``<entry>`` with its indentation (``facts`` is ``entry_facts`` of the article)."""
    stamp = facts.updated_text
    # feedgen drops an entry link's rel and type (it reads them back from the new element)
    out = ["  <entry>\n    <id>", xml_escape(_entry_id(article)), "</id>\n",
           _text_construct("title", entry_title(article)), "    <updated>", stamp, "</updated>\n",
           '    <content type="html">', facts.xml_content, "</content>\n",
           '    <link href="', xml_attr(facts.link), '"/>\n']
    if summary := entry_summary(article):
        out.append(_text_construct("summary", summary))
    out.extend([_category(tag.slug, tag.name) for tag in article.tags])
    out += ["    <published>", facts.published_text, "</published>\n"]
    if article.source_url:
        source_title = ("  " + _text_construct("title", article.source_title)) if article.source_title else ""
        out += ["    <source>\n      <id>", xml_escape(article.source_url), "</id>\n", source_title,
                "      <updated>", stamp, '</updated>\n      <link rel="self" href="',
                xml_attr(article.source_url), '"/>\n    </source>\n']
    if article.authors or article.enclosures:
        out.append(_people_and_enclosures(article))
    out.append("  </entry>\n")
    return "".join(out)


def _people_and_enclosures(article: Article) -> str:
    """What ``_add_people_and_enclosures`` adds, as lxml lays it out."""
    out = []
    for author in article.authors:
        out += ["    <author>\n      <name>", xml_escape(author.label), "</name>\n"]
        if author.email:
            out += ["      <email>", xml_escape(author.email), "</email>\n"]
        if author.uri:
            out += ["      <uri>", xml_escape(author.uri), "</uri>\n"]
        out.append("    </author>\n")
    for enclosure in article.enclosures:
        kind = f' type="{xml_attr(enclosure.media_type)}"' if enclosure.media_type else ""
        length = f' length="{enclosure.length}"' if enclosure.length is not None else ""
        out.append(f'    <link href="{xml_attr(enclosure.url)}" rel="enclosure"{kind}{length}/>\n')
    return "".join(out)


@lru_cache(maxsize=1 << 14)
def _category(slug: str, name: str) -> str:
    """A tag's ``<category>``: the same in every entry that has the tag, so made once."""
    label = f' label="{xml_attr(name)}"' if name else ""
    return f'    <category term="{xml_attr(slug)}"{label}/>\n'


def _entry_id(article: Article) -> str:
    if not article.id:
        raise RenderError("article", "has no id")
    return article.id
