"""``tagfeed probe``: what a page source would publish from one page, written nowhere.

Fetches the URL with the polite fetcher (or reads a saved file) and runs the same
extraction a build runs; ``probe_lines`` and ``probe_json`` only format the result.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sources.fetch import Outcome, fetch
from sources.page.extract import Page, declared_url, extract
from sources.page.select import parse_selectors
from tagfeed.settings import default
from tagfeed.errors import FetchError, PageError
from tagfeed.poll.aggregate import user_agent


def probe(target: str, select: dict[str, str] | None = None, now: datetime | None = None) -> Page:
    """The page at ``target`` (an http(s) URL or a file path) as a page source reads it."""
    now = now or datetime.now(timezone.utc)
    selectors = parse_selectors(select, "--select") if select else None
    if target.startswith(("http://", "https://")):
        result = fetch(target, user_agent=user_agent(default("site.base_url")), max_bytes=default("page.max_bytes"))
        if result.outcome is not Outcome.OK:
            raise FetchError(target, f"HTTP {result.status}")
        return extract(result.body, url=result.url, now=now, content_type=result.headers.get("content-type"),
                       select=selectors)
    path = Path(target)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise PageError(target, f"cannot read: {exc.strerror or exc}") from None
    # a saved page's relative links resolve against the address it declares, as they did when saved
    url = declared_url(body) if body.strip() else None
    return extract(body, url=url or "http://localhost/", now=now, select=selectors)


def probe_json(page: Page) -> dict[str, Any]:
    return {"url": page.url, "method": page.method, "name": page.name, "feeds": list(page.feeds),
            "select": {"item": page.item_selector, "title": page.title_selector},
            "items": [{"title": i.title, "link": i.link, "date": i.date.isoformat() if i.date else None,
                       "summary": i.summary, "image": i.image} for i in page.items]}


def probe_lines(page: Page) -> list[str]:
    lines = [f"page: {page.url}", f"name: {page.name}", f"method: {page.method}", f"items: {len(page.items)}"]
    lines += [f"this page has a feed: {feed}" for feed in page.feeds]
    if page.item_selector:
        lines.append(f'select = {{ item = "{page.item_selector}", title = "{page.title_selector}" }}')
    for n, item in enumerate(page.items, 1):
        lines.append(f"{n:3d}. {item.title}")
        lines.append(f"     {item.link}")
        extra = [item.date.isoformat() if item.date else "", (item.summary[:80] + "…") if len(item.summary) > 80
                 else item.summary, f"image: {item.image}" if item.image else ""]
        lines.extend(f"     {e}" for e in extra if e)
    return lines
