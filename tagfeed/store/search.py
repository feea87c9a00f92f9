"""The full-text index of the store: each article's fields as the folded words queries compare.

Written by the store itself in the transaction that writes the articles
(``Store.put_articles``, ``PgStore.put_articles``), and filled for stored
articles by the migration that made it, so it is never out of step. The text
is folded here by the query language's own ``Subject`` (Python, not the
database's tokenizer), so a query word and an indexed word are the same string;
the index only narrows (``tagfeed.query.narrow``), ``matches`` decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sources.model import Article
from tagfeed.query.fold import word_text
from tagfeed.query.match import Subject

SearchRow = tuple[str, str, str, str, str, str]  # id, title, text, author, tags, source


def search_row(article: Article) -> SearchRow:
    """The indexed text of ``article``: one line of folded words per field."""
    s = Subject(article)
    tags = " \n ".join(word_text(t.slug) for t in article.tags)
    return (article.id, s.padded_words("title").strip(), s.padded_words("text").strip(),
            s.padded_words("author").strip(), tags, word_text(s.source))


def sqlite_index(db: Any, articles: Iterable[Article]) -> None:
    """Put these articles' rows into the SQLite index (inside the caller's transaction).
    ``search_docs`` gives each id a stable number (an INTEGER PRIMARY KEY survives VACUUM,
    ``articles``' implicit rowid does not), the FTS5 rowid of its row."""
    rows = [search_row(a) for a in articles]
    db.executemany("INSERT INTO search_docs (id) VALUES (?) ON CONFLICT (id) DO NOTHING", [(r[0],) for r in rows])
    db.executemany("INSERT OR REPLACE INTO search_index (rowid, title, text, author, tags, source) "
                   "VALUES ((SELECT n FROM search_docs WHERE id = ?), ?, ?, ?, ?, ?)", rows)
    if rows:
        bump_sqlite(db)


def bump_sqlite(db: Any) -> None:
    """One more article write: the change counter search ETags are made of."""
    db.execute("INSERT INTO meta VALUES ('article_writes', '1') ON CONFLICT (key) "
               "DO UPDATE SET value = CAST(value AS INTEGER) + 1")


def sqlite_fill(db: Any) -> None:
    """Index every stored article (the migration that made the index, on a store that had articles)."""
    from tagfeed.store.records import article_from_json

    batch: list[Article] = []
    for (data,) in db.execute("SELECT data FROM articles ORDER BY id").fetchall():
        batch.append(article_from_json(data))
        if len(batch) >= 1000:
            sqlite_index(db, batch)
            batch = []
    sqlite_index(db, batch)


def pg_index(cur: Any, articles: Iterable[Article]) -> None:
    """Put these articles' rows into PostgreSQL's index (tsvectors of the folded words)."""
    rows = [search_row(a) for a in articles]
    cur.executemany("INSERT INTO search_docs (id, title, text, author, tags, source) VALUES "
                    "(%s, to_tsvector('simple', %s), to_tsvector('simple', %s), to_tsvector('simple', %s), "
                    "to_tsvector('simple', %s), to_tsvector('simple', %s)) ON CONFLICT (id) DO UPDATE SET "
                    "title = EXCLUDED.title, text = EXCLUDED.text, author = EXCLUDED.author, "
                    "tags = EXCLUDED.tags, source = EXCLUDED.source", rows)
    if rows:
        cur.execute("INSERT INTO meta VALUES ('article_writes', '1') ON CONFLICT (key) "
                    "DO UPDATE SET value = (CAST(meta.value AS BIGINT) + 1)::text")


def pg_fill(conn: Any) -> None:
    from tagfeed.store.records import article_from_json

    rows = conn.execute("SELECT data FROM articles ORDER BY id").fetchall()
    with conn.cursor() as cur:
        for start in range(0, len(rows), 1000):
            pg_index(cur, [article_from_json(data) for (data,) in rows[start:start + 1000]])
