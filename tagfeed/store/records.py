"""What the store keeps, as values and as stored text: source states and the article codecs.

Both backends store an article as the same JSON text and hash it the same way,
so a build gives the same bytes on either and an upgrade changes no stored row.
Pure functions and frozen records; no database here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sources.model import Article, Author, Enclosure, Tag
from tagfeed.errors import GONE, LOW_YIELD, RETRY_AFTER, UNREADABLE, Failure


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    kind: str
    state: str = "ok"  # ok | error | gone | backoff
    last_error: str | None = None
    last_ok: datetime | None = None
    last_attempt: datetime | None = None
    next_fetch: datetime | None = None
    error_count: int = 0
    article_count: int = 0
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: datetime | None = None
    ttl: int | None = None  # the feed's RSS <ttl> in minutes, kept for polls answered 304
    error_kind: str | None = None  # with last_error, error_status and retry_after: ``failure``, stored flat
    error_status: int | None = None

    @property
    def failure(self) -> Failure | None:
        """The last failure as a value, None while the source is ok. A row stored before
        kinds were recorded gets the kind its state implies."""
        if self.last_error is None:
            return None
        kind = self.error_kind or _LEGACY_KINDS.get(self.state, UNREADABLE)
        return Failure(kind=kind, message=self.last_error, status=self.error_status, retry_after=self.retry_after)

    def failed(self, failure: Failure | None, **changes: Any) -> SourceState:
        """This state with ``failure`` recorded (None: cleared), and ``changes``."""
        return dataclasses.replace(
            self, last_error=failure.message if failure else None, error_kind=failure.kind if failure else None,
            error_status=failure.status if failure else None,
            retry_after=failure.retry_after if failure else None, **changes)


_LEGACY_KINDS = {"gone": GONE, "backoff": RETRY_AFTER, "warning": LOW_YIELD}


SOURCE_FIELDS = tuple(f.name for f in dataclasses.fields(SourceState))


def iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def content_hash(article: Article) -> str:
    """What a reader would see change: title, body, caption, link, and authors, enclosures
    and image. Those three are hashed only when there are any, so an article without them
    (every one stored before they existed) keeps the hash it had: an upgrade changes nothing."""
    fields: list[Any] = [article.title, article.summary, article.paragraphs, article.content_html,
                         article.caption, article.link, article.truncated]
    if article.authors or article.enclosures or article.image:
        fields += [_authors_json(article), _enclosures_json(article), article.image]
    body = json.dumps(fields, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _authors_json(article: Article) -> list[list[str | None]]:
    return [[a.name, a.email, a.uri] for a in article.authors]


def _enclosures_json(article: Article) -> list[list[str | int | None]]:
    return [[e.url, e.media_type, e.length] for e in article.enclosures]


# Keys of a stored row that rows written before them lack; written only when not empty, so a
# row of an article without them is the very text older versions wrote.
_OPTIONAL = ("authors", "enclosures", "image")
_ARTICLE_FIELDS = tuple(f.name for f in dataclasses.fields(Article) if f.name not in _OPTIONAL)


def article_to_json(article: Article) -> str:
    # field by field: dataclasses.asdict deep-copies every value only for json.dumps to walk it again
    data = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    data["tags"] = [[t.slug, t.name] for t in article.tags]
    data["published"] = iso(article.published)
    data["updated"] = iso(article.updated)
    if article.authors:
        data["authors"] = _authors_json(article)
    if article.enclosures:
        data["enclosures"] = _enclosures_json(article)
    if article.image:
        data["image"] = article.image
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def article_from_json(text: str, tags: dict[tuple[str, str], Tag] | None = None) -> Article:
    """``tags``, when given, shares one ``Tag`` per (slug, name) over many calls (they are frozen)."""
    data: dict[str, Any] = json.loads(text)
    if tags is None:
        data["tags"] = tuple(Tag(slug=s, name=n) for s, n in data["tags"])
    else:
        data["tags"] = tuple(tags.get((s, n)) or tags.setdefault((s, n), Tag(slug=s, name=n))
                             for s, n in data["tags"])
    data["paragraphs"] = tuple(data["paragraphs"])
    if "authors" in data:  # rows of older versions have none of these three keys
        data["authors"] = tuple(Author(name, email, uri) for name, email, uri in data["authors"])
    if "enclosures" in data:
        data["enclosures"] = tuple(Enclosure(url, kind, length) for url, kind, length in data["enclosures"])
    data["published"] = from_iso(data["published"])
    data["updated"] = from_iso(data["updated"])
    return Article(**data)


def decode_rows(rows: Iterable[str], digests: dict[str, bytes] | None) -> Iterator[Article]:
    """Articles from stored rows; see ``Store.articles`` for ``digests``."""
    tags: dict[tuple[str, str], Tag] = {}
    for data in rows:
        article = article_from_json(data, tags)
        if digests is not None:
            digests[article.id] = hashlib.blake2b(data.encode("utf-8"), digest_size=16).digest()
        yield article


WARNING = "warning"  # a source state: it works, but gives far fewer articles than it used to


def yield_warning(old: SourceState | None, name: str, count: int) -> str | None:
    """A tag page that gave N articles and now gives none, or fewer than half: a warning naming it."""
    if old is None or old.state not in ("ok", WARNING) or old.article_count <= 0:
        return None
    if count * 2 >= old.article_count:
        return None
    return (f"{name}: gave {count} article(s), {old.article_count} before (yield check); "
            "its earlier articles stay published")
