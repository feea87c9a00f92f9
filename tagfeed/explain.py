"""``tagfeed explain``: why an article or a source is where it is, told from the store and the config.

It only reads: the store (articles, source states, archive pages) and the
config (``max_items``, each feed's ``every``). It never fetches, never
touches the output tree and prints nothing: ``explain`` returns plain lines
for ``cli`` to show. Each "why" is worded by a small pure function
(``id_origin``, ``content_rule``, ``next_fetch_reason``).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

from feeds.channel import sort_articles
from feeds.urls import FORMATS, Urls
from sources.fetch import NEVER
from sources.model import Article, article_id, normalize_title, uuid_urn
from sources.schedule import FRESHNESS_CAP
from tagfeed.archive import archive_of
from tagfeed.config import Config, FeedSource
from tagfeed.errors import ExplainError
from tagfeed.health import display_name
from tagfeed.store import SourceState, Store

_ARTICLE_PAGE = re.compile(r"(?:^|/)articles/([0-9a-f]{32})\.html$")
_STATES = {
    "ok": "ok",
    "error": "error: failing; what it gave before stays published",
    "backoff": "backoff: the server asked us to wait (429/503 Retry-After)",
    "gone": "gone: HTTP 410, never polled again; its articles stay published",
    "warning": "warning: it works, but gave far fewer articles than before (yield check)",
    "new": "not polled yet: configured, but no build has reached it",
}


def explain(config: Config, store: Store, target: str, *, cwd: Path) -> list[str]:
    """Lines about ``target``: a source (feed URL, dump path) or an article (id, title, link, page)."""
    state = find_source(config, store, target, cwd)
    if state is not None:
        return source_lines(config, store, state)
    article = find_article(store, target)
    if article is not None:
        return article_lines(config, store, article)
    raise ExplainError(target, "no article (id, title, link, articles/<hex>.html) or source "
                               "(feed URL, tag-page dump) by that name in the store; has a build run?")


def _root(config: Config) -> Path:
    return config.path.parent if config.path else Path.cwd()


def _feed(config: Config, url: str) -> FeedSource | None:
    return next((s for s in config.sources if isinstance(s, FeedSource) and s.url == url), None)


def find_source(config: Config, store: Store, target: str, cwd: Path) -> SourceState | None:
    """A stored source by name or current URL, a dump path from here or the config's folder, or a configured feed."""
    states = store.sources()
    for state in states:
        if target in (state.name, state.url):
            return state
    paths = {os.path.realpath(cwd / target), os.path.realpath(_root(config) / target)}
    for state in states:
        if state.kind == "tagpage" and os.path.realpath(state.name) in paths:
            return state
    if _feed(config, target):
        return SourceState(name=target, kind="feed", state="new")
    return None


def find_article(store: Store, target: str) -> Article | None:
    """By id, by title (a tag-page id is its title's), else by link, page path or title among all."""
    for key in (target, article_id(target)):
        found = store.get_article(key)
        if found is not None:
            return found[0]
    page = _ARTICLE_PAGE.search(target)
    title = normalize_title(target)
    candidates = list(store.articles())
    for matches in (lambda a: a.link == target, lambda a: page is not None and a.id_hex == page.group(1),
                    lambda a: normalize_title(a.title) == title):
        hit = next((a for a in candidates if matches(a)), None)
        if hit is not None:
            return hit
    return None


# -- articles -------------------------------------------------------------------
def id_origin(article: Article) -> str:
    """Which key produced the id (sources/model.py article_id, sources/feed.py _entry_id)."""
    if article.id == article_id(article.title):
        return (f'uuid5 of its normalized title "{normalize_title(article.title)}" '
                "(tag pages: one headline on any page is one article)")
    if article.link and article.id == uuid_urn("link:" + article.link):
        return f"uuid5 of its link {article.link} (the entry had no absolute id)"
    if not article.id.startswith("urn:uuid:"):
        return "the upstream entry's own id (an absolute IRI), kept as is"
    return "uuid5 of the entry's feed-local guid, or of its title and date (it had no absolute id nor link)"


def content_rule(article: Article) -> str:
    kind = "a teaser (cut short at the source)" if article.truncated else "the full text"
    where = "sanitized upstream HTML" if article.content_html else "the tag page's paragraphs"
    return (f"{kind}, {where}; from the same source the newest text wins, "
            "from another source the fuller one")


def _date_lines(article: Article) -> list[str]:
    local = not (article.source or "").startswith(("http://", "https://"))
    why = "first seen by tagfeed; tag pages carry no dates" if local else \
        "the upstream date, or first seen when the entry had none"
    changed = "unchanged since" if article.updated == article.published else "its content changed since"
    return [f"  published: {_when(article.published)} ({why})",
            f"  updated: {_when(article.updated)} ({changed})"]


