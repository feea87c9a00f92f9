"""``tagfeed preview``: what a query would match among the stored articles, changing nothing.

As a view (no ``--source``): how many stored articles match and the newest of them,
each with its tags and the terms that matched. As a rule for one source
(``--source``): what ``block = QUERY`` would drop of that source's articles, and what
``keep = QUERY`` would. The store is only read, the output tree never opened; the
clock comes in as ``now`` (``newer:``). The stored article is the merged one, so a
source's copy may have said less than what is judged here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from feeds.channel import sort_articles
from sources.model import Article
from tagfeed.building.incidents import display_name
from tagfeed.config import Config
from tagfeed.errors import ExplainError
from tagfeed.explain import find_source
from tagfeed.query import Why, matches, parse_query
from tagfeed.query.match import Subject
from tagfeed.store.sqlite import Store

Facts = dict[str, Any]


def preview(config: Config, store: Store, text: str, now: datetime, *, source: str | None = None,
            limit: int = 10, cwd: Path) -> Facts:
    query = parse_query(text)
    articles = list(store.articles())
    if source is None:
        matched = _matched(query, articles, now, limit)
        matched.pop("all")
        return {"query": text, "scope": "all stored articles", "articles": len(articles), **matched}
    state = find_source(config, store, source, cwd)
    if state is None:
        raise ExplainError(source, "no source by that name in the store or the config")
    given = {row[0] for row in store.provenance_rows([a.id for a in articles]) if row[1] == state.name}
    mine = [a for a in articles if a.id in given or a.source == state.name]
    root = config.path.parent if config.path else cwd
    matched = _matched(query, mine, now, limit)
    kept_ids = {item["id"] for item in matched.pop("all")}
    others = [a for a in sort_articles(mine) if a.id not in kept_ids]
    return {"query": text, "scope": display_name(state.name, root), "articles": len(mine),
            "block_drops": {"count": matched["count"], "newest": matched["newest"]},
            "keep_drops": {"count": len(others), "newest": [_item(a, None) for a in others[:limit]]}}


def _matched(query: Any, articles: Sequence[Article], now: datetime, limit: int) -> Facts:
    found = [(a, why) for a in sort_articles(articles) if (why := matches(query, Subject(a), now)) is not None]
    return {"count": len(found), "newest": [_item(a, why) for a, why in found[:limit]],
            "all": [{"id": a.id} for a, _ in found]}


def _item(article: Article, why: Why | None) -> Facts:
    return {"id": article.id, "title": article.title,
            "published": article.published.isoformat() if article.published else None,
            "tags": [t.name for t in article.tags],
            "why": [{"term": h.term, "found": h.found} for h in why.hits] if why else ["the keep rule did not match"]}


def preview_lines(facts: Facts) -> list[str]:
    """The facts as a person reads them (``--json`` prints them as they are)."""
    lines = [f"query: {facts['query']}", f"among: {facts['scope']} ({facts['articles']} articles)"]
    if "count" in facts:
        return [*lines, f"matches: {facts['count']}", *_items(facts["newest"])]
    for key, label in (("block_drops", "as block, it would drop"), ("keep_drops", "as keep, it would drop")):
        lines += [f"{label}: {facts[key]['count']}", *_items(facts[key]["newest"])]
    return lines


def _items(items: Sequence[Facts]) -> list[str]:
    out = []
    for item in items:
        why = "; ".join(f"{w['term']} ({w['found']})" if isinstance(w, dict) else w for w in item["why"])
        out += [f"  {item['published'] or '-'}  {item['title']}",
                f"      tags: {', '.join(item['tags']) or 'none'}; why: {why}"]
    return out
