"""External feeds (Atom 0.3/1.0, RSS 0.9x/1.0/2.0, JSON Feed 1.0/1.1) to articles. Pure.

``parse_feed`` takes the bytes ``sources.fetch`` brought back and never does
I/O itself: feedparser only ever receives bytes (handed a string that looks
like a URL or path, it would open it), and XML carrying entity declarations or
external references is refused before feedparser sees it (XXE, billion
laughs). feedparser 6 cannot read JSON Feed, so that has its own path. Each
field has one small function with its precedence chain (miniflux findEntryX).

Speed (issue #6, ">= 1.5x feedparser's default throughput, with nh3"): the
refusal step already parses the XML with defusedxml, and about four fifths of
the remaining time went into feedparser's per-element SAX handlers. For
well-formed UTF-8 RSS and Atom 1.0 of the usual shapes ``sources.fastfeed``
reads that tree into exactly the entry dicts feedparser would have built (the
same keys, the same values, through feedparser's own date, URL and text
helpers), and everything else still goes to feedparser, so the articles do not
depend on which path read them (tests/test_fastfeed.py checks both on every
sample and on generated feeds). feedparser runs without its sanitizer and URI
resolver because nh3 sanitizes and resolves once, here; ``sources.sanitize``
builds each nh3 configuration once instead of per call. Together that is about
six times feedparser's default throughput on benchmarks/feedsample.py.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, TreeBuilder

import defusedxml
import defusedxml.ElementTree
import feedparser

from sources import extras, fastfeed
from sources.model import Article, Author, Tag, make_tag, uuid_urn
from sources.sanitize import MAX_FRAGMENT, excerpt, plain_text, sanitize_html
from tagfeed.errors import INTERNAL, FeedError, classify

SUMMARY_LENGTH = 300
TITLE_EXCERPT = 80
# feedparser's lenient (sgmllib) parser reads what expat refuses at ~1 MB/s: bigger bodies that are not
# well-formed are refused rather than let one hostile feed hold a build for seconds
LENIENT_LIMIT = 512 * 1024
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]+$")  # no text XML refuses
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])",
                         re.IGNORECASE | re.DOTALL)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_JSON_VERSION = "https://jsonfeed.org/version/1"
# bozo reasons that say nothing against the document itself
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


@dataclass(frozen=True, slots=True)
class _Raw:
    """One upstream entry, format differences gone, nothing decided yet."""

    id: str | None
    link: str | None
    title: str | None
    content: str | None  # HTML
    summary: str | None  # HTML
    published: datetime | None
    updated: datetime | None
    categories: tuple[str, ...]
    base: str  # what a relative entry link resolves against: xml:base, home page or feed URL
    content_base: str | None = None  # an explicit xml:base on the content
    title_is_text: bool = False  # the title is plain text (its ``<`` is a character), not HTML
    attached: extras.Extras = extras.NONE  # authors, enclosures, image


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str],
               tags: Sequence[str] = ()) -> list[Article]:
    """The articles of one fetched feed, in feed order; ``FeedError`` when it is not one.

    Whatever a library raises on a hostile body (feedparser's fallback parser on a
    character reference beyond Unicode, a codec) is this feed's ``FeedError`` too;
    only a bug of ours goes up as it is, to be logged with its traceback.
    """
    return _parse(body, url=url, headers=headers, tags=tags)


def _parse(body: bytes, *, url: str, headers: Mapping[str, str], tags: Sequence[str],
           fast: bool = True) -> list[Article]:
    """``parse_feed``; ``fast=False`` always asks feedparser (the tests compare the two)."""
    try:
        return _read(body, url=url, headers=headers, tags=tags, fast=fast)
    except FeedError:
        raise
    except Exception as exc:
        kind, reason = classify(exc)
        if kind == INTERNAL:
            raise
        raise FeedError(url, reason) from exc


def _read(body: bytes, *, url: str, headers: Mapping[str, str], tags: Sequence[str], fast: bool) -> list[Article]:
    lowered = {k.lower(): v for k, v in headers.items()}
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise FeedError(url, "empty response, not a feed")
    if stripped.startswith((b"{", b"[")) or "json" in lowered.get("content-type", ""):
        title, raws = _parse_json(stripped, url)
    else:
        if _HTML_START.match(stripped):
            raise FeedError(url, "an HTML page, not a feed")
        title, raws = _parse_xml(body, url, lowered, fast=fast)
    return [_article(raw, url=url, feed_title=title, tags=tags) for raw in raws]


def _article(raw: _Raw, *, url: str, feed_title: str | None, tags: Sequence[str]) -> Article:
    link = _entry_link(raw)
    content = _entry_content(raw, link)
    published, updated = _entry_dates(raw)
    return Article(
        id=_entry_id(raw, link),
        title=_entry_title(raw, content, link),
        summary=_entry_summary(raw, content),
        content_html=content or None,
        truncated=len(raw.content or raw.summary or "") > MAX_FRAGMENT,  # sanitizing cut it (sources.sanitize)
        tags=_entry_tags(raw, tags),
        link=link,
        published=published,
        updated=updated,
        source=url,
        source_title=feed_title,
        source_url=url,
        authors=raw.attached.authors,
        enclosures=raw.attached.enclosures,
        image=raw.attached.image,
    )


# -- fields ---------------------------------------------------------------
def _entry_id(raw: _Raw, link: str | None) -> str:
    """Upstream id when it is an absolute IRI (RFC 4287 §4.2.6), else from the link, else title+date.

    A local guid ("12345") is unique only within its feed, so without a link it
    is scoped by the feed's base. With nothing at all, the text is the key.
    """
    upstream = (raw.id or "").strip()
    if _IRI.match(upstream):
        return upstream
    if link:
        return uuid_urn("link:" + link)
    if upstream:
        return uuid_urn(f"guid:{raw.base}\n{upstream}")
    when = raw.published or raw.updated
    text = raw.title or plain_text(raw.content or raw.summary or "")[:200]
    return uuid_urn(f"entry:{text}\n{when.isoformat() if when else ''}")


def _entry_link(raw: _Raw) -> str | None:
    """An absolute http(s) link; an id that is itself an http(s) URL stands in for a missing one.

    A link that is no URL at all (a port that is not a number, a broken IPv6 host) is
    dropped: the entry keeps its text, without a link, instead of failing its feed.
    """
    candidates = (urljoin(raw.base, raw.link.strip()) if raw.link else None, raw.id)
    for candidate in candidates:
        if candidate and (link := _http_url(candidate.strip())):
            return link
    return None


def _http_url(value: str) -> str | None:
    if _CONTROL.search(value):  # no URL holds one, and no feed could carry it
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError:
        return None
    return parts.geturl() if parts.scheme in ("http", "https") and parts.netloc else None


def _entry_title(raw: _Raw, content: str, link: str | None) -> str:
    """Plain text; an untitled entry (allowed in RSS) shows the start of its text, else its link."""
    title = text_title(raw.title or "", is_text=raw.title_is_text)
    if title:
        return title
    text = plain_text(content) or plain_text(raw.summary or "")
    if text:
        return excerpt(text, TITLE_EXCERPT)
    return link or "(untitled)"


def _entry_dates(raw: _Raw) -> tuple[datetime | None, datetime | None]:
    """Each date stands in for the other; both None leaves first-seen to the pipeline."""
    published = raw.published or raw.updated
    updated = raw.updated or raw.published
    if published and updated and updated < published:
        updated = published
    return published, updated


def _entry_content(raw: _Raw, link: str | None) -> str:
    """Sanitized HTML of the fullest body: content, else summary.

    Relative URLs resolve against an explicit xml:base, else the entry's own
    link (where upstream pages put them), else the feed.
    """
    body = raw.content or raw.summary or ""
    if not body.strip():
        return ""
    base = raw.content_base or link or raw.base
    try:
        return sanitize_html(body, base_url=base)
    except ValueError:  # nh3 refuses a base it cannot parse: keep the text, leave relative URLs to be dropped
        return sanitize_html(body)


def _entry_summary(raw: _Raw, content: str) -> str:
    text = plain_text(raw.summary or "") or plain_text(content)
    return excerpt(text, SUMMARY_LENGTH)


def _entry_tags(raw: _Raw, configured: Sequence[str]) -> tuple[Tag, ...]:
    found: dict[str, Tag] = {}
    for name in (*configured, *raw.categories):
        tag = _tag(name)
        if tag:
            found.setdefault(tag.slug, tag)
    return tuple(sorted(found.values()))


@functools.lru_cache(maxsize=4096)  # the same few category names recur across entries and feeds
def _tag(name: str) -> Tag | None:
    """Category names are text in every format (an attribute, or text feedparser already
    unescaped): ``Scripts & <Tags>`` is that name, not markup."""
    clean = _SPACE.sub(" ", name).strip()
    return make_tag(clean) if clean else None


def text_title(value: str, *, is_text: bool) -> str:
    """A title as readers see it: plain text kept as it is (``History of the <blink> tag``),
    HTML reduced to its text; runs of whitespace become one space either way."""
    return _SPACE.sub(" ", value).strip() if is_text else plain_text(value)


def _is_text(detail: Any) -> bool:
    """feedparser's ``*_detail`` says text/plain: the value is text (already unescaped)."""
    return isinstance(detail, Mapping) and detail.get("type") == "text/plain"


