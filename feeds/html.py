"""HTML pages for people: the index, one page per tag, one per article.

Links between pages are relative (the tree works from any host or a disk),
feed links absolute (readers copy them). Every page is string-built: tag and
article pages are thousands a build, and a template engine took several times
as long. Every piece of text is escaped as HTML autoescaping does (``_e``); the
pages of the seed build are held byte for byte by tests/data/golden/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from feeds.channel import GENERATOR, Channel, EntryFacts, entry_dates, entry_facts, entry_summary
from feeds.status import SourceDetail, SourceStatus
from feeds.urls import FORMAT_NAMES, FORMATS, MEDIA_TYPES, PageFormat, Urls
from sources.model import Article, Enclosure, Tag
from tagfeed.errors import RenderError

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


def human_date(moment: datetime) -> str:
    """Locale-free, so the bytes do not depend on the machine.

    ``strftime("%Y-%m-%d %H:%M UTC")``'s text in half its time (a build shows every article's
    date); years before 1000 are left to strftime, whose %Y pads them differently by platform.
    """
    if moment.year < 1000:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"{moment.year}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d} UTC"


def feed_links(channel: Channel) -> list[FeedLink]:
    return [FeedLink(fmt, f"{channel.title} ({FORMAT_NAMES[fmt]})", channel.feed_url(fmt))
            for fmt in FORMATS]


def _e(value: str) -> str:
    """HTML-escaped as markupsafe.escape (Jinja's autoescape) does it, as a plain str. Most text has
    nothing to escape, and five ``in`` tests cost less than five ``replace`` calls."""
    if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
        return (value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
                .replace("'", "&#39;").replace('"', "&#34;"))
    return value


# The frame around every page's main part.
_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>"""
_STYLE = """<link rel="icon" href="data:,">
<style>
body{max-width:42rem;margin:0 auto;padding:1rem;font:1.05rem/1.55 system-ui,sans-serif;color:#222;background:#fff}
a{color:#1a55a0}h1{line-height:1.2}header,footer{font-size:.9rem}footer{margin-top:2rem;color:#666}
ul.items{list-style:none;padding:0}ul.items li{margin:0 0 1.2rem}time,.meta{color:#666;font-size:.9rem}
.feeds a{margin-right:.6rem}figure{margin:1rem 0;font-style:italic;color:#555}
@media (prefers-color-scheme:dark){body{color:#ddd;background:#111}a{color:#8ab4f8}}
</style>
</head>
<body>
<header><a href="""
_FOOT = f"</main>\n<footer>Made by {_e(GENERATOR)}.</footer>\n</body>\n</html>\n"
_TEASER = '<p class="meta">This is the teaser the source published; the article continues upstream.</p>\n'


def _frame(title: str, feeds: Sequence[FeedLink], urls: Urls, here: str, site_title: str, main: list[str]) -> bytes:
    """A whole page: head, autodiscovery links, header, ``main``, footer."""
    return "".join([_frame_top(title, feeds, urls, here, site_title), *main, _FOOT]).encode("utf-8")


def _frame_top(title: str, feeds: Sequence[FeedLink], urls: Urls, here: str, site_title: str) -> str:
    """A page up to its main part: head, autodiscovery links, header."""
    out = [_HEAD, _e(title), "</title>\n"]
    out.extend(f'<link rel="alternate" type="{_e(f.media_type)}" title="{_e(f.title)}" href="{_e(f.href)}">\n'
               for f in feeds)
    if here == urls.index_path():
        out.append(f'<link rel="outline" type="text/x-opml" title="{_e(site_title)}: tag feeds (OPML)" '
                   f'href="{_e(urls.url(urls.opml_path()))}">\n')
    out.append(_page_top(site_title, urls, here.rpartition("/")[0]))
    return "".join(out)


@lru_cache(maxsize=256)
def _page_top(site_title: str, urls: Urls, folder: str) -> str:
    """The style sheet and header: the same on every page of a folder, so made once."""
    to_index = urls.href(f"{folder}/x" if folder else "x", urls.index_path())
    return "".join([_STYLE, '"', _e(to_index), '">', _e(site_title), "</a></header>\n<main>\n"])


@lru_cache(maxsize=1 << 16)
def _tag_link(urls: Urls, folder: str, slug: str, name: str) -> str:
    """An article page's link to a tag's page; every article page is in one folder."""
    page = f"{folder}/x" if folder else "x"  # any page of that folder
    return f'<a href="{_e(urls.href(page, urls.tag_path(slug, "html")))}" rel="tag">{_e(name)}</a>'


@lru_cache(maxsize=1 << 16)  # an article's dates show on its page and in its tags' lists
def _time(moment: datetime) -> str:
    return f'<time datetime="{moment.isoformat()}">{_e(human_date(moment))}</time>'  # ISO text needs no escaping


def render_tag_page(channel: Channel, articles: Sequence[Article], rows: Sequence[bytes] | None = None) -> bytes:
    """A tag's page: its feeds, then its articles, newest first.

    A caller rendering many tag pages (feeds/site.py) hands in each article's ``tag_page_row``
    as UTF-8, made once for all pages: they are all in one folder, so a row is the same on each.
    """
    if channel.tag is None:
        raise RenderError("channel", "a tag page needs a tag")
    urls, here = channel.urls, channel.path("html")
    feeds = feed_links(channel)
    top = [_frame_top(channel.title, feeds, urls, here, channel.site_title),
           f"<h1>{_e(channel.tag.name)}</h1>\n<p>{_e(channel.subtitle)}.</p>\n", '<p class="feeds">Subscribe:\n']
    top.extend(f'<a href="{_e(f.href)}" type="{_e(f.media_type)}">{_e(f.name)}</a>\n' for f in feeds)
    top.append("</p>\n\n<section>\n<h2>Latest articles</h2>\n")
    if not articles:
        return "".join([*top, "<p>No articles yet.</p>\n", _LIST_END, _FOOT]).encode("utf-8")
    if rows is None:
        rows = [tag_page_row(urls, here, a, entry_facts(urls, a)).encode("utf-8") for a in articles]
    return b"".join(["".join(top).encode("utf-8"), b'<ul class="items">\n', *rows, _ITEMS_END])


_LIST_END = "</section>\n\n"
_ITEMS_END = ("</ul>\n\n" + _LIST_END + _FOOT).encode("utf-8")


def tag_page_row(urls: Urls, here: str, article: Article, facts: EntryFacts) -> str:
    """One ``<li>`` of a page's article list; it depends on ``here``'s folder."""
    return _article_row(urls, here, article, facts.published)


def _article_row(urls: Urls, here: str, article: Article, published: datetime) -> str:
    row = ['<li>\n<article>\n<h3><a href="', _e(urls.href(here, urls.article_path(article))), '">',
           _e(article.title), "</a></h3>\n", _time(published), "\n"]
    if summary := entry_summary(article):
        row += ["<p>", _e(summary), "</p>\n"]
    row.append("</article>\n</li>\n")
    return "".join(row)


def _scope_list(urls: Urls, here: str, entries: Sequence[TagEntry],
                path: Callable[[str, PageFormat], str]) -> list[str]:
    """The index's list of tags (or views): each one's page, count and feeds."""
    href, url = urls.href, urls.url
    out = ['<ul class="items">\n']
    for entry in entries:
        slug = entry.tag.slug
        out += ['<li><a href="', _e(href(here, path(slug, "html"))), '">', _e(entry.tag.name),
                '</a>\n<span class="meta">(', _e(str(entry.count)), ')</span>\n<span class="feeds">\n<a href="',
                _e(url(path(slug, "atom"))), _TAG_END,
                _e(url(path(slug, "rss"))), '" type="application/rss+xml">RSS</a>\n<a href="',
                _e(url(path(slug, "json"))), '" type="application/feed+json">JSON Feed</a>\n</span></li>\n']
    out.append("</ul>\n")
    return out


def render_article_page(site_title: str, urls: Urls, article: Article) -> bytes:
    """An article's page: its text (or the upstream HTML), the teaser note, the source link, its tags."""
    here = urls.article_path(article)
    published, updated = entry_dates(article)
    main = ["<article>\n<h1>", _e(article.title), '</h1>\n<p class="meta">Published ', _time(published), "\n"]
    if updated != published:
        main += ["· updated ", _time(updated), "\n"]
    main.append("</p>\n")
    if article.authors:
        main += ['<p class="meta">By ', ", ".join([_e(a.label) for a in article.authors]), "</p>\n"]
    if article.image:
        main += ['<figure><img src="', _e(article.image), '" alt="', _e(article.title), '"></figure>\n']
    if article.content_html:
        main += [article.content_html, "\n"]  # sanitized upstream
    else:
        if article.caption:
            main += ["<figure><figcaption>", _e(article.caption), "</figcaption></figure>\n"]
        main.extend(f"<p>{_e(p)}</p>\n" for p in article.paragraphs or [entry_summary(article)])
    main.extend([_enclosure(e) for e in article.enclosures])
    if article.truncated:
        main.append(_TEASER)
    if article.link and article.link.startswith(("http://", "https://")):
        source = f" ({_e(article.source_title)})" if article.source_title else ""
        main += ['<p><a href="', _e(article.link), '" rel="external">Read it at the source</a>', source, "</p>\n"]
    if article.tags:
        folder = here.rpartition("/")[0]
        links = ",".join([_tag_link(urls, folder, t.slug, t.name) for t in article.tags])
        main += ['<nav aria-label="Tags"><p>Tags:\n', links, "</p></nav>\n"]
    main.append("</article>\n")
    return _frame(f"{article.title} — {site_title}", (), urls, here, site_title, main)


def _enclosure(file: Enclosure) -> str:
    """An audio enclosure plays on the page; any other is a link."""
    url = _e(file.url)
    kind = f" ({_e(file.media_type)})" if file.media_type else ""
    if file.is_audio:
        return (f'<p><audio controls preload="none" src="{url}"></audio><br><a href="{url}">Download the audio{kind}'
                "</a></p>\n")
    return f'<p><a href="{url}">Download the file{kind}</a></p>\n'


# The index's fixed text
_INDEX_FEEDS = ", as Atom, RSS and JSON feeds, one per tag.</p>\n"
_INDEX_SEARCH = '</p>\n<p><a href="search">Search</a> the articles by words, tags, sources and dates; a search is a feed too.\n'
_TAG_END = '" type="application/atom+xml">Atom</a>\n<a href="'
_SOURCES_TOP = ('<section id="sources">\n<h2>Sources</h2>\n<p>Incidents (a source failing, a tag page giving far '
                'fewer articles) are also a feed:\n<a href="')
_SOURCES_LIST = ('" type="application/atom+xml">source status (Atom)</a>. Each source, its state and what to do:\n'
                 '<a href="status.html">status page</a>.</p>\n<ul class="items">\n')


def render_index(channel: Channel, tags: Sequence[TagEntry], articles: Sequence[Article],
                 sources: Sequence[SourceStatus] = (), *, views: Sequence[TagEntry] = ()) -> bytes:
    """The home page: every tag and view with its feeds, then the newest articles, then the sources."""
    urls = channel.urls
    here = urls.index_path()
    feeds = feed_links(channel)
    out = [_frame_top(channel.title, feeds, urls, here, channel.site_title),
           "<h1>", _e(channel.title), "</h1>\n<p>", _e(channel.subtitle), _INDEX_FEEDS, '<p class="feeds">Subscribe:\n']
    out.extend(f'<a href="{_e(f.href)}" type="{_e(f.media_type)}">{_e(f.name)}</a>\n' for f in feeds)
    out.append(_INDEX_SEARCH)
    out.append("</p>\n\n<section>\n<h2>Tags</h2>\n")
    if tags:
        out += _scope_list(urls, here, tags, urls.tag_path)
    else:
        out.append("<p>No tags yet.</p>\n")
    if views:  # absent without [[views]], so such a site's index keeps its bytes
        out += ["</section>\n<section>\n<h2>Views</h2>\n", *_scope_list(urls, here, views, urls.view_path)]
    out.append("</section>\n<section>\n<h2>Latest articles</h2>\n")
    if articles:
        out.append('<ul class="items">\n')
        out.extend(_article_row(urls, here, a, entry_dates(a)[0]) for a in articles)
        out.append("</ul>\n\n")
    else:
        out.append("<p>No articles yet.</p>\n")
    out.append(_LIST_END)
    if sources:
        out += [_SOURCES_TOP, _e(urls.url(urls.status_path())), _SOURCES_LIST]
        for source in sources:
            out += ["<li><code>", _e(source.name), '</code> <span class="meta">', _e(source.state_name), "</span>\n"]
            if source.last_error:
                out += ['<br><span class="meta">', _e(source.last_error), "</span>\n"]
            if source.next_try:  # in its own zone, not turned to UTC; and not _time's cache,
                moment = source.next_try  # which takes equal moments in two zones for one
                out += ['<br><span class="meta">next try <time datetime="', _e(moment.isoformat()), '">',
                        _e(human_date(moment)), "</time></span>\n"]
            out.append("</li>\n")
        out.append("</ul>\n</section>\n")
    out.append(_FOOT)
    return "".join(out).encode("utf-8")


_STATUS_INTRO = ("<h1>Source status</h1>\n<p>Every configured source: its state, what it gave, and what to do when "
                 "it fails. Times are shown while a source is not ok. Incidents are also a feed:\n<a href=\"")


def render_status_page(site_title: str, urls: Urls, sources: Sequence[SourceDetail]) -> bytes:
    """status.html: each source with its state, articles, last error, last success and next try
    while failing, and what to do; links status.atom and the server's live /healthz."""
    here = urls.status_page_path()
    main = [_STATUS_INTRO, _e(urls.href(here, urls.status_path())),
            '" type="application/atom+xml">status.atom</a>; the live state (from <code>tagfeed serve</code>):\n'
            '<a href="', _e(urls.href(here, "healthz")), '">/healthz</a>.</p>\n']
    if not sources:
        main.append("<p>No sources configured.</p>\n")
    else:
        main.append('<ul class="items">\n')
        for source in sources:
            main += ["<li>\n<h2><code>", _e(source.name), "</code></h2>\n",
                     '<p><span class="state state-', _e(source.state), '">', _e(source.state_name), "</span> · ",
                     _e(source.kind), " · ", _e(str(source.articles)), " article(s)</p>\n"]
            if source.last_error:
                main += ['<p class="error">Last error: ', _e(source.last_error), "</p>\n"]
            if source.last_ok:
                main += ['<p class="meta">Last success ', _time_in_zone(source.last_ok), "</p>\n"]
            if source.next_try:
                main += ['<p class="meta">Next try ', _time_in_zone(source.next_try), "</p>\n"]
            if source.todo:
                main += ['<p class="todo">What to do: ', _e(source.todo), "</p>\n"]
            main.append("</li>\n")
        main.append("</ul>\n")
    return _frame(f"Source status — {site_title}", (), urls, here, site_title, main)


def _time_in_zone(moment: datetime) -> str:
    """A ``<time>`` in the moment's own zone (not ``_time``'s cache, which takes equal moments in
    two zones for one)."""
    return f'<time datetime="{_e(moment.isoformat())}">{_e(human_date(moment))}</time>'
