"""``tagfeed explain``: why an article or a source is where it is, told from the store and the config.

It only reads: the store (articles, provenance, source states, archive
pages; an older store gains the empty side tables, nothing more) and the
config (``max_items``, each feed's ``every``). It never
fetches, never touches the output tree and prints nothing: ``explain``
returns the facts as JSON-ready data (``--json`` prints them as they are,
``tagfeed.commands.explain_text`` words them as lines). Each "why" is worded by a
small pure function (``id_origin``, ``content_rule``, ``next_fetch_reason``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from feeds.channel import sort_articles
from feeds.urls import FORMATS, Urls
from sources.fetch import NEVER
from sources.model import Article, article_id, normalize_title, uuid_urn
from sources.schedule import FRESHNESS_CAP
from tagfeed.building.archive import archive_of
from tagfeed.building.rules import verdict_facts
from tagfeed.config import Config, FeedSource
from tagfeed.errors import ExplainError
from tagfeed.building.incidents import display_name
from tagfeed.store.provenance import Sighting, contributed, sighting_of, sightings_for
from tagfeed.store.sqlite import SourceState, Store

Facts = dict[str, Any]
_ARTICLE_PAGE = re.compile(r"(?:^|/)articles/([0-9a-f]{32})\.html$")
_STATES = {
    "ok": "ok",
    "error": "error: failing; what it gave before stays published",
    "backoff": "backoff: the server asked us to wait (429/503 Retry-After)",
    "gone": "gone: HTTP 410, never polled again; its articles stay published",
    "warning": "warning: it works, but gave far fewer articles than before (yield check)",
    "new": "not polled yet: configured, but no build has reached it",
}


def explain(config: Config, store: Store, target: str, *, cwd: Path) -> Facts:
    """Facts about ``target``: a source (feed URL, dump path) or an article (id, title, link, page)."""
    state = find_source(config, store, target, cwd)
    if state is not None:
        return source_facts(config, store, state)
    article = find_article(store, target)
    if article is not None:
        return article_facts(config, store, article)
    if verdicts := verdict_facts(store, target):  # not stored: a rule blocked every copy
        return {"type": "blocked", "id": verdicts[0]["id"], "title": verdicts[0]["title"],
                "rules": [{**v, "source": display_name(v["source"], _root(config))} for v in verdicts]}
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
def id_key(article: Article) -> str:
    """Which key produced the id (sources/model.py article_id, sources/feed/read.py _entry_id)."""
    if article.id == article_id(article.title):
        return "title"
    if article.link and article.id == uuid_urn("link:" + article.link):
        return "link"
    if not article.id.startswith("urn:uuid:"):
        return "upstream-id"
    return "guid-or-title-date"


def id_origin(article: Article) -> str:
    return {
        "title": f'uuid5 of its normalized title "{normalize_title(article.title)}" '
                 "(tag pages: one headline on any page is one article)",
        "link": f"uuid5 of its link {article.link} (the entry had no absolute id)",
        "upstream-id": "the upstream entry's own id (an absolute IRI), kept as is",
        "guid-or-title-date": "uuid5 of the entry's feed-local guid, or of its title and date "
                              "(it had no absolute id nor link)",
    }[id_key(article)]


def _text(sighting: Sighting) -> str:
    return "a teaser, cut short at the source" if sighting.truncated else "the full text"


def content_rule(article: Article, sightings: Sequence[Sighting], root: Path | None = None) -> Facts:
    """Which source's text is published and which rule of reconcile()/merge() chose it."""
    name = display_name(article.source or "unknown", root)
    won = next((s for s in sightings if s.source == article.source), sighting_of(article))
    others = [s for s in sightings if s.source != article.source]
    where = "sanitized upstream HTML" if article.content_html else "the tag page's paragraphs"
    kept = f"{_text(won)} ({won.chars} characters of {where}) from {name}"
    beaten = "; ".join(f"{display_name(s.source, root)} gave {_text(s)} ({s.chars} characters)" for s in others)
    if not others:
        rule, why = "only-source", f"{kept}, its only source; from the same source the newest text wins"
    elif all(won.fullness >= s.fullness for s in others):
        rule, why = "fuller-body", (f"{kept}: from different sources the fuller body wins, a full text over "
                                    f"a teaser, then the longer one; {beaten}")
    else:
        rule, why = "same-source-newest", (f"{kept}: it gave the stored text and then changed it, and from "
                                           f"the same source the newest text wins, even over a fuller one; "
                                           f"{beaten}")
    return {"rule": rule, "source": name, "truncated": article.truncated,
            "format": "html" if article.content_html else "paragraphs", "why": why}