# -- XML via feedparser ---------------------------------------------------
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


def _parse_xml(body: bytes, url: str, headers: Mapping[str, str], *,
               fast: bool = True) -> tuple[str | None, list[_Raw]]:
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
    title = text_title(feed.get("title", ""), is_text=_is_text(feed.get("title_detail"))) or None
    raws = [_raw_from_feedparser(entry, url) for entry in entries]
    if more is None or len(more) != len(raws):  # no tree (feedparser's loose parser read it)
        more = [extras.from_feedparser(entry, raw.base) for entry, raw in zip(entries, raws)]
    return title, [dataclasses.replace(raw, attached=found) for raw, found in zip(raws, more)]


def _raw_from_feedparser(entry: Any, url: str) -> _Raw:
    contents = [c for c in entry.get("content", []) if c.get("value", "").strip()]
    html_first = sorted(contents, key=lambda c: "html" not in c.get("type", ""))
    content = _as_html(html_first[0]) if html_first else None
    summary = _as_html(entry["summary_detail"]) if entry.get("summary_detail") else entry.get("summary")
    base = (html_first[0].get("base") if html_first else None) or url
    explicit = urljoin(url, base) if base != url else None
    return _Raw(
        id=entry.get("id"),
        link=_feedparser_link(entry),
        title=entry.get("title"),
        title_is_text=_is_text(entry.get("title_detail")),
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


def _as_html(detail: Any) -> str:
    """feedparser's text/plain values are unescaped text: escape them back into HTML."""
    value = str(detail.get("value", ""))
    if detail.get("type", "text/html") == "text/plain":
        return "<p>" + value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>"
    return value


def _from_struct(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), timezone.utc)  # feedparser gives UTC
    except (TypeError, ValueError, OverflowError):
        return None


