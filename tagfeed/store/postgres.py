"""The store in PostgreSQL (``store = "postgresql://..."``), for state shared by several machines.

``PgStore`` has ``Store``'s methods and meaning: the same articles, sources
and meta, ordered the same way, so a build gives the same bytes on either.
psycopg 3 directly rather than SQLAlchemy Core: the store is a dozen
statements, the SQLite side stays on the standard library, and a second
abstraction would hide ``FOR UPDATE SKIP LOCKED`` and advisory locks, which
the several-workers step needs verbatim.

The schema is tagfeed's own (``schema.POSTGRES_MIGRATIONS``), versioned in
``tagfeed_schema`` and migrated on open under an advisory lock (so workers
starting together migrate once); a database newer than this tagfeed is
refused. The side tables' statements are ``tables.Tables``', shared with
SQLite; this class gives them psycopg's primitives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, Final, cast

from sources.model import Article
from tagfeed.config import SiteConfig
from tagfeed.errors import StoreError
from tagfeed.store.records import SourceState, article_from_json, article_to_json, content_hash, decode_rows
from tagfeed.query.narrow import Narrow, tsquery_sql
from tagfeed.store.schema import POSTGRES_MIGRATIONS, POSTGRES_SEARCH_VERSION
from tagfeed.store.search import pg_fill, pg_index
from tagfeed.store.sqlite import Store

_MIGRATION_LOCK: Final = 0x7461_6766  # "tagf": pg_advisory_xact_lock key for schema upgrades
_DATES: Final = ("last_ok", "last_attempt", "next_fetch", "retry_after")
MIGRATIONS: Final = POSTGRES_MIGRATIONS
SCHEMA_VERSION: Final = len(MIGRATIONS)


def _connect(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError("a postgresql:// store needs psycopg: pip install 'tagfeed[postgresql]'") from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, options="-c TimeZone=UTC")
    except psycopg.Error as exc:
        raise StoreError(f"{_redact(url)}: {str(exc).strip()}") from None


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def upgrade(conn: Any, url: str = "") -> int:
    """Bring the schema to ``SCHEMA_VERSION``; returns the version found before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS tagfeed_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM tagfeed_schema").fetchone()
        found = int(row[0] or 0)
        if found > SCHEMA_VERSION:
            raise StoreError(f"{_redact(url)}: schema version {found} is newer than this tagfeed")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            conn.execute(MIGRATIONS[version - 1])
            if version == POSTGRES_SEARCH_VERSION:
                pg_fill(conn)
            conn.execute("INSERT INTO tagfeed_schema (version) VALUES (%s)", (version,))
    return found


class PgStore(Store):
    """``Store`` on PostgreSQL; see the module docstring."""

    MARK = "%s"

    def __init__(self, url: str) -> None:  # not super().__init__: that opens SQLite
        self.url = url
        self.conn = _connect(url)
        try:
            upgrade(self.conn, url)
        except Exception:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgStore:
        return self

    # -- the primitives of ``Tables`` -------------------------------------
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        return cast(contextlib.AbstractContextManager[Any], self.conn.transaction())

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return cast(list[Any], self.conn.execute(sql, tuple(params)).fetchall())

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(sql, tuple(params)).rowcount)

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    def _keyed(self, table: str, key: str, columns: str, keys: Iterable[str]) -> list[Any]:
        wanted = list(keys)
        if not wanted:
            return []
        return self._fetch(f"SELECT {columns} FROM {table} WHERE {key} = ANY(%s)", (wanted,))

    # -- articles ---------------------------------------------------------
    def get_article(self, article_id: str) -> tuple[Article, str] | None:
        row = self.conn.execute("SELECT data, content_hash FROM articles WHERE id=%s", (article_id,)).fetchone()
        return (article_from_json(row[0]), row[1]) if row else None

    def put_articles(self, articles: Iterable[Article]) -> None:
        given = list(articles)
        rows = [(a.id, article_to_json(a), content_hash(a), a.published, a.updated) for a in given]
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO articles VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "data=EXCLUDED.data, content_hash=EXCLUDED.content_hash, published=EXCLUDED.published, "
                "updated=EXCLUDED.updated", rows)
            pg_index(cur, given)

    def search_articles(self, narrow: Narrow | None) -> Iterator[Article]:
        if narrow is None:
            yield from self.articles()
            return
        where, values = tsquery_sql(narrow)
        with self.conn.cursor() as cur:
            rows = cur.execute(f"SELECT a.data FROM search_docs s JOIN articles a ON a.id = s.id WHERE {where} "
                               'ORDER BY a.published DESC, a.id COLLATE "C"', values)
            yield from decode_rows((data for (data,) in rows), None)

    def articles(self, digests: dict[str, bytes] | None = None) -> Iterator[Article]:
        with self.conn.cursor() as cur:
            rows = cur.execute("SELECT data FROM articles ORDER BY published DESC, id COLLATE \"C\"")
            yield from decode_rows((data for (data,) in rows), digests)

    def count_articles(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    def ids_by_link(self, links: Sequence[str]) -> dict[str, str]:
        """The id stored for each of ``links`` (the newest article's, should two hold one link)."""
        known: dict[str, str] = {}
        if links:
            rows = self.conn.execute(
                "SELECT (data::jsonb) ->> 'link', id FROM articles WHERE (data::jsonb) ->> 'link' = ANY(%s) "
                'ORDER BY published DESC, id COLLATE "C"', (list(links),)).fetchall()
            for link, article_id in rows:
                known.setdefault(link, article_id)
        return known

    # -- sources ----------------------------------------------------------
    def get_source(self, name: str) -> SourceState | None:
        cur = self.conn.execute("SELECT * FROM sources WHERE name=%s", (name,))
        row = cur.fetchone()
        return _state(cur.description, row) if row else None

    def put_source(self, state: SourceState) -> None:
        data = dataclasses.asdict(state)
        columns = ", ".join(data)
        updates = ", ".join(f"{c}=EXCLUDED.{c}" for c in data if c != "name")
        self.conn.execute(f"INSERT INTO sources ({columns}) VALUES ({', '.join('%s' for _ in data)}) "
                          f"ON CONFLICT (name) DO UPDATE SET {updates}", tuple(data.values()))

    def put_sources(self, states: Iterable[SourceState]) -> None:
        with self.conn.transaction():
            for state in states:
                self.put_source(state)

    def sources(self) -> list[SourceState]:
        cur = self.conn.execute('SELECT * FROM sources ORDER BY name COLLATE "C"')
        return [_state(cur.description, row) for row in cur.fetchall()]

    # -- meta -------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=%s", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value=EXCLUDED.value",
                          (key, value))


def _state(description: Sequence[Any], row: Sequence[Any]) -> SourceState:
    data = {column.name: value for column, value in zip(description, row)}
    for key in _DATES:
        if data[key] is not None:
            data[key] = cast(datetime, data[key]).astimezone(timezone.utc)
    return SourceState(**data)


def open_store(site: SiteConfig) -> Store:
    """The store ``site`` names: PostgreSQL when ``store`` is a URL, else SQLite in ``state_dir``."""
    return PgStore(site.store) if site.store else Store.open(site.state_dir)
