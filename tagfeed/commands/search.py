"""``tagfeed search`` and the server's search: the index narrows, ``matches`` decides.

The full-text index (``tagfeed.store.search``) gives the articles holding the
query's words, tags and sources, newest first; each is then judged by the same
``matches`` as views and rules, so ``tag:``, ``source:``, dates, NOT and regexes
mean here what they mean there. A query the index cannot narrow (only a NOT, a
regex, a date) reads the articles newest first. Either way the work is bounded:
at most ``limit`` results, and the reading stops after ``budget`` seconds
(``complete`` then says so), so no query can hold a server thread for long.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sources.model import Article
from tagfeed.commands.preview import Facts, _items as preview_items
from tagfeed.query import Why, matches, parse_query
from tagfeed.query.narrow import narrowing
from tagfeed.query.nodes import Query
from tagfeed.store.sqlite import Store

MAX_RESULTS: Final = 200  # the most any search returns
BUDGET: Final = 2.0  # seconds of reading articles, at most, per search
_CHECK_EVERY: Final = 64  # articles judged between looks at the clock


@dataclass(frozen=True, slots=True)
class Found:
    article: Article
    why: Why


@dataclass(frozen=True, slots=True)
class Results:
    """The newest matches of one query; ``more``: there are others past ``limit``."""

    query: Query
    found: tuple[Found, ...]
    more: bool
    judged: int  # articles ``matches`` looked at
    narrowed: bool  # the index narrowed the candidates
    complete: bool  # False when the budget ran out first


def search(store: Store, text: str, now: datetime, *, limit: int = 20, budget: float = BUDGET) -> Results:
    """The newest ``limit`` (at most ``MAX_RESULTS``) stored articles matching ``text``.
    Raises ``QueryError`` for a query that does not parse."""
    return search_query(store, parse_query(text), now, limit=limit, budget=budget)


def search_query(store: Store, query: Query, now: datetime, *, limit: int = 20, budget: float = BUDGET) -> Results:
    """``search`` of a parsed query."""
    limit = max(0, min(limit, MAX_RESULTS))
    narrow = narrowing(query)
    found: list[Found] = []
    judged, more, complete = 0, False, True
    deadline = time.monotonic() + budget
    for article in store.search_articles(narrow):
        judged += 1
        why = matches(query, article, now)
        if why is not None:
            if len(found) >= limit:
                more = True
                break
            found.append(Found(article, why))
        if judged % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            complete = False
            break
    return Results(query, tuple(found), more, judged, narrow is not None, complete)


def search_facts(results: Results) -> Facts:
    """The results as preview gives its facts (``--json`` prints them as they are)."""
    return {"query": results.query.text, "count": len(results.found), "more": results.more,
            "complete": results.complete, "narrowed_by_index": results.narrowed, "judged": results.judged,
            "newest": [_item(f) for f in results.found]}


def _item(found: Found) -> Facts:
    a = found.article
    return {"id": a.id, "title": a.title, "link": a.link,
            "published": a.published.isoformat() if a.published else None,
            "tags": [t.name for t in a.tags], "why": [{"term": h.term, "found": h.found} for h in found.why.hits]}


def search_lines(facts: Facts) -> list[str]:
    """The facts as a person reads them, in preview's layout."""
    shown = f"{facts['count']}{' (more not shown)' if facts['more'] else ''}"
    lines = [f"query: {facts['query']}", f"matches: {shown}"]
    if not facts["complete"]:
        lines.append("note: stopped early (time budget); older matches may be missing")
    return [*lines, *preview_items(facts["newest"])]
