"""What polling a page source adds to polling a feed: robots.txt, the page's own feed, the extractor.

``Robots`` fetches each host's robots.txt once per process (and at most once a day),
conditionally against the copy kept in the store's meta table, so a build asks each
host once with a 304 for an answer. RFC 9309: a 4xx robots.txt allows everything,
a 5xx forbids everything until it answers again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

from sources.feed import parse_feed
from sources.fetch import FetchResult, Outcome
from sources.model import Article
from sources.page.articles import page_articles
from sources.page.extract import extract
from sources.page.robots import allowed, robots_url
from sources.page.select import parse_selectors
from tagfeed.config import PageSource
from tagfeed.errors import FetchError, PageError
from tagfeed.store.sqlite import Store

Fetch = Callable[..., FetchResult]  # sources.fetch.fetch with the aggregator's limits bound
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_FRESH = 86400.0  # seconds a robots.txt read by this process is trusted without asking again
_SEEN: dict[str, tuple[float, str]] = {}  # robots URL -> (monotonic time read, body); "" = allow all


class Robots:
    """robots.txt per host, cached in memory and in the store's meta table (``robots:<url>``)."""

    def __init__(self, store: Store, user_agent: str) -> None:
        self.store = store
        self.user_agent = user_agent

    def check(self, url: str, fetch: Fetch) -> None:
        """Raise ``PageError`` naming the page when its host's robots.txt disallows it."""
        if not allowed(self.rules(robots_url(url), fetch), url, self.user_agent):
            raise PageError(url, f"robots.txt of this host disallows fetching it ({robots_url(url)})")

    def rules(self, where: str, fetch: Fetch) -> str:
        cached = _SEEN.get(where)
        if cached is not None and time.monotonic() - cached[0] < ROBOTS_FRESH:
            return cached[1]
        key = f"robots:{where}"
        stored = json.loads(self.store.get_meta(key) or "{}")
        result = fetch(where, etag=stored.get("etag"), last_modified=stored.get("last_modified"),
                       max_bytes=ROBOTS_MAX_BYTES)
        if result.outcome is Outcome.NOT_MODIFIED and "body" in stored:
            body = str(stored["body"])
        elif result.outcome is Outcome.OK:
            body = result.body.decode("utf-8", errors="replace")
            self.store.set_meta(key, json.dumps({"etag": result.etag, "last_modified": result.last_modified,
                                                 "body": body}))
        elif 400 <= result.status < 500:
            body = ""
        else:
            raise FetchError(where, f"robots.txt answered HTTP {result.status}: not fetching the page until it answers")
        _SEEN[where] = (time.monotonic(), body)
        return body


def page_poll(source: PageSource, result: FetchResult, now: datetime,
              fetch: Fetch) -> tuple[list[Article], tuple[str, ...]]:
    """The page's articles and notes for the build summary ("this page has a feed: URL")."""
    select = parse_selectors(dict(source.select), "select") if source.select else None
    page = extract(result.body, url=result.url, now=now, content_type=result.headers.get("content-type"),
                   select=select)
    notes: tuple[str, ...] = ()
    if page.feeds:
        notes = (f"{source.url}: this page has a feed: {page.feeds[0]}"
                 + ("; using it (prefer_feed = true)" if source.prefer_feed else
                    " (set prefer_feed = true to use it)"),)
    if source.prefer_feed and page.feeds:
        feed = fetch(page.feeds[0], max_bytes=source.max_bytes)
        if feed.outcome is Outcome.OK:
            return parse_feed(feed.body, url=feed.url, headers=feed.headers, tags=source.tags), notes
        notes += (f"{page.feeds[0]}: HTTP {feed.status}; the page's own items were used",)
    return page_articles(page, source.tags), notes
