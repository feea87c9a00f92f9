"""The SQLite store: what keeps ids, dates and dedup stable across rebuilds.

It holds every article ever published (with the first time tagfeed saw it
and a hash of its content) and the state of every source (ok or failing, last
error, HTTP validators, next fetch). One file in ``state_dir``, WAL mode.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sources.model import Article, Author, Enclosure, Tag
from tagfeed.errors import GONE, LOW_YIELD, RETRY_AFTER, UNREADABLE, Failure, StoreError

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    published TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    last_error TEXT,
    last_ok TEXT,
    last_attempt TEXT,
    next_fetch TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,
    article_count INTEGER NOT NULL DEFAULT 0,
    url TEXT,
    etag TEXT,
    last_modified TEXT,
    retry_after TEXT,
    ttl INTEGER,
    error_kind TEXT,
    error_status INTEGER
);
"""
CHUNK = 500  # ids per IN (...) in one statement
_ADDED_COLUMNS = {"sources": (("ttl", "INTEGER"), ("error_kind", "TEXT"), ("error_status", "INTEGER"))}  # columns newer than a store file may be


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


_SOURCE_FIELDS = tuple(f.name for f in dataclasses.fields(SourceState))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
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
    data["published"] = _iso(article.published)
    data["updated"] = _iso(article.updated)
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
    data["published"] = _from_iso(data["published"])
    data["updated"] = _from_iso(data["updated"])
    return Article(**data)


def _first(row: tuple[Any, ...]) -> Any:
    """A row's primary key, to sort a batch by before inserting it. Rows in random key order
    (ids are hashes) each land on a random page of the table's B-tree; once the table outgrows
    SQLite's page cache (2 MiB by default) every row costs a page read and a write-back, which
    made a 10,000-tag cold build's inserts grow faster than the site. In key order they append."""
    return row[0]


def rows_by_key(db: Any, table: str, key: str, columns: str, keys: Iterable[str]) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``table`` whose ``key`` is one of ``keys``: in IN (...) chunks, or
    in one scan when the keys are most of the table (a rebuild of a site whose pages did not change),
    which costs a third of a hundred chunked look-ups. ``db`` is sqlite3 or ``pgstore.SqliteDialect``."""
    wanted = sorted(set(keys))
    total = int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) if len(wanted) > CHUNK else 0
    if len(wanted) > CHUNK and len(wanted) * 4 >= total:
        chosen = set(wanted)
        return [tuple(row[1:]) for row in db.execute(f"SELECT {key}, {columns} FROM {table}") if row[0] in chosen]
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows.extend(tuple(row) for row in db.execute(f"SELECT {columns} FROM {table} WHERE {key} IN ({marks})",
                                                       tuple(chunk)))
    return rows


def decode_rows(rows: Iterable[str], digests: dict[str, bytes] | None) -> Iterator[Article]:
    """Articles from stored rows; see ``Store.articles`` for ``digests``."""
    tags: dict[tuple[str, str], Tag] = {}
    for data in rows:
        article = article_from_json(data, tags)
        if digests is not None:
            digests[article.id] = hashlib.blake2b(data.encode("utf-8"), digest_size=16).digest()
        yield article


class Store:
    """A thin, typed face over one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self._add_columns()
            self._check_version()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    @classmethod
    def open(cls, state_dir: Path) -> Store:
        return cls(Path(state_dir) / "tagfeed.sqlite3")

    def _add_columns(self) -> None:
        """Columns added since a store file was made (SQLite has no ADD COLUMN IF NOT EXISTS)."""
        for table, columns in _ADDED_COLUMNS.items():
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {row[0]} is newer than this tagfeed")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- articles ---------------------------------------------------------
    def get_article(self, article_id: str) -> tuple[Article, str] | None:
        row = self.db.execute("SELECT data, content_hash FROM articles WHERE id=?", (article_id,)).fetchone()
        return (article_from_json(row[0]), row[1]) if row else None

    def article_rows(self, article_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """The stored (data, content_hash) of each of these ids the store holds."""
        rows = rows_by_key(self.db, "articles", "id", "id, data, content_hash", article_ids)
        return {i: (data, digest) for i, data, digest in rows}

    def put_articles(self, articles: Iterable[Article]) -> None:
        """Insert or replace articles, which must carry their dates already."""
        rows = [
            (a.id, article_to_json(a), content_hash(a), _iso(a.published), _iso(a.updated))
            for a in articles
        ]
        rows.sort(key=_first)  # in key order: B-tree appends, not a random page per row (see _first)
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?)", rows)

    def articles(self, digests: dict[str, bytes] | None = None) -> Iterator[Article]:
        """Every stored article, newest first (ties broken by id, so order is stable).

        ``digests``, when given, gets a digest of each article's stored row by id: every
        field in one canonical text, so it serves as the article's fingerprint
        (``feeds.fingerprint.Prints``) at a tenth of the cost of hashing its repr.
        """
        rows = self.db.execute("SELECT data FROM articles ORDER BY published DESC, id")
        yield from decode_rows((data for (data,) in rows), digests)

    def count_articles(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    # -- sources ----------------------------------------------------------
    def get_source(self, name: str) -> SourceState | None:
        self.db.row_factory = sqlite3.Row
        try:
            row = self.db.execute("SELECT * FROM sources WHERE name=?", (name,)).fetchone()
        finally:
            self.db.row_factory = None
        return _state_from_row(dict(row)) if row else None

    def put_source(self, state: SourceState) -> None:
        self.put_sources([state])

    def put_sources(self, states: Iterable[SourceState]) -> None:
        """Insert or replace source states in one transaction (a build records a thousand dumps)."""
        rows = []
        for state in states:
            data = {name: getattr(state, name) for name in _SOURCE_FIELDS}  # not asdict: no deep copies
            for key in ("last_ok", "last_attempt", "next_fetch", "retry_after"):
                data[key] = _iso(data[key])
            rows.append(tuple(data.values()))
        columns = ", ".join(_SOURCE_FIELDS)
        marks = ", ".join("?" for _ in _SOURCE_FIELDS)
        with self.db:
            self.db.executemany(f"INSERT OR REPLACE INTO sources ({columns}) VALUES ({marks})", rows)

    def sources(self) -> list[SourceState]:
        self.db.row_factory = sqlite3.Row
        try:
            rows = self.db.execute("SELECT * FROM sources ORDER BY name").fetchall()
        finally:
            self.db.row_factory = None
        return [_state_from_row(dict(r)) for r in rows]

    # -- meta -------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _state_from_row(row: dict[str, Any]) -> SourceState:
    for key in ("last_ok", "last_attempt", "next_fetch", "retry_after"):
        row[key] = _from_iso(row[key])
    return SourceState(**row)
