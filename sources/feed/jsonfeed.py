"""JSON Feed 1.0 and 1.1, which feedparser 6 cannot read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin


from sources.feed import extras
from sources.feed.raw import Raw, as_html, text_title
from sources.model import Author
from tagfeed.errors import FeedError
_JSON_VERSION = "https://jsonfeed.org/version/1"


def parse_json(body: bytes, url: str) -> tuple[str | None, list[Raw]]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(url, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(_JSON_VERSION):
        raise FeedError(url, "JSON, but not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError(url, "JSON Feed without an items array")
    base = _text(data.get("home_page_url")) or url
    title = text_title(_text(data.get("title")) or "", is_text=True) or None
    absolute = urljoin(url, base)
    authors = extras.json_authors(data.get("authors") or data.get("author"), absolute)
    return title, [_raw_from_json(item, absolute, authors) for item in items if isinstance(item, dict)]


def _raw_from_json(item: Mapping[str, Any], base: str, feed_authors: tuple[Author, ...] = ()) -> Raw:
    text = _text(item.get("content_text"))
    content = _text(item.get("content_html")) or (as_html({"value": text, "type": "text/plain"})
                                                    if text else None)
    tags: list[Any] = item["tags"] if isinstance(item.get("tags"), list) else []
    return Raw(
        id=_text(item.get("id")) or (str(item["id"]) if isinstance(item.get("id"), int) else None),
        link=_text(item.get("url")) or _text(item.get("external_url")),
        title=_text(item.get("title")),
        title_is_text=True,  # JSON Feed titles are plain text (jsonfeed.org/version/1.1)
        attached=extras.Extras(
            extras.json_authors(item.get("authors") or item.get("author"), base) or feed_authors,
            extras.json_attachments(item.get("attachments"), base), extras.json_image(item.get("image"), base)),
        content=content,
        summary=_text(item.get("summary")),
        published=_from_rfc3339(item.get("date_published")),
        updated=_from_rfc3339(item.get("date_modified")),
        categories=tuple(t for t in tags if isinstance(t, str)),
        base=base,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _from_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
