"""The SQLite store: what keeps ids, dates and dedup stable across rebuilds.

It holds every article ever published (with the first time tagfeed saw it
and a hash of its content), the state of every source (ok or failing, last
error, HTTP validators, next fetch) and the side tables (``tables``). One file
in ``state_dir``, WAL mode, its schema brought up to date on open from
``schema.SQLITE_MIGRATIONS``; a file newer than this tagfeed is refused.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from sources.model import Article
from tagfeed.errors import StoreError
from tagfeed.store.records import (SOURCE_FIELDS, SourceState, article_from_json, article_to_json, content_hash,
                                   decode_rows, from_iso, iso)
from tagfeed.query.narrow import Narrow, fts5_text
from tagfeed.store.schema import SQLITE_MIGRATIONS, AddColumn, FillSearch, SqliteStep
from tagfeed.store.search import sqlite_fill, sqlite_index
from tagfeed.store.tables import CHUNK, Tables

# the records' old home: callers import them from here too
__all__ = ["CHUNK", "SCHEMA_VERSION", "SourceState", "Store", "article_from_json", "article_to_json",
           "content_hash", "decode_rows", "rows_by_key", "upgrade"]

SCHEMA_VERSION: Final = len(SQLITE_MIGRATIONS)


def upgrade(db: sqlite3.Connection, path: Path) -> int:
    """Bring the file to ``SCHEMA_VERSION``; returns the version found before. The write lock
    (BEGIN IMMEDIATE) is taken only when there is something to do, and the version read again
    under it, so two processes opening an old file together migrate it once."""
    found = _version(db)
    if found < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            found = _version(db)
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for step in SQLITE_MIGRATIONS[version - 1]:
                    _apply(db, step)
            if found < SCHEMA_VERSION:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
        except BaseException:
            db.rollback()
            raise
        db.commit()
    if found > SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {found} is newer than this tagfeed")
    return found


def _version(db: sqlite3.Connection) -> int:
    """The file's schema version; 0 for a new file (or one whose version was never recorded)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _apply(db: sqlite3.Connection, step: SqliteStep) -> None:
    if isinstance(step, AddColumn):
        if step.column not in {row[1] for row in db.execute(f"PRAGMA table_info({step.table})")}:
            db.execute(f"ALTER TABLE {step.table} ADD COLUMN {step.column} {step.kind}")
    elif isinstance(step, FillSearch):
        sqlite_fill(db)
    else:
        db.execute(step)


def _first(row: tuple[Any, ...]) -> Any:
    """A row's primary key, to sort a batch by before inserting it. Rows in random key order
    (ids are hashes) each land on a random page of the table's B-tree; once the table outgrows
    SQLite's page cache (2 MiB by default) every row costs a page read and a write-back, which
    made a 10,000-tag cold build's inserts grow faster than the site. In key order they append."""
    return row[0]


def rows_by_key(db: sqlite3.Connection, table: str, key: str, columns: str, keys: Iterable[str]) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``table`` whose ``key`` is one of ``keys``: in IN (...) chunks, or
    in one scan when the keys are most of the table (a rebuild of a site whose pages did not change),
    which costs a third of a hundred chunked look-ups."""
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


class Store(Tables):
    """A thin, typed face over one SQLite file."""

    MARK = "?"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            upgrade(self.db, self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    @classmethod
    def open(cls, state_dir: Path) -> Store:
        return cls(Path(state_dir) / "tagfeed.sqlite3")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the primitives of ``Tables`` -------------------------------------
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        return self.db

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.db.execute(sql, params).fetchall()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.db.execute(sql, params).rowcount

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    def _keyed(self, table: str, key: str, columns: str, keys: Iterable[str]) -> list[Any]:
        return rows_by_key(self.db, table, key, columns, keys)

    # -- articles ---------------------------------------------------------
    def get_article(self, article_id: str) -> tuple[Article, str] | None:
        row = self.db.execute("SELECT data, content_hash FROM articles WHERE id=?", (article_id,)).fetchone()
        return (article_from_json(row[0]), row[1]) if row else None

    def article_rows(self, article_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """The stored (data, content_hash) of each of these ids the store holds."""
        rows = self._keyed("articles", "id", "id, data, content_hash", article_ids)
        return {i: (data, digest) for i, data, digest in rows}

    def put_articles(self, articles: Iterable[Article]) -> None:
        """Insert or replace articles, which must carry their dates already; their search index
        rows and the change counter move in the same transaction."""
        given = list(articles)
        rows = [(a.id, article_to_json(a), content_hash(a), iso(a.published), iso(a.updated)) for a in given]
        rows.sort(key=_first)  # in key order: B-tree appends, not a random page per row (see _first)
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?)", rows)
            sqlite_index(self.db, given)

    def search_articles(self, narrow: Narrow | None) -> Iterator[Article]:
        """The articles the index finds for ``narrow`` (every article when None), newest first."""
        if narrow is None:
            yield from self.articles()
            return
        rows = self.db.execute(
            "SELECT a.data FROM search_index JOIN search_docs d ON d.n = search_index.rowid "
            "JOIN articles a ON a.id = d.id WHERE search_index MATCH ? ORDER BY a.published DESC, a.id",
            (fts5_text(narrow),))
        yield from decode_rows((data for (data,) in rows), None)

    def article_writes(self) -> int:
        """The change counter: bumped by every write of articles (search ETags are made of it)."""
        return int(self.get_meta("article_writes") or 0)

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
            data = {name: getattr(state, name) for name in SOURCE_FIELDS}  # not asdict: no deep copies
            for key in ("last_ok", "last_attempt", "next_fetch", "retry_after"):
                data[key] = iso(data[key])
            rows.append(tuple(data.values()))
        columns = ", ".join(SOURCE_FIELDS)
        marks = ", ".join("?" for _ in SOURCE_FIELDS)
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
        row[key] = from_iso(row[key])
    return SourceState(**row)
