"""The SQL of the side tables, written once for both backends (their DDL is in ``schema``).

The side tables (provenance, settled dumps, archive pages, output groups,
incidents, published hashes) are read and written with the same statements on
SQLite and PostgreSQL: plain SQL plus ``INSERT ... ON CONFLICT (key) DO UPDATE``
(SQLite >= 3.24). The two drivers differ only in how a statement marks a value
(DB-API ``paramstyle``: ``?`` for sqlite3, ``%s`` for psycopg), so each
statement is composed with its backend's ``MARK`` where a value goes; no text
of a finished statement is ever rewritten. A copy of every statement per
backend would be fifteen pairs differing in one character. Each backend gives
the few primitives below (run, fetch, a transaction, rows by key); the callers
(tagfeed/building, tagfeed/explain.py) never see SQL.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

CHUNK = 500  # values per IN (...) in one statement

ProvenanceRow = tuple[str, str, str, int, int, str, str]  # article_id, source, tags, truncated, chars, first, last
IncidentRow = tuple[str, str, str, str, str, str | None]  # id, source, error_class, message, opened, resolved
# article_id, source, title, link, blocked, rule, query, why, seen
VerdictRow = tuple[str, str, str, str, int, str, str, str, str]


class Tables(ABC):
    """Side-table reads and writes over a backend's primitives."""

    MARK: ClassVar[str]  # the driver's value mark

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        """Commit on success, roll back on error."""

    @abstractmethod
    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row, as tuples (``Any``: each caller names its columns' types)."""

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it changed."""

    @abstractmethod
    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def _keyed(self, table: str, key: str, columns: str, keys: Iterable[str]) -> list[Any]:
        """``columns`` of the rows of ``table`` whose ``key`` is one of ``keys``."""

    def _marks(self, count: int) -> str:
        return ", ".join([self.MARK] * count)

    # -- provenance (tagfeed.store.provenance) -------------------------------
    def provenance_rows(self, article_ids: Iterable[str]) -> list[ProvenanceRow]:
        return self._keyed("provenance", "article_id",
                           "article_id, source, tags, truncated, chars, first_seen, last_seen", article_ids)

    def put_provenance(self, rows: Sequence[ProvenanceRow], seen_again: Sequence[tuple[str, str, str]]) -> None:
        """Insert or replace ``rows``; move ``last_seen`` of the (when, article_id, source) pairs."""
        with self._transaction():
            self._run_many(f"INSERT INTO provenance VALUES ({self._marks(7)}) ON CONFLICT (article_id, source) "
                           "DO UPDATE SET tags = excluded.tags, truncated = excluded.truncated, "
                           "chars = excluded.chars, first_seen = excluded.first_seen, last_seen = excluded.last_seen",
                           rows)
            m = self.MARK
            self._run_many(f"UPDATE provenance SET last_seen = {m} WHERE article_id = {m} AND source = {m}",
                           seen_again)

    def touch_provenance(self, when: str, ids_by_source: dict[str, tuple[str, ...]]) -> list[str]:
        """Move ``last_seen`` of each source's rows of these ids; the sources some of whose rows are missing."""
        short = []
        m = self.MARK
        with self._transaction():
            for source, ids in ids_by_source.items():
                wanted = sorted(set(ids))
                updated = 0
                for start in range(0, len(wanted), CHUNK):
                    chunk = wanted[start:start + CHUNK]
                    updated += self._run(f"UPDATE provenance SET last_seen = {m} WHERE source = {m} AND article_id "
                                         f"IN ({self._marks(len(chunk))})", (when, source, *chunk))
                if updated < len(wanted):
                    short.append(source)
        return short

    def provenance_articles(self, sources: Sequence[str]) -> int:
        """How many articles these sources have given."""
        rows = self._fetch(f"SELECT count(DISTINCT article_id) FROM provenance WHERE source IN "
                           f"({self._marks(len(sources))})", tuple(sources))
        return int(rows[0][0])

    # -- settled dumps (tagfeed.store.settled) -------------------------------
    def settled_rows(self) -> list[tuple[str, str, str]]:
        """(source, key, ids as JSON) of every settled dump."""
        return self._fetch("SELECT source, key, ids FROM settled_dumps")

    def put_settled(self, rows: Sequence[tuple[str, str, str]], dropped: Sequence[str]) -> None:
        with self._transaction():
            self._run_many(f"DELETE FROM settled_dumps WHERE source = {self.MARK}", [(s,) for s in dropped])
            self._run_many(f"INSERT INTO settled_dumps VALUES ({self._marks(3)}) ON CONFLICT (source) "
                           "DO UPDATE SET key = excluded.key, ids = excluded.ids", rows)

    # -- archive pages (tagfeed.building.archive) ----------------------------
    def archive_rows(self) -> list[tuple[str, int, str]]:
        """(tag, page, article_id) of every archived article, in page order."""
        return self._fetch("SELECT tag, page, article_id FROM archive_pages "
                           "ORDER BY tag, page, position")

    def add_archive_rows(self, rows: Sequence[tuple[str, int, int, str]]) -> None:
        """New (tag, page, position, article_id) rows: a page once cut is never rewritten."""
        with self._transaction():
            self._run_many(f"INSERT INTO archive_pages VALUES ({self._marks(4)})", rows)

    def archive_pages_of(self, article_id: str) -> list[tuple[str, int]]:
        rows = self._fetch(f"SELECT tag, page FROM archive_pages WHERE article_id = {self.MARK} ORDER BY tag",
                           (article_id,))
        return [(tag, int(page)) for tag, page in rows]

    # -- output groups (tagfeed.building.outputs) ----------------------------
    def output_groups(self) -> tuple[dict[str, str], dict[str, str]]:
        """Each group's fingerprint and its files' state, by its first path (two dicts of strings)."""
        return (dict(self._fetch("SELECT path, fingerprint FROM output_groups")),
                dict(self._fetch("SELECT path, files FROM output_groups")))

    def put_output_groups(self, rows: Sequence[tuple[str, str, str]]) -> None:
        with self._transaction():
            self._run_many(f"INSERT INTO output_groups VALUES ({self._marks(3)}) ON CONFLICT (path) "
                           "DO UPDATE SET fingerprint = excluded.fingerprint, files = excluded.files", rows)

    # -- incidents (tagfeed.building.incidents) ------------------------------
    def incident_rows(self) -> list[IncidentRow]:
        return self._fetch(
            "SELECT id, source, error_class, message, opened, resolved FROM incidents")

    def put_incidents(self, rows: Sequence[IncidentRow]) -> None:
        with self._transaction():
            self._run_many(f"INSERT INTO incidents VALUES ({self._marks(6)}) ON CONFLICT (id) DO UPDATE SET "
                           "source = excluded.source, error_class = excluded.error_class, "
                           "message = excluded.message, opened = excluded.opened, resolved = excluded.resolved",
                           rows)

    # -- rule verdicts (tagfeed.building.rules) ------------------------------
    def replace_verdicts(self, sources: Sequence[str], rows: Sequence[VerdictRow]) -> None:
        """The verdicts of the sources read this build replace their earlier ones."""
        with self._transaction():
            self._run_many(f"DELETE FROM rule_verdicts WHERE source = {self.MARK}", [(s,) for s in sources])
            self._run_many(f"INSERT INTO rule_verdicts VALUES ({self._marks(9)}) ON CONFLICT (article_id, source) "
                           "DO UPDATE SET title = excluded.title, link = excluded.link, blocked = excluded.blocked, "
                           "rule = excluded.rule, query = excluded.query, why = excluded.why, seen = excluded.seen",
                           rows)

    def verdicts_for(self, target: str) -> list[VerdictRow]:
        """The verdicts on the article whose id, title or link is ``target``."""
        m = self.MARK
        return self._fetch(f"SELECT article_id, source, title, link, blocked, rule, query, why, seen FROM "
                           f"rule_verdicts WHERE article_id = {m} OR title = {m} OR link = {m} "
                           "ORDER BY article_id, source", (target, target, target))

    # -- published hashes (tagfeed.building.publish) -------------------------
    def published_hashes(self, target: str) -> dict[str, str]:
        """The sha256 of every object uploaded to ``target``, by path."""
        return dict(self._fetch(f"SELECT path, sha256 FROM published WHERE target = {self.MARK}",
                                (target,)))

    def put_published(self, target: str, done: Sequence[tuple[str, str]]) -> None:
        with self._transaction():
            self._run_many(f"INSERT INTO published (target, path, sha256) VALUES ({self._marks(3)}) "
                           "ON CONFLICT (target, path) DO UPDATE SET sha256 = excluded.sha256",
                           [(target, path, digest) for path, digest in done])