def article_lines(config: Config, store: Store, article: Article) -> list[str]:
    root = _root(config)
    lines = [f"article {article.id}", f"  title: {article.title}", f"  id: {id_origin(article)}",
             f"  source: {display_name(article.source, root) or 'unknown'}"]
    if article.link:
        lines.append(f"  link: {article.link}")
    lines += _date_lines(article)
    lines.append(f"  content: {content_rule(article)}")
    lines.append("  tags: " + (", ".join(f"{t.name} ({t.slug})" for t in article.tags) or "none"))
    lines.append(f"  in the output (max_items = {config.site.max_items}):")
    lines += [f"    {line}" for line in feed_files(config, store, article)]
    return lines


def feed_files(config: Config, store: Store, article: Article) -> list[str]:
    """Every file of the output tree that carries the article, and why."""
    urls, limit = Urls(config.site.base_url), config.site.max_items
    ordered = sort_articles(list(store.articles()))
    lines = [f"{urls.article_path(article)} (its own page)"]
    rank = next((n for n, a in enumerate(ordered) if a.id == article.id), len(ordered))
    if rank < limit:
        everything = ", ".join([*(urls.all_path(f) for f in FORMATS), urls.index_path()])
        lines.append(f"{everything} (number {rank + 1} of all articles, newest first)")
    archived = dict(archive_of(store, article.id))
    for tag in article.tags:
        members = [a.id for a in ordered if any(t.slug == tag.slug for t in a.tags)]
        rank = members.index(article.id) if article.id in members else len(members)
        files = [urls.tag_path(tag.slug, f) for f in ("rss", "json", "html")] if rank < limit else []
        if tag.slug in archived:
            page = archived[tag.slug]
            files.insert(0, urls.archive_path(tag.slug, page))
            why = f"archive page {page}, RFC 5005"
        else:
            files.insert(0, urls.tag_path(tag.slug, "atom"))
            why = "current feed" if rank < limit else \
                "older than the window: in the current Atom feed until its archive page is cut"
        lines.append(f"tag {tag.name}: {', '.join(files)} (number {rank + 1} of {len(members)}; {why})")
    return lines


# -- sources --------------------------------------------------------------------
def next_fetch_reason(state: SourceState, every: int | None) -> str:
    """When the feed is polled next, and which rule decided it (sources/fetch.py next_fetch)."""
    when = state.next_fetch
    if state.state == "gone" or (when is not None and when >= NEVER):
        return "never: it answered 410 Gone"
    if when is None:
        return "at the next build (never polled yet)"
    at = _when(when)
    if state.retry_after is not None:
        return f"{at}: the server's Retry-After"
    if state.error_count:
        return (f"{at}: backoff after {state.error_count} failure(s) in a row "
                "(doubling from `every`, capped at 24 h, jittered; never given up)")
    interval = when - state.last_attempt if state.last_attempt else None
    if every is None or interval is None or interval <= timedelta(seconds=every):
        return f"{at}: `every` ({duration(every) if every else 'as configured'}) after the last poll"
    if state.ttl and interval == timedelta(minutes=state.ttl):
        return f"{at}: the feed's <ttl> of {state.ttl} min, longer than `every` ({duration(every)})"
    if interval == FRESHNESS_CAP:
        return f"{at}: the server's freshness hint, clamped to 24 h"
    return (f"{at}: the response's Cache-Control max-age or Expires ({duration(int(interval.total_seconds()))}), "
            f"longer than `every` ({duration(every)})")


def _feed_lines(config: Config, state: SourceState) -> list[str]:
    feed = _feed(config, state.name)
    validators = ", ".join(f"{k} {v}" for k, v in (("ETag", state.etag), ("Last-Modified", state.last_modified)) if v)
    lines = [f"  next fetch: {next_fetch_reason(state, feed.every if feed else None)}",
             f"  validators: {validators or 'none stored (the next poll is a full GET)'}"]
    if state.url and state.url != state.name:
        lines.insert(0, f"  polled at: {state.url} (it moved permanently)")
    if state.ttl:
        lines.append(f"  feed <ttl>: {state.ttl} min")
    if feed is None:
        lines.append("  configured: no longer (its articles stay published)")
    else:
        tags = ", ".join(feed.tags) or "none besides the entries' own"
        lines.append(f"  configured: every {duration(feed.every)}; tags: {tags}")
    return lines


def source_lines(config: Config, store: Store, state: SourceState) -> list[str]:
    root = _root(config)
    kind = "feed" if state.kind == "feed" else "tag-page dump"
    lines = [f"source {display_name(state.name, root)} ({kind})",
             f"  state: {_STATES.get(state.state, state.state)}",
             f"  last error: {state.last_error or 'none'}",
             f"  errors in a row: {state.error_count}",
             f"  last attempt: {_when(state.last_attempt)}; last ok: {_when(state.last_ok)}"]
    if state.kind == "feed":
        lines += _feed_lines(config, state)
    else:
        lines.append("  next read: every build (a local file)")
    stored = sum(1 for a in store.articles() if a.source in (state.name, state.url))
    lines.append(f"  articles: {state.article_count} in its last answer; {stored} in the store from it")
    return lines


def duration(seconds: int) -> str:
    """900 → "15m", 5400 → "1h30m": the config's own spelling."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else "never"
