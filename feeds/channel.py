"""What every feed of one scope (all articles, one tag, or one view) says about itself.

A ``Channel`` is pure data: titles, the URLs the feed is served at, and the
date an empty feed reports. The entry helpers here (dates, content) are shared
by the Atom, RSS, JSON Feed and HTML renderers so the formats never disagree.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final
from urllib.parse import quote

from feeds.urls import PageFormat, Urls
from sources.model import Article, Author, Enclosure, Tag, uuid_urn
from tagfeed.errors import RenderError

GENERATOR: Final = "tagfeed"
# The date of a feed with no entries: fixed, so an empty feed is byte-stable too.
EMPTY_FEED_DATE: Final = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Characters XML 1.0 cannot carry at all (lxml refuses them): C0 controls, surrogates, U+FFFE/F.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """One feed scope: ``tag=None`` means every article of the site."""

    urls: Urls
    site_title: str
    generator_version: str  # tagfeed's version, passed in by the build (feeds/ does not import tagfeed)
    tag: Tag | None = None
    language: str | None = None
    generator_uri: str | None = None
    empty_updated: datetime = EMPTY_FEED_DATE
    hub: str | None = None  # a WebSub hub: every format links it (rel=hub), beside rel=self
    view: bool = False  # ``tag`` names a view (a query's matches, views/<slug>.*), not a tag
    search: str | None = None  # a search query's live feed (the server's /search.atom?q=...), tag None

    @property
    def scope(self) -> str:
        """What the channel's feeds are of, as the feed id and archive plan key it."""
        if self.search is not None:
            return f"search:{self.search}"
        if self.tag is None:
            return "all"
        return f"{'view' if self.view else 'tag'}:{self.tag.slug}"

    @property
    def title(self) -> str:
        if self.search is not None:
            return f"Search: {self.search} — {self.site_title}"
        return f"{self.tag.name} — {self.site_title}" if self.tag else self.site_title

    @property
    def subtitle(self) -> str:
        if self.search is not None:
            return f"Articles matching {self.search} on {self.site_title}"
        if self.tag and self.view:
            return f"Articles of the view {self.tag.name} on {self.site_title}"
        if self.tag:
            return f"Articles tagged {self.tag.name} on {self.site_title}"
        return f"Every article on {self.site_title}"

    @property
    def feed_id(self) -> str:
        """Independent of base_url, like article ids: moving the site keeps it."""
        return uuid_urn("feed:" + self.scope)

    def path(self, fmt: PageFormat) -> str:
        if self.search is not None:
            return f"search{'' if fmt == 'html' else '.' + fmt}?{search_query_string(self.search)}"
        if self.tag and self.view:
            return self.urls.view_path(self.tag.slug, fmt)
        if self.tag:
            return self.urls.tag_path(self.tag.slug, fmt)
        return self.urls.all_path(fmt)

    def feed_url(self, fmt: PageFormat) -> str:
        return self.urls.url(self.path(fmt))

    @property
    def html_url(self) -> str:
        return self.feed_url("html")

    def archive_path(self, page: int) -> str:
        if self.tag is None:
            raise RenderError("channel", "only tag and view feeds are archived")
        return self.urls.archive_path(self.tag.slug, page, view=self.view)


def search_query_string(query: str) -> str:
    """The one spelling of a search's query string, so a feed's rel=self is the URL it is served at
    (the server redirects other spellings of a search feed's URL to it)."""
    return "q=" + quote(query, safe=":/@!$'()*,;")


def utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is timezone.utc:
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RenderError(what, "datetime has no time zone")
    return moment.astimezone(timezone.utc)


def entry_dates(article: Article) -> tuple[datetime, datetime]:
    """(published, updated) in UTC; one may stand in for the other, never the clock.

    The pipeline always fills both, so an article with neither is a bug upstream.
    """
    published = article.published or article.updated
    updated = article.updated or article.published
    if published is None or updated is None:
        raise RenderError(f"article {article.id}", "has no published or updated date")
    if published.tzinfo is not timezone.utc or updated.tzinfo is not timezone.utc:  # the store's are UTC
        published, updated = utc(published, article.id), utc(updated, article.id)
    return published, updated if updated > published else published


def feed_updated(channel: Channel, articles: Sequence[Article]) -> datetime:
    """The newest entry's updated, so unchanged input gives unchanged bytes."""
    return max((entry_dates(a)[1] for a in articles), default=utc(channel.empty_updated, "channel"))


@dataclass(slots=True)
class EntryFacts:
    """What every format says about one entry, worked out once for all of them.

    An article shows in four formats, and in several feeds of each (feeds/site.py);
    its dates, link and body are the same in all, so they are derived once per article.
    """

    published: datetime  # UTC (entry_dates)
    updated: datetime
    published_text: str  # isoformat(): Atom's and JSON Feed's dates, HTML's datetime=
    updated_text: str
    link: str  # Urls.article_link
    content: str  # entry_content: the HTML body
    xml_content: str  # xml_escape(content): Atom's content and RSS's description are the same text


