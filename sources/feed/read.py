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
well-formed UTF-8 RSS and Atom 1.0 of the usual shapes ``sources.feed.fast``
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

import functools
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urljoin, urlsplit


from sources.feed.jsonfeed import parse_json
from sources.feed.raw import SPACE, Raw, text_title
from sources.feed.xmlfeed import parse_xml
from sources.model import Article, Tag, make_tag, uuid_urn
from sources.sanitize import MAX_FRAGMENT, excerpt, plain_text, sanitize_html
from tagfeed.errors import INTERNAL, FeedError, classify

SUMMARY_LENGTH = 300
TITLE_EXCERPT = 80
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]+$")  # no text XML refuses
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])",
                         re.IGNORECASE | re.DOTALL)


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
        title, raws = parse_json(stripped, url)
    else:
        if _HTML_START.match(stripped):
            raise FeedError(url, "an HTML page, not a feed")
        title, raws = parse_xml(body, url, lowered, fast=fast)
    return [_article(raw, url=url, feed_title=title, tags=tags) for raw in raws]


def _article(raw: Raw, *, url: str, feed_title: str | None, tags: Sequence[str]) -> Article:
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
def _entry_id(raw: Raw, link: str | None) -> str:
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


def _entry_link(raw: Raw) -> str | None:
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


def _entry_title(raw: Raw, content: str, link: str | None) -> str:
    """Plain text; an untitled entry (allowed in RSS) shows the start of its text, else its link."""
    title = text_title(raw.title or "", is_text=raw.title_is_text)
    if title:
        return title
    text = plain_text(content) or plain_text(raw.summary or "")
    if text:
        return excerpt(text, TITLE_EXCERPT)
    return link or "(untitled)"


def _entry_dates(raw: Raw) -> tuple[datetime | None, datetime | None]:
    """Each date stands in for the other; both None leaves first-seen to the pipeline."""
    published = raw.published or raw.updated
    updated = raw.updated or raw.published
    if published and updated and updated < published:
        updated = published
    return published, updated


def _entry_content(raw: Raw, link: str | None) -> str:
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


def _entry_summary(raw: Raw, content: str) -> str:
    text = plain_text(raw.summary or "") or plain_text(content)
    return excerpt(text, SUMMARY_LENGTH)


def _entry_tags(raw: Raw, configured: Sequence[str]) -> tuple[Tag, ...]:
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
    clean = SPACE.sub(" ", name).strip()
    return make_tag(clean) if clean else None
