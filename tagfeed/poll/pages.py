"""What polling a page source adds to polling a feed: robots.txt, the page's own feed, the extractor,
and each new item's full text (``FullText``).

``Robots`` fetches each host's robots.txt once per process (and at most once a day),
conditionally against the copy kept in the store's meta table, so a build asks each
host once with a 304 for an answer. RFC 9309: a 4xx robots.txt allows everything,
a 5xx forbids everything until it answers again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sources.feed import parse_feed
from sources.fetch import FetchResult, Outcome
from sources.model import Article
from sources.page.articles import page_articles
from sources.page.extract import extract
from sources.page.fulltext import main_text
from sources.page.items import canonical_link
from sources.page.robots import allowed, robots_url
from sources.page.select import parse_selectors
from tagfeed.config import PageSource
from tagfeed.errors import BlockedAddress, FetchError, PageError, SourceError
from tagfeed.store.sqlite import Store

log = logging.getLogger("tagfeed.poll.pages")
Fetch = Callable[..., FetchResult]  # sources.fetch.fetch with the aggregator's limits bound
FULLTEXT_PER_POLL = 30  # item pages fetched by one poll at most (host_gap apart); the rest wait for the next
NOTES_PER_POLL = 5  # item pages that kept their teaser named in the build summary; the rest counted
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


class FullText:
    """Each new item's page fetched once for its main text (``sources.page.fulltext``), cached by
    canonical link in the store's meta table (``fulltext:<link>``), so a rebuild never asks again.

    ``fetch`` is a fetch of links from content (``sources.fetch``: public addresses only unless
    allowed); robots.txt of the item's host is asked through it too. An item whose title or teaser
    changed is asked again, conditionally. Whatever fails keeps the teaser and is noted; only a
    failure that may pass (timeout, 5xx) is asked again by the next poll."""

    def __init__(self, store: Store, robots: Robots, fetch: Fetch) -> None:
        self.store = store
        self.robots = robots
        self.fetch = fetch

    def apply(self, articles: Sequence[Article], max_bytes: int) -> tuple[list[Article], tuple[str, ...]]:
        """``articles`` with their full text where it is known or can be had; notes for the summary."""
        out: list[Article] = []
        failed: list[str] = []
        asked = 0
        for article in articles:
            if not article.link or article.content_html:
                out.append(article)
                continue
            key = f"fulltext:{canonical_link(article.link)}"
            cached = json.loads(self.store.get_meta(key) or "null")
            seen = _sighting(article)
            if cached is None or cached.get("seen") != seen:
                if asked >= FULLTEXT_PER_POLL:
                    out.append(article)
                    continue
                asked += 1
                cached = self._ask(article.link, max_bytes, cached, seen, key, failed)
            html = cached.get("html") if cached else None
            out.append(dataclasses.replace(article, content_html=html, truncated=False) if html else article)
        notes = tuple(failed[:NOTES_PER_POLL])
        if len(failed) > NOTES_PER_POLL:
            notes += (f"{len(failed) - NOTES_PER_POLL} more item pages kept their teaser",)
        return out, notes

    def _ask(self, link: str, max_bytes: int, cached: dict[str, str] | None, seen: str, key: str,
             failed: list[str]) -> dict[str, str] | None:
        """Fetch ``link`` (conditionally against ``cached``) and store what it gave under ``key``."""
        old = cached or {}
        try:
            self.robots.check(link, self.fetch)
            result = self.fetch(link, etag=old.get("etag"), last_modified=old.get("last_modified"),
                                max_bytes=max_bytes)
        except (PageError, BlockedAddress) as exc:  # disallowed or not public: final, not asked again
            entry: dict[str, str] | None = {"seen": seen}
            failed.append(f"{exc}; the teaser was kept")
        except SourceError as exc:  # may pass: asked again next poll
            failed.append(f"{exc}; the teaser was kept")
            return cached
        else:
            if result.outcome is Outcome.NOT_MODIFIED and cached is not None:
                entry = {**cached, "seen": seen}
            elif result.outcome is Outcome.OK:
                html = main_text(result.body, result.url, result.headers.get("content-type"))
                entry = {"seen": seen, "html": html or "", "etag": result.etag or "",
                         "last_modified": result.last_modified or ""}
                if html is None:
                    failed.append(f"{link}: no main text found; the teaser was kept")
            elif 400 <= result.status < 500 and result.status != 429:
                entry = {"seen": seen}
                failed.append(f"{link}: HTTP {result.status}; the teaser was kept")
            else:
                failed.append(f"{link}: HTTP {result.status}; the teaser was kept")
                return cached
        self.store.set_meta(key, json.dumps(entry))
        return entry


def _sighting(article: Article) -> str:
    """What an item showed on its listing page; when it changes, its page is asked again."""
    return hashlib.sha256(f"{article.title}\0{article.summary}".encode()).hexdigest()[:16]


FEED_NOTE = "page_feed:"  # + a page source's name: the note on its own feed, kept for /healthz ("" = none)


def feed_note(url: str, feed: str, prefer_feed: bool) -> str:
    """The build summary's and /healthz's line on a page that declares its own feed."""
    return (f"{url}: this page has a feed: {feed}"
            + ("; using it (prefer_feed = true)" if prefer_feed else " (set prefer_feed = true to use it)"))


def remember_feed_note(store: Store, name: str, note: str) -> None:
    """Keep the page's feed note (or its absence) for /healthz; written only when it changed."""
    if (store.get_meta(FEED_NOTE + name) or "") != note:
        store.set_meta(FEED_NOTE + name, note)


def page_poll(source: PageSource, result: FetchResult, now: datetime, fetch: Fetch,
              fetch_content: Fetch | None = None,
              fulltext: FullText | None = None) -> tuple[list[Article], tuple[str, ...]]:
    """The page's articles and notes for the build summary ("this page has a feed: URL").

    ``fetch_content`` fetches the URLs the page hands us (its own feed), ``fulltext`` is used
    when the source asks for full text."""
    select = parse_selectors(dict(source.select), "select") if source.select else None
    page = extract(result.body, url=result.url, now=now, content_type=result.headers.get("content-type"),
                   select=select)
    notes: tuple[str, ...] = (feed_note(source.url, page.feeds[0], source.prefer_feed),) if page.feeds else ()
    articles: list[Article] | None = None
    if source.prefer_feed and page.feeds:
        try:
            feed = (fetch_content or fetch)(page.feeds[0], max_bytes=source.max_bytes)
        except SourceError as exc:  # unreachable, or not at a public address: the page itself still lists
            notes += (f"{exc}; the page's own items were used",)
        else:
            if feed.outcome is Outcome.OK:
                articles = parse_feed(feed.body, url=feed.url, headers=feed.headers, tags=source.tags)
            else:
                notes += (f"{page.feeds[0]}: HTTP {feed.status}; the page's own items were used",)
    if articles is None:
        articles = page_articles(page, source.tags)
    if source.fulltext and fulltext is not None:
        articles, more = fulltext.apply(articles, source.max_bytes)
        notes += more
    return articles, notes