def entry_facts(urls: Urls, article: Article) -> EntryFacts:
    """The article's ``EntryFacts``, as every renderer derived them itself before."""
    published, updated = entry_dates(article)
    published_text = published.isoformat()
    updated_text = published_text if updated == published else updated.isoformat()
    content = entry_content(article)
    return EntryFacts(published, updated, published_text, updated_text, urls.article_link(article), content,
                      xml_escape(content))


def entry_title(article: Article) -> str:
    """Readers need a title; an article without one borrows its first words."""
    if article.title.strip():
        return article.title
    words = " ".join(entry_summary(article).split())
    return (words[:77] + "…" if len(words) > 80 else words) or "Untitled"


def entry_summary(article: Article) -> str:
    return article.summary or (article.paragraphs[0] if article.paragraphs else "")


def entry_content(article: Article) -> str:
    """HTML body: sanitized upstream HTML as is, else escaped caption and paragraphs."""
    if article.content_html:
        return article.content_html
    parts = []
    if article.caption:
        parts.append(f"<figure><figcaption>{html.escape(article.caption)}</figcaption></figure>")
    paragraphs = list(article.paragraphs or (entry_summary(article) or article.title,))
    if article.truncated:  # the model keeps clean text; readers are shown where the teaser stops
        paragraphs[-1] += "\u00a0\u2026"
    parts.extend(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return "\n".join(parts)


UNKNOWN_MEDIA_TYPE: Final = "application/octet-stream"


def enclosure_type(enclosure: Enclosure) -> str:
    """RSS and JSON Feed require a media type: one the upstream did not give is unknown bytes
    (a fixed answer, not a guess from the machine's mime.types, so output is the same everywhere)."""
    return enclosure.media_type or UNKNOWN_MEDIA_TYPE


def single_rss_author(article: Article) -> Author | None:
    """The one author RSS's ``<author>`` can carry ("address (Name)"), or None when the article
    needs dc:creator: several authors, or one without both (RSS allows one ``<author>``, and the
    W3C validator warns when an item mixes it with dc:creator)."""
    if len(article.authors) == 1 and article.authors[0].email and article.authors[0].name:
        return article.authors[0]
    return None


def sort_articles(articles: Sequence[Article]) -> list[Article]:
    """Newest first by published, ties by id: one order on every machine."""
    by_id = sorted(articles, key=lambda a: a.id)
    return sorted(by_id, key=lambda a: entry_dates(a)[0], reverse=True)


_NOT_XML_ASCII = bytes(b for b in range(32) if b not in (9, 10, 13))  # _NOT_XML's ASCII part


def has_non_xml(text: str) -> bool:
    """Whether ``text`` holds a character XML cannot carry. Most text is ASCII, where deleting
    the bad bytes is several times faster than the regular expression's search."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _NOT_XML_ASCII)) != len(data)
    return _NOT_XML.search(text) is not None


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def xml_clean(article: Article) -> Article:
    """The article without characters XML cannot hold (a stray form feed in a dump).

    Applied once before rendering so every format shows the same text; an
    article with nothing to change is returned as it is.
    """
    texts = [article.title, article.summary, *article.paragraphs, article.content_html or "",
             article.caption or "", article.source_title or ""]
    texts.extend([t.name for t in article.tags])
    if article.authors:
        texts.extend([f"{a.name}{a.email or ''}{a.uri or ''}" for a in article.authors])
    if article.title.strip() and not has_non_xml("\n".join(texts)):
        return article
    def opt(text: str | None) -> str | None:
        return None if text is None else xml_text(text)

    clean = dataclasses.replace(
        article,
        title=xml_text(article.title),
        summary=xml_text(article.summary),
        paragraphs=tuple(xml_text(p) for p in article.paragraphs),
        content_html=opt(article.content_html),
        caption=opt(article.caption),
        tags=tuple(Tag(slug=t.slug, name=xml_text(t.name)) for t in article.tags),
        source_title=opt(article.source_title),
        authors=tuple(Author(xml_text(a.name), opt(a.email), opt(a.uri)) for a in article.authors),
    )
    return dataclasses.replace(clean, title=entry_title(clean))


# Escaping for the string-built Atom and RSS, exactly as lxml serializes: ``& < >`` and
# carriage returns in text, and also ``"``, newlines and tabs in attributes.
# Most text has none of these: ``in`` tests cost less than the ``replace`` calls.
def xml_escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;") if "\r" in text else text


def xml_attr(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or '"' in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return text


def check_xml(document: str) -> str:
    """The document, unless it holds a character XML 1.0 cannot carry (lxml would refuse it too)."""
    if found := _NOT_XML.search(document):
        raise RenderError("feed", f"character U+{ord(found[0]):04X} cannot appear in XML")
    return document