# -- JSON Feed --------------------------------------------------------------
def _parse_json(body: bytes, url: str) -> tuple[str | None, list[_Raw]]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(url, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(_JSON_VERSION):
        raise FeedError(url, "JSON, but not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError(url, "JSON Feed without an items array")
    base = _text(data.get("home_page_url")) or url
    title = text_title(_text(data.get("title")) or "", is_text=True) or None
    absolute = urljoin(url, base)
    authors = extras.json_authors(data.get("authors") or data.get("author"), absolute)
    return title, [_raw_from_json(item, absolute, authors) for item in items if isinstance(item, dict)]


def _raw_from_json(item: Mapping[str, Any], base: str, feed_authors: tuple[Author, ...] = ()) -> _Raw:
    text = _text(item.get("content_text"))
    content = _text(item.get("content_html")) or (_as_html({"value": text, "type": "text/plain"})
                                                    if text else None)
    tags: list[Any] = item["tags"] if isinstance(item.get("tags"), list) else []
    return _Raw(
        id=_text(item.get("id")) or (str(item["id"]) if isinstance(item.get("id"), int) else None),
        link=_text(item.get("url")) or _text(item.get("external_url")),
        title=_text(item.get("title")),
        title_is_text=True,  # JSON Feed titles are plain text (jsonfeed.org/version/1.1)
        attached=extras.Extras(
            extras.json_authors(item.get("authors") or item.get("author"), base) or feed_authors,
            extras.json_attachments(item.get("attachments"), base), extras.json_image(item.get("image"), base)),
        content=content,
        summary=_text(item.get("summary")),
        published=_from_rfc3339(item.get("date_published")),
        updated=_from_rfc3339(item.get("date_modified")),
        categories=tuple(t for t in tags if isinstance(t, str)),
        base=base,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _from_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
