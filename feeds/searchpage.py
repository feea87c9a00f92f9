"""The server's search page (``GET /search?q=``): a form, then the matches in the site's own style.

Plain HTML, working without JavaScript: the form is a GET to the page itself.
The frame, rows and escaping are the index's and tag pages' (``feeds.html``), so
a result looks like the same article anywhere on the site. Pure: the server
hands in what it found (each article with why it matched) or the parse error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from feeds.channel import Channel, entry_dates
from feeds.html import _FOOT, _LIST_END, _article_row, _e, _frame_top, feed_links
from sources.model import Article

SEARCH_PATH = "search"


@dataclass(frozen=True, slots=True)
class SearchPage:
    """What one search gave: the matches with why, or the error; ``more``: matches past the list."""

    query: str
    found: Sequence[tuple[Article, str]] = ()  # each match and why it matched
    error: str | None = None
    more: bool = False
    complete: bool = True


def _form(query: str) -> str:
    return ('<form action="search" method="get" role="search">\n'
            f'<input type="search" name="q" value="{_e(query)}" aria-label="Search" maxlength="500" size="40">\n'
            '<button type="submit">Search</button>\n</form>\n')


def render_search_page(channel: Channel, page: SearchPage) -> bytes:
    """The page of ``page.query``: its feeds (a reader can subscribe to the search), then the matches."""
    urls = channel.urls
    feeds = feed_links(channel) if page.query and page.error is None else []
    title = channel.title if page.query else f"Search — {channel.site_title}"
    out = [_frame_top(title, feeds, urls, SEARCH_PATH, channel.site_title), "<h1>Search</h1>\n", _form(page.query),
           '<p class="meta">Words and "phrases", tag:NAME, source:NAME, title:, author:, /regex/, OR, -word, '
           "after:2026-01-01, newer:7d.</p>\n"]
    if page.error is not None:
        out += ['<p role="alert"><strong>This query does not parse:</strong> ', _e(page.error), "</p>\n"]
    elif page.query:
        count = f"{len(page.found)}{' (the newest; more match)' if page.more else ''}"
        out += ["<p>", _e(channel.subtitle), ": ", count, ".</p>\n", '<p class="feeds">Subscribe to this search:\n']
        out.extend(f'<a href="{_e(f.href)}" type="{_e(f.media_type)}">{_e(f.name)}</a>\n' for f in feeds)
        out.append("</p>\n")
        if not page.complete:
            out.append('<p class="meta">The search stopped early (time limit): older matches may be missing.</p>\n')
        out.append("<section>\n<h2>Matches</h2>\n")
        if page.found:
            out.append('<ul class="items">\n')
            for article, why in page.found:
                row = _article_row(urls, SEARCH_PATH, article, entry_dates(article)[0])
                out.append(row.replace("</article>", f'<p class="meta">matched: {_e(why)}</p>\n</article>', 1))
            out.append("</ul>\n\n")
        else:
            out.append("<p>No articles match.</p>\n")
        out.append(_LIST_END)
    out.append(_FOOT)
    return "".join(out).encode("utf-8")
