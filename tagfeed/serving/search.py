"""The server's only dynamic responses: ``/search?q=`` (a page) and ``/search.atom|.rss|.json?q=``.

Each answer is the stored articles a query matches (``tagfeed.commands.search``),
rendered by the same renderers as a tag's feeds, with a ``Channel`` whose feeds
are the search's own URLs, so a reader can subscribe to a search. The ETag is
made of the store's change counter (bumped by every article write, in the same
transaction), the query and the format, so a poller's 304 costs one meta read
and no search; a query with ``newer:`` also changes with the minute. The query
is capped (``MAX_QUERY``: 400 above it), as are the results (``RESULTS``); a query
that does not parse is a 400 giving its position and reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Final

from flask import Flask, Response, request

from feeds.atom import render_atom
from feeds.channel import Channel, search_query_string
from feeds.jsonfeed import render_json
from feeds.rss import render_rss
from feeds.searchpage import SearchPage, render_search_page
from feeds.urls import MEDIA_TYPES, PageFormat, Urls
from sources.model import Article
from tagfeed import __version__
from tagfeed.commands.search import search_query
from tagfeed.config import Config
from tagfeed.errors import QueryError
from tagfeed.query import parse_query
from tagfeed.query.nodes import And, DateTerm, Node, Not, Or
from tagfeed.serving.httpcache import none_match
from tagfeed.store.postgres import open_store

MAX_QUERY: Final = 500  # characters of q; longer is a 400 (the language itself allows 1000)
RESULTS: Final = 50  # matches per answer, newest first
BUDGET: Final = 1.0  # seconds a search may read articles before it answers with what it found
CACHE: Final = "public, max-age=60"
_RENDER: Final[dict[str, Callable[[Channel, list[Article]], bytes]]] = {
    "atom": render_atom, "rss": render_rss, "json": render_json}
_TYPES: Final = {fmt: f"{MEDIA_TYPES[fmt]}; charset=utf-8" for fmt in (*_RENDER, "html")}
METHODS: Final = ["GET", "HEAD"]


def add_search(app: Flask, config: Config) -> None:
    """Route the search page and feeds on ``app`` (``server.create_app``)."""
    formats: tuple[PageFormat, ...] = ("html", "atom", "rss", "json")
    for fmt in formats:
        rule = "/search" if fmt == "html" else f"/search.{fmt}"
        app.add_url_rule(rule, f"search_{fmt}", _view(config, fmt), methods=METHODS, provide_automatic_options=False)


def _view(config: Config, fmt: PageFormat) -> Callable[[], Response]:
    def answer() -> Response:
        return respond(config, fmt, request.args.get("q", ""), request.headers.get("If-None-Match"),
                       raw_query=request.query_string.decode("latin-1"))
    return answer


def respond(config: Config, fmt: PageFormat, text: str, if_none_match: str | None,
            now: datetime | None = None, *, raw_query: str | None = None) -> Response:
    """The answer to a search of ``text`` in ``fmt``; see the module docstring. A feed asked for
    by another spelling of its URL (``raw_query``) is sent to the one its rel=self names."""
    now = now or datetime.now(timezone.utc)
    channel = Channel(urls=Urls(config.site.base_url), site_title=config.site.title,
                      generator_version=__version__, search=text.strip() or None)
    if len(text) > MAX_QUERY:
        return _bad(config, fmt, text, QueryError(MAX_QUERY + 1, f"a search is at most {MAX_QUERY} characters"))
    if not text.strip():
        if fmt != "html":
            return _bad(config, fmt, text, QueryError(1, "the query is empty"))
        return _page(render_search_page(channel, SearchPage("")), 200, None)
    try:
        query = parse_query(text)
    except QueryError as exc:
        return _bad(config, fmt, text, exc)
    if fmt != "html" and raw_query is not None and raw_query != search_query_string(text.strip()):
        return Response(status=301, headers={"Location": channel.feed_url(fmt), "Cache-Control": CACHE})
    with open_store(config.site) as store:
        etag = _etag(store.article_writes(), text, fmt, now if _has_newer(query.root) else None)
        if if_none_match and none_match(if_none_match, etag):
            return Response(status=304, headers={"ETag": etag, "Cache-Control": CACHE})
        results = search_query(store, query, now, limit=RESULTS, budget=BUDGET)
    articles = [f.article for f in results.found]
    if fmt == "html":
        page = SearchPage(text, [(f.article, f.why.describe()) for f in results.found], more=results.more,
                          complete=results.complete)
        body = render_search_page(channel, page)
    else:
        body = _RENDER[fmt](channel, articles)
    return Response(body, headers={"Content-Type": _TYPES[fmt], "ETag": etag, "Cache-Control": CACHE})


def _has_newer(node: Node) -> bool:
    """Whether the query has a ``newer:`` term (its matches move with the clock)."""
    if isinstance(node, DateTerm):
        return node.seconds is not None
    if isinstance(node, Not):
        return _has_newer(node.item)
    return isinstance(node, (And, Or)) and any(_has_newer(item) for item in node.items)


def _etag(changes: int, text: str, fmt: str, minute: datetime | None) -> str:
    key = f"{__version__}\n{changes}\n{fmt}\n{text}\n{minute.strftime('%Y-%m-%dT%H:%M') if minute else ''}"
    return '"s' + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + '"'


def _bad(config: Config, fmt: str, text: str, error: QueryError) -> Response:
    """400 naming the position and reason: a page with the form for people, plain text for readers."""
    if fmt == "html":
        channel = Channel(urls=Urls(config.site.base_url), site_title=config.site.title,
                          generator_version=__version__, search=None)
        page = SearchPage(text[:MAX_QUERY], error=f"position {error.position}: {error.reason}")
        return _page(render_search_page(channel, page), 400, None)
    return Response(f"400 Bad Request\nquery: position {error.position}: {error.reason}\n", status=400,
                    headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})


def _page(body: bytes, status: int, etag: str | None) -> Response:
    headers = {"Content-Type": _TYPES["html"], "Cache-Control": "no-store" if status != 200 else CACHE}
    if etag:
        headers["ETag"] = etag
    return Response(body, status=status, headers=headers)
