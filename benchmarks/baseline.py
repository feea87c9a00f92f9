"""The limit: a streaming renderer written for the benchmark, not for tagfeed.

It reads the synthetic kind-A dumps, dedups articles by title, and writes the
same tree tagfeed writes (all.*, tags/<slug>.atom/.rss/.json/.html, one page
per article, index, OPML, a ``.gz`` twin of each) with nothing but string
building, ``orjson`` for JSON Feed, gzip level 6 and atomic writes (temp
file, fsync, rename) on a small thread pool. No validation, no store, no
templates: what is left is the cost of the bytes and the syscalls.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

try:
    import orjson
except ImportError:  # pragma: no cover - the `bench` extra brings it
    orjson = None

NS = uuid.UUID("6f0c2a4e-4a8e-5b1d-9d3c-7a1f2b0e9c11")
_SPLIT = re.compile(r"\n[ \t]*•[ \t]+")
File = tuple[str, bytes]


@dataclass
class Item:
    id: str
    hex: str
    title: str
    paragraphs: list[str]
    tags: dict[str, str]  # slug -> name
    published: datetime


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")


def parse(dumps: list[Path], now: datetime) -> list[Item]:
    """Every article, newest first; the n-th seen is dated ``now`` less n seconds."""
    items: dict[str, Item] = {}
    for path in dumps:
        text = path.read_text(encoding="utf-8")
        head, *blocks = _SPLIT.split(text)
        name = head.strip().removeprefix("Contents tagged with ").strip()
        slug = _slug(name)
        for block in blocks:
            title, *rest = block.split("\n")
            paragraphs = [line.strip() for line in rest if line.strip()]
            key = " ".join(title.casefold().split())
            item = items.get(key)
            if item is None:
                u = uuid.uuid5(NS, "title:" + key)
                item = items[key] = Item(f"urn:uuid:{u}", u.hex, title.strip(), paragraphs, {},
                                         now - timedelta(seconds=len(items)))
            item.tags[slug] = name
    return sorted(items.values(), key=lambda i: (-i.published.timestamp(), i.id))


def _x(text: str) -> str:
    return escape(text, quote=False)


def _content(item: Item) -> str:
    return "\n".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)


def atom(title: str, self_url: str, html_url: str, items: list[Item], base: str) -> bytes:
    updated = items[0].published.isoformat() if items else "2000-01-01T00:00:00+00:00"
    out = ["<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
           f"  <id>{_x(self_url)}</id>\n  <title>{_x(title)}</title>\n  <updated>{updated}</updated>\n",
           f"  <author>\n    <name>{_x(title)}</name>\n    <uri>{base}</uri>\n  </author>\n",
           f'  <link href="{self_url}" rel="self" type="application/atom+xml"/>\n',
           f'  <link href="{html_url}" rel="alternate" type="text/html"/>\n',
           '  <generator version="0.1.0">tagfeed</generator>\n', f"  <subtitle>{_x(title)}</subtitle>\n"]
    for i in items:
        date = i.published.isoformat()
        out.append(f"  <entry>\n    <id>{i.id}</id>\n    <title>{_x(i.title)}</title>\n"
                   f"    <updated>{date}</updated>\n    <content type=\"html\">{_x(_content(i))}</content>\n"
                   f'    <link href="{base}articles/{i.hex}.html" rel="alternate" type="text/html"/>\n'
                   f"    <summary>{_x(i.paragraphs[0] if i.paragraphs else '')}</summary>\n")
        out.extend(f'    <category term="{s}" label="{escape(n)}"/>\n' for s, n in i.tags.items())
        out.append(f"    <published>{date}</published>\n  </entry>\n")
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


def rss(title: str, self_url: str, html_url: str, items: list[Item], base: str) -> bytes:
    updated = (items[0].published if items else datetime(2000, 1, 1, tzinfo=timezone.utc))
    out = ["<?xml version='1.0' encoding='UTF-8'?>\n<rss xmlns:atom=\"http://www.w3.org/2005/Atom\" "
           "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" version=\"2.0\">\n  <channel>\n",
           f"    <title>{_x(title)}</title>\n    <link>{html_url}</link>\n    <description>{_x(title)}</description>\n",
           f'    <atom:link href="{self_url}" rel="self" type="application/rss+xml"/>\n',
           "    <generator>tagfeed 0.1.0</generator>\n",
           f"    <lastBuildDate>{updated.strftime('%a, %d %b %Y %H:%M:%S +0000')}</lastBuildDate>\n"]
    for i in items:
        out.append(f"    <item>\n      <title>{_x(i.title)}</title>\n      <link>{base}articles/{i.hex}.html</link>\n"
                   f"      <guid isPermaLink=\"false\">{i.id}</guid>\n"
                   f"      <content:encoded>{_x(_content(i))}</content:encoded>\n")
        out.extend(f"      <category>{_x(s)}</category>\n" for s in i.tags)
        out.append(f"      <pubDate>{i.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>\n    </item>\n")
    out.append("  </channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def jsonfeed(title: str, self_url: str, html_url: str, items: list[Item], base: str,
             dumps: Callable[[object], bytes] | None = None) -> bytes:
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": html_url,
            "feed_url": self_url, "description": title, "authors": [{"name": title, "url": base}],
            "items": [{"id": i.id, "url": f"{base}articles/{i.hex}.html", "title": i.title,
                       "content_html": _content(i), "summary": i.paragraphs[0] if i.paragraphs else "",
                       "date_published": i.published.isoformat(), "date_modified": i.published.isoformat(),
                       "tags": list(i.tags.values())} for i in items]}
    if dumps is not None:
        return dumps(feed)
    if orjson is not None:
        return orjson.dumps(feed, option=orjson.OPT_INDENT_2) + b"\n"
    return json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def _page(title: str, body: str) -> bytes:
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
            f"</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n").encode("utf-8")


def _list(items: list[Item], up: str) -> str:
    return "<ul>\n" + "".join(f'<li><a href="{up}articles/{i.hex}.html">{escape(i.title)}</a> '
                              f"<time>{i.published.isoformat()}</time></li>\n" for i in items) + "</ul>\n"


Renderer = Callable[[str, str, str, list[Item], str], bytes]
FAST: tuple[tuple[str, Renderer], ...] = (("atom", atom), ("rss", rss), ("json", jsonfeed))


def render(items: list[Item], base: str, max_items: int = 50,
           renderers: tuple[tuple[str, Renderer], ...] = FAST) -> Iterator[File]:
    """The whole tree, one file at a time."""
    groups: dict[str, list[Item]] = {}
    names: dict[str, str] = {}
    for item in items:
        for slug, name in item.tags.items():
            groups.setdefault(slug, []).append(item)
            names[slug] = name
    for fmt, fn in renderers:
        yield f"all.{fmt}", fn("bench", f"{base}all.{fmt}", base, items[:max_items], base)
    for slug in sorted(groups, key=lambda s: (names[s].casefold(), s)):
        top = groups[slug][:max_items]
        for fmt, fn in renderers:
            yield f"tags/{slug}.{fmt}", fn(names[slug], f"{base}tags/{slug}.{fmt}",
                                           f"{base}tags/{slug}.html", top, base)
        yield f"tags/{slug}.html", _page(names[slug], f"<h1>{escape(names[slug])}</h1>\n" + _list(top, "../"))
    for i in items:
        tags = ", ".join(f'<a href="../tags/{s}.html">{escape(n)}</a>' for s, n in i.tags.items())
        body = f"<article>\n<h1>{escape(i.title)}</h1>\n{_content(i)}\n<p>{tags}</p>\n</article>\n"
        yield f"articles/{i.hex}.html", _page(i.title, body)
    index = "".join(f'<li><a href="tags/{s}.html">{escape(names[s])}</a> ({len(groups[s])})</li>\n' for s in groups)
    yield "index.html", _page("bench", f"<ul>\n{index}</ul>\n" + _list(items[:max_items], ""))
    outlines = "".join(f'    <outline type="rss" text="{escape(n)}" xmlUrl="{base}tags/{s}.atom"/>\n'
                       for s, n in names.items())
    yield "feeds.opml", (f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <body>\n{outlines}'
                         "  </body>\n</opml>\n").encode("utf-8")


def write_atomic(root: Path, rel: str, data: bytes, fsync: bool = True) -> None:
    target = root / rel
    tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)


def _write_pair(root: Path, rel: str, data: bytes, fsync: bool) -> None:
    write_atomic(root, rel, data, fsync)
    write_atomic(root, rel + ".gz", gzip.compress(data, compresslevel=6, mtime=0), fsync)


def write(root: Path, files: Iterator[File], workers: int = 4, fsync: bool = True) -> int:
    """gzip + atomic writes (temp + rename, fsync per file unless ``fsync`` is False) on ``workers``
    threads, at most 256 files in flight."""
    for sub in ("tags", "articles"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    slots = threading.BoundedSemaphore(256)
    count = 0
    with ThreadPoolExecutor(workers) as pool:
        futures = []
        for rel, data in files:
            slots.acquire()
            future = pool.submit(_write_pair, root, rel, data, fsync)
            future.add_done_callback(lambda _: slots.release())
            futures.append(future)
            count += 2
        for future in futures:
            future.result()
    return count
