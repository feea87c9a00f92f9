"""RSS and Atom: the defused tree read by the fast reader where it can, else by feedparser.

Entity declarations and external references are refused before feedparser
sees the body (XXE, billion laughs); feedparser runs without its sanitizer and
URI resolver because nh3 sanitizes and resolves once, in ``sources.feed.read``.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element, TreeBuilder

import defusedxml
import defusedxml.ElementTree
import feedparser

from sources.feed import extras
from sources.feed import fast as fastfeed
from sources.feed.raw import Raw, as_html, is_text, text_title
from tagfeed.errors import FeedError
# feedparser's lenient (sgmllib) parser reads what expat refuses at ~1 MB/s: bigger bodies that are not
# well-formed are refused rather than let one hostile feed hold a build for seconds
LENIENT_LIMIT = 512 * 1024
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
# bozo reasons that say nothing against the document itself
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


def _parse_safely(body: bytes, url: str) -> tuple[Element, list[tuple[str, str]]] | None:
    """The tree and namespace declarations of ``body``; None when expat cannot read it.

    Entity declarations and external references are refused, never expanded.
    A DOCTYPE that only names a DTD (RSS 0.91's Netscape one) is allowed; it is
    never fetched. Bodies expat cannot read (bad bytes) get a plain scan.
    """
    namespaces: list[tuple[str, str]] = []
    parser = defusedxml.ElementTree.DefusedXMLParser(target=TreeBuilder(), forbid_dtd=False,
                                                     forbid_entities=True, forbid_external=True)
    parser.parser.StartNamespaceDeclHandler = lambda prefix, uri: namespaces.append((prefix or "", uri or ""))
    try:
        parser.feed(body)
        root: Element = parser.close()
    except defusedxml.DefusedXmlException as exc:
        raise FeedError(url, f"refused unsafe XML ({type(exc).__name__})") from None
    except (SyntaxError, ValueError, LookupError):  # bad bytes or charset: feedparser copes
        if _ENTITY_DECL.search(body.replace(b"\x00", b"")):
            raise FeedError(url, "refused unsafe XML (entity declaration)") from None
        return None
    return root, namespaces


def parse_xml(body: bytes, url: str, headers: Mapping[str, str], *,
               fast: bool = True) -> tuple[str | None, list[Raw]]:
    tree = _parse_safely(body, url)
    if tree is None and len(body) > LENIENT_LIMIT:
        raise FeedError(url, f"not well-formed XML, and at {len(body):,} bytes over the {LENIENT_LIMIT:,} "
                             "that the lenient parser is given (it reads about a megabyte a second)")
    response_headers = {"content-location": url, **headers}
    read = fastfeed.read(tree[0], tree[1], body, headers=response_headers) if tree and fast else None
    more = extras.from_tree(tree[0], url) if tree else None
    if read is not None and more is not None and len(more) != len(read[1]):
        read = None  # entries the tree reader and the extras disagree on: feedparser decides
    if read is not None:  # what feedparser would have said, read off the tree
        feed, entries = read
    else:
        parsed = feedparser.parse(body, response_headers=response_headers,
                                  sanitize_html=False, resolve_relative_uris=False)
        if not parsed.entries and not parsed.version:
            raise FeedError(url, "not an RSS, Atom or JSON feed")
        if not parsed.entries and parsed.bozo and not isinstance(parsed.get("bozo_exception"), _BENIGN):
            raise FeedError(url, f"not a well-formed feed: {parsed.get('bozo_exception')}")
        feed, entries = parsed.feed, parsed.entries
    title = text_title(feed.get("title", ""), is_text=is_text(feed.get("title_detail"))) or None
    raws = [_raw_from_feedparser(entry, url) for entry in entries]
    if more is None or len(more) != len(raws):  # no tree (feedparser's loose parser read it)
        more = [extras.from_feedparser(entry, raw.base) for entry, raw in zip(entries, raws)]
    return title, [dataclasses.replace(raw, attached=found) for raw, found in zip(raws, more)]


def _raw_from_feedparser(entry: Any, url: str) -> Raw:
    contents = [c for c in entry.get("content", []) if c.get("value", "").strip()]
    html_first = sorted(contents, key=lambda c: "html" not in c.get("type", ""))
    content = as_html(html_first[0]) if html_first else None
    summary = as_html(entry["summary_detail"]) if entry.get("summary_detail") else entry.get("summary")
    base = (html_first[0].get("base") if html_first else None) or url
    explicit = urljoin(url, base) if base != url else None
    return Raw(
        id=entry.get("id"),
        link=_feedparser_link(entry),
        title=entry.get("title"),
        title_is_text=is_text(entry.get("title_detail")),
        content=content,
        summary=summary,
        published=_from_struct(entry.get("published_parsed") or entry.get("created_parsed")),
        # dict.get: feedparser's own get() falls back to published with a DeprecationWarning
        updated=_from_struct(dict.get(entry, "updated_parsed")),
        categories=tuple(t.get("term") or t.get("label") or "" for t in entry.get("tags", [])),
        base=explicit or url,
        content_base=explicit,
    )


def _feedparser_link(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    link = entry.get("link")
    if not link and entry.get("guidislink"):
        link = entry.get("id")
    return str(link) if link else None


def _from_struct(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), timezone.utc)  # feedparser gives UTC
    except (TypeError, ValueError, OverflowError):
        return None