def _sources(article: Article, sightings: Sequence[Sighting], root: Path) -> list[Facts]:
    return [{"name": display_name(s.source, root), "tags": [t.name for t in s.tags],
             "first_seen": _iso(s.first_seen), "last_seen": _iso(s.last_seen), "truncated": s.truncated,
             "chars": s.chars, "text_kept": s.source == article.source} for s in sightings]


def _tags(article: Article, sightings: Sequence[Sighting], root: Path) -> list[Facts]:
    return [{"name": t.name, "slug": t.slug,
             "from": [display_name(s.source, root) for s in sightings if any(g.slug == t.slug for g in s.tags)]}
            for t in article.tags]


def article_facts(config: Config, store: Store, article: Article) -> Facts:
    root = _root(config)
    recorded = sightings_for(store, article.id)
    sightings = list(recorded)
    if not any(s.source == article.source for s in recorded):
        # not recorded (stored before provenance was kept): what the article itself says
        sightings.append(sighting_of(article))
    local = not (article.source or "").startswith(("http://", "https://"))
    return {
        "type": "article", "id": article.id, "title": article.title, "link": article.link,
        "id_key": id_key(article), "id_origin": id_origin(article),
        "sources": _sources(article, sightings, root),
        "content_rule": content_rule(article, sightings, root),
        "tags": _tags(article, sightings, root),
        "first_seen": _iso(min((s.first_seen for s in recorded if s.first_seen), default=None)),
        "published": _iso(article.published),
        "published_why": "first seen by tagfeed; tag pages carry no dates" if local else
                         "the upstream date, or first seen when the entry had none",
        "updated": _iso(article.updated), "changed": article.updated != article.published,
        "max_items": config.site.max_items,
        "files": feed_files(config, store, article),
        "rules": [{**v, "source": display_name(v["source"], root)} for v in verdict_facts(store, article.id)],
    }


def feed_files(config: Config, store: Store, article: Article) -> list[Facts]:
    """Every file of the output tree that carries the article, and why, in groups."""
    urls, limit = Urls(config.site.base_url), config.site.max_items
    ordered = sort_articles(list(store.articles()))
    groups: list[Facts] = [{"tag": None, "paths": [urls.article_path(article)], "why": "its own page"}]
    rank = next((n for n, a in enumerate(ordered) if a.id == article.id), len(ordered))
    if rank < limit:
        groups.append({"tag": None, "paths": [*(urls.all_path(f) for f in FORMATS), urls.index_path()],
                       "why": f"number {rank + 1} of all articles, newest first"})
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
        groups.append({"tag": {"name": tag.name, "slug": tag.slug}, "paths": files,
                       "why": f"number {rank + 1} of {len(members)}; {why}"})
    return groups


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


def source_facts(config: Config, store: Store, state: SourceState) -> Facts:
    feed = _feed(config, state.name) if state.kind == "feed" else None
    names = [n for n in (state.name, state.url) if n]
    return {
        "type": "source", "name": display_name(state.name, _root(config)), "kind": state.kind,
        "state": state.state, "state_why": _STATES.get(state.state, state.state),
        "last_error": state.last_error, "error_count": state.error_count,
        "last_attempt": _iso(state.last_attempt), "last_ok": _iso(state.last_ok),
        "polled_at": state.url if state.url and state.url != state.name else None,
        "next_fetch": _iso(state.next_fetch) if state.kind == "feed" else None,
        "next_fetch_reason": next_fetch_reason(state, feed.every if feed else None) if state.kind == "feed"
        else "every build (a local file)",
        "validators": {"etag": state.etag, "last_modified": state.last_modified},
        "ttl": state.ttl,
        "configured": {"every": duration(feed.every), "tags": list(feed.tags)} if feed else None,
        "article_count": state.article_count,
        "articles_stored": sum(1 for a in store.articles() if a.source in names),
        "articles_contributed": contributed(store, names),
    }


def duration(seconds: int) -> str:
    """900 → "15m", 5400 → "1h30m": the config's own spelling."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else "never"
