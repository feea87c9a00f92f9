"""Atom 1.0 (RFC 4287): bytes in, nothing on disk.

``render_atom`` builds the document as a string, byte for byte what feedgen
with lxml's serialization writes (tests/oracles.py, the reference the tests
compare it with), several times faster.
"""

from __future__ import annotations

import html
import html.entities
import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from feeds.channel import (
    GENERATOR,
    Channel,
    EntryFacts,
    check_xml,
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


def render_atom(channel: Channel, articles: Sequence[Article], entries: Sequence[bytes] | None = None,
                updated: datetime | None = None) -> bytes:
    """The same bytes as feedgen + lxml (tests/oracles.py), built as a string (lxml's escaping and indentation).

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
    version = xml_attr(channel.generator_version)
    out += ["  <generator", uri, f' version="{version}">{xml_escape(GENERATOR)}</generator>\n',
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
