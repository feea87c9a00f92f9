"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), built by hand.

Keys keep a fixed order and dates are RFC 3339 in UTC, so identical input
gives identical bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from feeds.channel import (
    Channel, EntryFacts, enclosure_type, entry_content, entry_dates, entry_facts, entry_summary, entry_title,
)
from sources.model import Article, Author, Enclosure

VERSION: Final = "https://jsonfeed.org/version/1.1"


def render_json(channel: Channel, articles: Sequence[Article], entries: Sequence[bytes] | None = None,
                updated: datetime | None = None) -> bytes:
    """``json.dumps(feed_dict(...), ensure_ascii=False, indent=2)`` and a newline, string-built.

    A caller rendering many feeds (feeds/site.py) hands in each article's ``json_item`` as
    UTF-8, made once for all its feeds. ``updated`` is unused (JSON Feed has no feed date):
    the signature is the other formats'.
    """
    head = dumps_indented(feed_dict(channel, ())).removesuffix(_EMPTY_ITEMS) + '"items": '
    if entries is None:
        entries = [json_item(a, entry_facts(channel.urls, a)).encode("utf-8") for a in articles]
    if not entries:
        return (head + "[]\n}\n").encode("utf-8")
    return b"".join([head.encode("utf-8"), b"[\n    ", b",\n    ".join(entries), b"\n  ]\n}\n"])


def feed_dict(channel: Channel, articles: Sequence[Article]) -> dict[str, Any]:
    """The feed as JSON values, keys in their output order."""
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": channel.title,
        "home_page_url": channel.html_url,
        "feed_url": channel.feed_url("json"),
        "description": channel.subtitle,
        "authors": [{"name": channel.site_title, "url": channel.urls.home_url}],
    }
    if channel.language:
        feed["language"] = channel.language
    if channel.hub:
        feed["hubs"] = [{"type": "WebSub", "url": channel.hub}]
    feed["items"] = [_item(channel, article) for article in articles]
    return feed


_EMPTY_ITEMS = '"items": []\n}'


def json_item(article: Article, facts: EntryFacts) -> str:
    """``_item`` as ``dumps_indented`` lays it out two levels deep, string-built
    (``facts`` is ``entry_facts`` of the article)."""
    out = ['{\n      "id": ', _encode_string(article.id), ',\n      "url": ', _encode_string(facts.link),
           ',\n      "title": ', _encode_string(entry_title(article)), ',\n      "content_html": ',
           _encode_string(facts.content)]
    if summary := entry_summary(article):
        out += [',\n      "summary": ', _encode_string(summary)]
    if article.image:
        out += [',\n      "image": ', _encode_string(article.image)]
    out += [',\n      "date_published": "', _utc_z(facts.published_text), '",\n      "date_modified": "',
            _utc_z(facts.updated_text), '"']
    if article.authors:
        out += [',\n      "authors": ', dumps_indented([_author(a) for a in article.authors], 3)]
    if article.tags:
        out += [',\n      "tags": [\n        ', ",\n        ".join([_encode_string(t.name) for t in article.tags]),
                "\n      ]"]
    if article.enclosures:
        out += [',\n      "attachments": ', dumps_indented([_attachment(e) for e in article.enclosures], 3)]
    out.append("\n    }")
    return "".join(out)


def _author(author: Author) -> dict[str, str]:
    """JSON Feed authors have a name and a url, no e-mail field: an address becomes a mailto: url."""
    found = {"name": author.label}
    if url := author.uri or (f"mailto:{author.email}" if author.email else None):
        found["url"] = url
    return found


def _attachment(enclosure: Enclosure) -> dict[str, Any]:
    """url and mime_type are required; size_in_bytes only when known."""
    found: dict[str, Any] = {"url": enclosure.url, "mime_type": enclosure_type(enclosure)}
    if enclosure.length is not None:
        found["size_in_bytes"] = enclosure.length
    return found


def _item(channel: Channel, article: Article) -> dict[str, Any]:
    published, updated = entry_dates(article)
    item: dict[str, Any] = {
        "id": article.id,
        "url": channel.urls.article_link(article),
        "title": entry_title(article),
        "content_html": entry_content(article),
    }
    if summary := entry_summary(article):
        item["summary"] = summary
    if article.image:
        item["image"] = article.image
    item["date_published"] = rfc3339(published)
    item["date_modified"] = rfc3339(updated)
    if article.authors:
        item["authors"] = [_author(a) for a in article.authors]
    if article.tags:
        item["tags"] = [tag.name for tag in article.tags]
    if article.enclosures:
        item["attachments"] = [_attachment(e) for e in article.enclosures]
    return item


def rfc3339(moment: datetime) -> str:
    """``2001-02-03T04:05:06Z``: the UTC form every JSON Feed reader parses."""
    return _utc_z(moment.isoformat())


def _utc_z(iso: str) -> str:
    """``rfc3339`` of a UTC datetime from its ``isoformat()``."""
    return iso.replace("+00:00", "Z")


def dumps_indented(value: Any, level: int = 0) -> str:
    """Exactly ``json.dumps(value, ensure_ascii=False, indent=2)``, several times faster.

    ``indent`` makes the json module fall back to its pure-Python encoder; here
    only the layout is Python and every string goes through the C escaper.
    """
    if isinstance(value, str):
        return _encode_string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = "\n" + "  " * (level + 1)
        items = (f"{_encode_string(str(k))}: {dumps_indented(v, level + 1)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + "\n" + "  " * level + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = "\n" + "  " * (level + 1)
        return "[" + inner + ("," + inner).join(dumps_indented(v, level + 1) for v in value) + "\n" + "  " * level + "]"
    return json.dumps(value)


_encode_string: Callable[[str], str] = json.encoder.encode_basestring
