"""HTML pages for people: the index, one page per tag, one per article.

Jinja2 with autoescape on; templates only lay out what these functions hand
them. Links between pages are relative (the tree works from any host or a
disk), feed links absolute (readers copy them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from feeds.channel import GENERATOR, Channel, entry_dates, entry_summary
from feeds.status import SourceStatus
from feeds.urls import FORMAT_NAMES, FORMATS, MEDIA_TYPES, Urls
from sources.model import Article, Tag

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class FeedLink:
    """One feed of a page, as autodiscovery and the page's own links show it."""

    fmt: str
    title: str
    href: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]

    @property
    def name(self) -> str:
        return FORMAT_NAMES[self.fmt]


@dataclass(frozen=True, slots=True)
class TagEntry:
    """A tag as the index lists it."""

    tag: Tag
    count: int


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["isodate"] = lambda d: d.isoformat()
    env.filters["humandate"] = human_date
    env.globals.update(published=lambda a: entry_dates(a)[0], updated=lambda a: entry_dates(a)[1],
                       summary=entry_summary, generator=GENERATOR)
    return env


def human_date(moment: datetime) -> str:
    """Locale-free, so the bytes do not depend on the machine."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def feed_links(channel: Channel) -> list[FeedLink]:
    return [FeedLink(fmt, f"{channel.title} ({FORMAT_NAMES[fmt]})", channel.feed_url(fmt))
            for fmt in FORMATS]


def _render(template: str, **context: object) -> bytes:
    return _environment().get_template(template).render(**context).encode("utf-8")


def render_tag_page(channel: Channel, articles: Sequence[Article]) -> bytes:
    here = channel.path("html")
    return _render("tag.html", channel=channel, urls=channel.urls, here=here, title=channel.title,
                   site_title=channel.site_title, feeds=feed_links(channel), articles=articles)


def render_index(channel: Channel, tags: Sequence[TagEntry], articles: Sequence[Article],
                 sources: Sequence[SourceStatus] = ()) -> bytes:
    """The home page: every tag with its feeds, then the newest articles."""
    here = channel.urls.index_path()
    return _render("index.html", channel=channel, urls=channel.urls, here=here, title=channel.title,
                   site_title=channel.site_title, feeds=feed_links(channel), tags=tags,
                   articles=articles, sources=sources)


def render_article_page(site_title: str, urls: Urls, article: Article) -> bytes:
    here = urls.article_path(article)
    body = Markup(article.content_html) if article.content_html else None  # sanitized upstream
    upstream = article.link if article.link and article.link.startswith(("http://", "https://")) else None
    return _render("article.html", site_title=site_title, urls=urls, here=here, feeds=[],
                   article=article, body=body, upstream=upstream,
                   title=f"{article.title} — {site_title}")
