"""The store in PostgreSQL (``store = "postgresql://..."``), for state shared by several machines.

``PgStore`` has ``Store``'s methods and meaning: the same articles, sources
and meta, ordered the same way, so a build gives the same bytes on either.
psycopg 3 directly rather than SQLAlchemy Core: the store is a dozen
statements, the SQLite side stays on the standard library, and a second
abstraction would hide ``FOR UPDATE SKIP LOCKED`` and advisory locks, which
the several-workers step needs verbatim.

The schema is tagfeed's own, versioned in ``tagfeed_schema`` and migrated
on open under an advisory lock (so workers starting together migrate once);
a database newer than this tagfeed is refused. ``db`` is a transitional
sqlite3-shaped facade for the modules that keep side tables with their own
SQL (archive pages, output groups, incidents, published hashes): it runs
their SQLite dialect (``?`` marks, ``INSERT OR REPLACE``) on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Final, cast

from sources.model import Article
from tagfeed.config import SiteConfig
from tagfeed.errors import StoreError
from tagfeed.store.sqlite import SourceState, Store, article_from_json, article_to_json, content_hash, decode_rows

_MIGRATION_LOCK: Final = 0x7461_6766  # "tagf": pg_advisory_xact_lock key for schema upgrades
_DATES: Final = ("last_ok", "last_attempt", "next_fetch", "retry_after")
# Each entry upgrades the schema by one version; never edit one that has shipped, append.
MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        published TIMESTAMPTZ NOT NULL,
        updated TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX articles_newest ON articles (published DESC, id);
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        last_error TEXT,
        last_ok TIMESTAMPTZ,
        last_attempt TIMESTAMPTZ,
        next_fetch TIMESTAMPTZ,
        error_count INTEGER NOT NULL DEFAULT 0,
        article_count INTEGER NOT NULL DEFAULT 0,
        url TEXT,
        etag TEXT,
        last_modified TEXT,
        retry_after TIMESTAMPTZ
    );
    """,
    "ALTER TABLE sources ADD COLUMN ttl INTEGER;",  # SourceState.ttl: a feed's RSS <ttl>, minutes
    # tagfeed work: which worker polls a feed now (tagfeed/poll/leases.py), and the link dedup of its articles
    """
    CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT, expires TIMESTAMPTZ);
    CREATE INDEX articles_link ON articles (((data::jsonb) ->> 'link'));
    """,
    # politeness per upstream host across workers (tagfeed/poll/hostturns.py): when the last request ended
    "CREATE TABLE host_turns (host TEXT PRIMARY KEY, last_end TIMESTAMPTZ NOT NULL);",
    # SourceState.failure: its kind and HTTP status beside the message (tagfeed.errors.Failure)
    "ALTER TABLE sources ADD COLUMN error_kind TEXT; ALTER TABLE sources ADD COLUMN error_status INTEGER;",
)
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
            conn.execute("INSERT INTO tagfeed_schema (version) VALUES (%s)", (version,))
    return found


class PgStore(Store):
    """``Store`` on PostgreSQL; see the module docstring."""

    def __init__(self, url: str) -> None:  # not super().__init__: that opens SQLite
        self.url = url
        self.conn = _connect(url)
        try:
            upgrade(self.conn, url)
        except Exception:
            self.conn.close()
            raise
        self.db = cast(sqlite3.Connection, SqliteDialect(self.conn))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgStore:
        return self

    # -- articles ---------------------------------------------------------
    def get_article(self, article_id: str) -> tuple[Article, str] | None:
        row = self.conn.execute("SELECT data, content_hash FROM articles WHERE id=%s", (article_id,)).fetchone()
        return (article_from_json(row[0]), row[1]) if row else None

    def article_rows(self, article_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        wanted = list(article_ids)
        if not wanted:
            return {}
        rows = self.conn.execute("SELECT id, data, content_hash FROM articles WHERE id = ANY(%s)",
                                 (wanted,)).fetchall()
        return {i: (data, digest) for i, data, digest in rows}

    def put_articles(self, articles: Iterable[Article]) -> None:
        rows = [(a.id, article_to_json(a), content_hash(a), a.published, a.updated) for a in articles]
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO articles VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "data=EXCLUDED.data, content_hash=EXCLUDED.content_hash, published=EXCLUDED.published, "
                "updated=EXCLUDED.updated", rows)

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


_MARK = re.compile(r"\?")
_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*(\([^)]*\))?\s*VALUES", re.I)


class SqliteDialect:
    """The part of ``sqlite3.Connection`` the side-table modules use, on a psycopg connection.

    ``with db:`` is a transaction; ``?`` becomes ``%s``; ``INSERT OR REPLACE``
    becomes ``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of the other columns.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._transactions: list[Any] = []
        self._keys: dict[str, tuple[list[str], list[str]]] = {}

    def __enter__(self) -> SqliteDialect:
        transaction = self.conn.transaction()
        transaction.__enter__()
        self._transactions.append(transaction)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._transactions.pop().__exit__(kind, error, trace)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self._translate(sql), tuple(params))  # (), not None: '%%' is unescaped

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        cur = self.conn.cursor()
        cur.executemany(self._translate(sql), [tuple(r) for r in rows])
        return cur

    def executescript(self, script: str) -> None:
        self.conn.execute(script)

    def _translate(self, sql: str) -> str:
        sql = _MARK.sub("%s", sql.replace("%", "%%"))
        match = _REPLACE.match(sql)
        if not match:
            return sql
        table = match.group(1)
        keys, others = self._columns(table)
        updates = ", ".join(f"{c}=EXCLUDED.{c}" for c in others) if others else None
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        return (f"INSERT INTO {table} {match.group(2) or ''} VALUES{sql[match.end():]} "
                f"ON CONFLICT ({', '.join(keys)}) {action}")

    def _columns(self, table: str) -> tuple[list[str], list[str]]:
        """The table's primary-key columns and its other columns, from the catalog."""
        if table not in self._keys:
            rows = self.conn.execute(
                "SELECT a.attname, coalesce(a.attnum = ANY(i.indkey), false) FROM pg_attribute a "
                "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (table,)).fetchall()
            if not any(is_key for _, is_key in rows):
                raise StoreError(f"INSERT OR REPLACE into {table}, which has no primary key")
            self._keys[table] = ([c for c, k in rows if k], [c for c, k in rows if not k])
        return self._keys[table]


def open_store(site: SiteConfig) -> Store:
    """The store ``site`` names: PostgreSQL when ``store`` is a URL, else SQLite in ``state_dir``."""
    return PgStore(site.store) if site.store else Store.open(site.state_dir)
