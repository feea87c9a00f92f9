"""The naive way: feedgen for Atom and RSS, ``json.dumps(indent=2)`` for JSON Feed.

Same tree and HTML as ``benchmarks.baseline``; only the three feed renderers differ.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from feedgen.feed import FeedGenerator

from benchmarks.baseline import Item, Renderer, _content, jsonfeed


def _feed(title: str, self_url: str, html_url: str, items: list[Item], base: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.subtitle(title)
    fg.author(name=title, uri=base)
    fg.link(href=self_url, rel="self")
    fg.link(href=html_url, rel="alternate")
    fg.description(title)
    updated = items[0].published if items else datetime(2000, 1, 1, tzinfo=timezone.utc)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    for i in items:
        fe = fg.add_entry(order="append")
        fe.id(i.id)
        fe.guid(i.id, permalink=False)
        fe.title(i.title)
        fe.link(href=f"{base}articles/{i.hex}.html")
        fe.published(i.published)
        fe.updated(i.published)
        fe.summary(i.paragraphs[0] if i.paragraphs else "")
        fe.content(_content(i), type="html")
        for slug, name in i.tags.items():
            fe.category(term=slug, label=name)
    return fg


def atom(title: str, self_url: str, html_url: str, items: list[Item], base: str) -> bytes:
    return bytes(_feed(title, self_url, html_url, items, base).atom_str(pretty=True, encoding="UTF-8"))


def rss(title: str, self_url: str, html_url: str, items: list[Item], base: str) -> bytes:
    return bytes(_feed(title, self_url, html_url, items, base).rss_str(pretty=True, encoding="UTF-8"))


def _dumps(feed: object) -> bytes:
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def jsonfeed_naive(title: str, self_url: str, html_url: str, items: list[Item], base: str) -> bytes:
    return jsonfeed(title, self_url, html_url, items, base, dumps=_dumps)


NAIVE: tuple[tuple[str, Renderer], ...] = (("atom", atom), ("rss", rss), ("json", jsonfeed_naive))
