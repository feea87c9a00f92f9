"""A listing page's bytes to its items, reporting which way they were found.

In order: the ``select`` override when the config gives one; else the repeated
block the detector finds (``detect``), confirmed by, or filled in from, the page's
structured data (``structured``) where that agrees with what the page shows.
The page's own feeds (``<link rel=alternate>``) are reported, never silently used.
Pure: bytes, URL, headers and the clock in; a ``Page`` out, or ``PageError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree, html

from sources.page.decode import decode_html
from sources.page.detect import detect
from sources.page.items import (Item, base_url, canonical_link, date_of, image_of, resolve, summary_of,
                                text_of, title_element, title_text, weight)
from sources.page.select import Selectors, select_items
from sources.page.structured import Structured, read_structured
from tagfeed.errors import PageError

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json",
                        "application/json", "application/rdf+xml", "application/x-rss+xml", "text/xml",
                        "application/xml"})
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=True)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—·:»]\s+")
MAX_TITLE = 300


@dataclass(frozen=True, slots=True)
class Page:
    """What a listing page gives: its items, how they were found, its name and its own feeds."""

    url: str
    items: tuple[Item, ...]
    method: str  # "select", "detected", "detected, confirmed by <kind>", "structured data (<kind>)"
    name: str  # the page's own name for itself: its h1, else its cleaned <title>
    feeds: tuple[str, ...]
    item_selector: str = ""
    title_selector: str = ""


def parse_document(body: bytes, url: str, content_type: str | None) -> html.HtmlElement:
    """The page's tree; not HTML or empty is the page's clear error."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in _HTML_TYPES:
        raise PageError(url, f"not an HTML page (Content-Type: {media})")
    if not body or body.isspace():
        raise PageError(url, "the page is empty")
    text, _ = decode_html(body, content_type)
    if not media and not re.search(r"<(html|body|head|div|a)\b", text[:65536], re.I):
        raise PageError(url, "not an HTML page (no HTML elements)")
    try:
        # plain etree elements: lxml.html's per-element class lookup costs more than the whole detection
        doc = etree.fromstring(text.replace("\x00", ""), _PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise PageError(url, f"not parseable as HTML: {exc}") from None
    if doc is None:
        raise PageError(url, "not parseable as HTML: no elements")
    return doc


def declared_url(body: bytes) -> str | None:
    """The page's own idea of its address (canonical link, else og:url), for a page read from a file."""
    doc = parse_document(body, "(file)", None)
    for link in doc.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and (url := resolve(link.get("href"), "")):
            return url
    for meta in doc.iter("meta"):
        if meta.get("property") == "og:url" and (url := resolve(meta.get("content"), "")):
            return url
    return None


def feed_links(doc: html.HtmlElement, base: str) -> tuple[str, ...]:
    """The page's own feeds: ``<link rel=alternate>`` of a feed type, in page order."""
    out: list[str] = []
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and (url := resolve(link.get("href"), base)):
            if url not in out:
                out.append(url)
    return tuple(out)


def page_name(doc: html.HtmlElement) -> str:
    """What the page calls itself: its first visible h1, else its <title> without the site's name."""
    for h1 in doc.iter("h1"):
        text = text_of(h1)
        if 0 < len(text) <= 120:
            return text
    title = next((text_of(t) for t in doc.iter("title")), "")
    parts = _TITLE_SEPARATORS.split(title)
    return (parts[0] if parts else title).strip()


def extract(body: bytes, *, url: str, now: datetime, content_type: str | None = None,
            select: Selectors | None = None) -> Page:
    """The items of the listing page at ``url``; ``PageError`` when there is no list to find."""
    doc = parse_document(body, url, content_type)
    base = base_url(doc, url)
    feeds = feed_links(doc, base)
    name = page_name(doc)
    if select is not None:
        items = select_items(doc, select, base, now)
        if not items:
            raise PageError(url, f"the selector {select.item!r} matches no item with a link")
        return Page(url, tuple(items), "select", name, feeds, select.item, select.title or "")
    structured = read_structured(doc, base)
    found = detect(doc, base, url, now)
    if found is not None:
        items = [i for anchor, item in zip(found.anchors, found.items) if (i := _item(anchor, item, base, now))]
        method = "detected"
        if structured and _agree(structured, items):
            method = f"detected, confirmed by {structured.kind}"
            items = _fill(items, structured)
        return Page(url, tuple(items), method, name, feeds, found.item_selector, found.title_selector)
    if structured and structured.items:
        return Page(url, tuple(structured.items), f"structured data ({structured.kind})", name, feeds)
    raise PageError(url, "no list of article links found on the page")


def _item(anchor: html.HtmlElement, item: html.HtmlElement, base: str, now: datetime) -> Item | None:
    link = resolve(anchor.get("href"), base)
    if link is None:
        return None
    title_el = title_element(anchor, item)
    title = _without_kicker(title_text(title_el), item)[:MAX_TITLE]
    if not title:
        return None
    return Item(title=title, link=link, summary=summary_of(item, title_el, title),
                date=date_of(item, now), image=image_of(item, base))


MAX_KICKER = 12  # characters of a label before the headline ("专题", "Opinion:", "LIVE")


def _without_kicker(title: str, item: etree._Element) -> str:
    """``title`` without a short label before it, where the item's picture names the headline alone:
    an ``alt`` that is the title's end after at most ``MAX_KICKER`` characters is the headline."""
    for img in item.iter("img"):
        alt = " ".join((img.get("alt") or "").split())
        if alt and alt != title and title.endswith(alt) and len(title) - len(alt) <= MAX_KICKER \
                and weight(alt) >= 2:
            return alt
    return title


def _agree(structured: Structured, items: list[Item]) -> bool:
    """Structured data is trusted only as far as the page shows it: most of its links are the list's."""
    mine = {canonical_link(i.link) for i in items}
    theirs = {canonical_link(i.link) for i in structured.items}
    return bool(theirs) and len(mine & theirs) >= 0.6 * len(theirs)


def _fill(items: list[Item], structured: Structured) -> list[Item]:
    """Dates and pictures the visible item lacks, from the structured item with its link."""
    by_link = {canonical_link(i.link): i for i in structured.items}
    out = []
    for item in items:
        other = by_link.get(canonical_link(item.link))
        if other is not None and (item.date is None or item.image is None):
            item = Item(title=item.title, link=item.link, summary=item.summary or other.summary,
                        date=item.date or other.date, image=item.image or other.image)
        out.append(item)
    return out
