"""Store files and databases made by earlier versions open, upgrade and read back everything.

The old schemas are literals here, as those versions created them (SQLite
files stayed at version 1 while gaining columns at open and side tables at
first use), so a migration that breaks an old store fails a test.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tagfeed.errors import RETRY_AFTER, TIMEOUT, StoreError
from tagfeed.store import settled
from tagfeed.store.postgres import MIGRATIONS, PgStore
from tagfeed.store.provenance import sightings_for
from tagfeed.store.schema import SQLITE_MIGRATIONS
from tagfeed.store.sqlite import SCHEMA_VERSION, Store, article_from_json

# tagfeed's first store (version 1): no ttl, no failure kind, no side tables
V1_FIRST = """
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
    retry_after TEXT
);
"""
# the last version-1 store: columns added at open, every side table made at first use
V1_LAST = V1_FIRST.replace("    retry_after TEXT\n", """    retry_after TEXT,
    ttl INTEGER,
    error_kind TEXT,
    error_status INTEGER
""") + """
CREATE TABLE IF NOT EXISTS provenance (
    article_id TEXT NOT NULL,
    source TEXT NOT NULL,
    tags TEXT NOT NULL,
    truncated INTEGER NOT NULL,
    chars INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (article_id, source)
);
CREATE TABLE IF NOT EXISTS settled_dumps (
    source TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_pages (
    tag TEXT NOT NULL,
    page INTEGER NOT NULL,
    position INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (tag, page, position),
    UNIQUE (tag, article_id)
);
CREATE TABLE IF NOT EXISTS output_groups (
    path TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    files TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    error_class TEXT NOT NULL,
    message TEXT NOT NULL,
    opened TEXT NOT NULL,
    resolved TEXT
);
CREATE TABLE IF NOT EXISTS published (
    target TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (target, path)
);
"""
ID = "urn:uuid:5a0b8b1e-5f3e-5d0e-9d5b-1d7a1c2a3b4c"
ROW = json.dumps({
    "caption": None, "content_html": None, "id": ID, "link": None, "paragraphs": ["Body."],
    "published": "2024-05-01T12:00:00+00:00", "source": "seeds/a.txt", "source_title": None, "source_url": None,
    "summary": "Body.", "tags": [["putin", "Putin"]], "title": "T", "truncated": False,
    "updated": "2024-05-01T12:00:00+00:00"}, ensure_ascii=False, sort_keys=True)
HASH = "a-hash-as-stored"  # kept as it is: an upgrade must not make the article look changed
WHEN = "2024-05-01T12:00:00+00:00"
SIDE_ROWS = {
    "provenance": (ID, "seeds/a.txt", '[["putin", "Putin"]]', 0, 5, WHEN, WHEN),
    "settled_dumps": ("seeds/a.txt", "v:abc", json.dumps([ID])),
    "archive_pages": ("putin", 1, 0, ID),
    "output_groups": ("tags/putin.atom", "f1", "s1"),
    "incidents": ("urn:uuid:i1", "https://x.example/feed", "timeout", "timed out", WHEN, None),
    "published": ("aws s3://b/p", "all.atom", "d1"),
}


def _old_file(path: Path, ddl: str, source: tuple[object, ...], side: bool) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(ddl)
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute("INSERT INTO meta VALUES ('status_since', ?)", (WHEN,))
        db.execute("INSERT INTO articles VALUES (?, ?, ?, ?, ?)", (ID, ROW, HASH, WHEN, WHEN))
        db.execute(f"INSERT INTO sources VALUES ({', '.join('?' * len(source))})", source)
        for table, row in SIDE_ROWS.items() if side else ():
            db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
    db.close()


def _write_side_rows(store: Store) -> None:
    """SIDE_ROWS through the store's own writers."""
    store.put_provenance([SIDE_ROWS["provenance"]], [])  # type: ignore[list-item]
    settled.save(store, ["seeds/a.txt"], [("seeds/a.txt", settled.Marker("v:abc", (ID,)))])
    store.add_archive_rows([SIDE_ROWS["archive_pages"]])  # type: ignore[list-item]
    store.put_output_groups([SIDE_ROWS["output_groups"]])  # type: ignore[list-item]
    store.put_incidents([SIDE_ROWS["incidents"]])  # type: ignore[list-item]
    store.put_published("aws s3://b/p", [("all.atom", "d1")])


def _side_tables_read(store: Store) -> None:
    """What every side table's reader gives for SIDE_ROWS."""
    assert [(s.source, s.chars, s.first_seen) for s in sightings_for(store, ID)] == [
        ("seeds/a.txt", 5, datetime(2024, 5, 1, 12, tzinfo=timezone.utc))]
    assert settled.load(store) == {"seeds/a.txt": settled.Marker("v:abc", (ID,))}
    assert store.archive_rows() == [("putin", 1, ID)] and store.archive_pages_of(ID) == [("putin", 1)]
    assert store.output_groups() == ({"tags/putin.atom": "f1"}, {"tags/putin.atom": "s1"})
    assert store.incident_rows() == [SIDE_ROWS["incidents"]]
    assert store.published_hashes("aws s3://b/p") == {"all.atom": "d1"}


def test_the_first_store_file_opens_upgraded_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.sqlite3"
    _old_file(path, V1_FIRST, ("https://x.example/feed", "feed", "backoff", "HTTP 503", WHEN, WHEN, WHEN,
                               2, 7, "https://x.example/feed", '"e"', None, WHEN), side=False)
    with Store(path) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "4"
        assert store.get_article(ID) == (article_from_json(ROW), HASH)
        assert [a.id for a in store.articles()] == [ID] and store.get_meta("status_since") == WHEN
        state = store.get_source("https://x.example/feed")
        assert state is not None and (state.ttl, state.error_count, state.etag) == (None, 2, '"e"')
        assert state.failure is not None and state.failure.kind == RETRY_AFTER  # the kind its state implies
        polled = state.failed(None, state="ok", ttl=60)
        store.put_source(polled)  # the columns added since are there
        assert store.get_source(polled.name) == polled
        assert (store.provenance_rows([ID]), settled.load(store), store.archive_rows(), store.output_groups(),
                store.incident_rows(), store.published_hashes("aws s3://b/p")) == ([], {}, [], ({}, {}), [], {})
        _write_side_rows(store)  # the side tables are there, empty, and take rows
        _side_tables_read(store)
    with Store(path) as store:  # opened again: nothing to migrate, nothing lost
        assert store.get_meta("schema_version") == "4" and store.get_article(ID) == (article_from_json(ROW), HASH)


def test_the_last_version_1_file_opens_upgraded_with_every_side_table(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.sqlite3"
    _old_file(path, V1_LAST, ("https://x.example/feed", "feed", "error", "timed out", WHEN, WHEN, WHEN,
                              1, 7, "https://x.example/feed", None, None, None, 30, "timeout", None), side=True)
    with Store(path) as store:
        assert store.get_meta("schema_version") == "4"
        assert store.verdicts_for("any") == []  # version 3's table: keep/block rules' verdicts
        assert store.get_article(ID) == (article_from_json(ROW), HASH)
        state = store.get_source("https://x.example/feed")
        assert state is not None and state.ttl == 30
        assert state.failure is not None and state.failure.kind == TIMEOUT
        _side_tables_read(store)


def test_a_file_newer_than_this_tagfeed_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.sqlite3"
    _old_file(path, V1_FIRST, ("seeds/a.txt", "tagpage", "ok", None, WHEN, WHEN, None, 0, 1, None, None, None,
                               None), side=False)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(StoreError, match="schema version 5 is newer"):
        Store(path)
    with sqlite3.connect(path) as db:
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'provenance'").fetchall()
    db.close()


# sha256 of each shipped migration: a shipped entry is never edited (append a new one instead)
SHIPPED_SQLITE = ("b7280744", "a7e7392f", "8e02063a", "d0f300fd")
SHIPPED_POSTGRES = ("f1a4090d", "582db521", "452d774c", "02e69906", "35d9e57e", "0ee0a74c", "ca0fdf24", "b4e2ab78")


def _digest(entry: object) -> str:
    return hashlib.sha256(repr(entry).encode("utf-8")).hexdigest()[:8]


def test_shipped_migrations_are_never_edited() -> None:
    assert tuple(_digest(m) for m in SQLITE_MIGRATIONS[:len(SHIPPED_SQLITE)]) == SHIPPED_SQLITE
    assert tuple(_digest(m) for m in MIGRATIONS[:len(SHIPPED_POSTGRES)]) == SHIPPED_POSTGRES


@pytest.mark.parametrize("had_side_tables", [True, False])
def test_a_version_5_database_gains_the_side_tables_and_keeps_their_rows(pg_url: str,
                                                                         had_side_tables: bool) -> None:
    """Version 5 made the side tables at run time, from the SQLite DDL above; some databases have them."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE tagfeed_schema (version INTEGER NOT NULL)")
        for version, migration in enumerate(MIGRATIONS[:5], start=1):
            conn.execute(migration)
            conn.execute("INSERT INTO tagfeed_schema VALUES (%s)", (version,))
        conn.execute("INSERT INTO articles VALUES (%s, %s, %s, %s, %s)", (ID, ROW, HASH, WHEN, WHEN))
        if had_side_tables:
            conn.execute(V1_LAST[V1_LAST.index("CREATE TABLE IF NOT EXISTS provenance"):])
            for table, row in SIDE_ROWS.items():
                conn.execute(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(row))})", row)
    with PgStore(pg_url) as store:
        assert store.conn.execute("SELECT max(version) FROM tagfeed_schema").fetchone() == (len(MIGRATIONS),)
        assert store.get_article(ID) == (article_from_json(ROW), HASH)
        if not had_side_tables:
            _write_side_rows(store)
        _side_tables_read(store)
