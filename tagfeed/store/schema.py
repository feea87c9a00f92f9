"""Every table of the store, as versioned migrations of each backend: the only DDL in tagfeed.

Each entry upgrades a store by one version, applied in order on open
(``sqlite.upgrade``, ``postgres.upgrade``) and recorded (SQLite: ``meta``
``schema_version``; PostgreSQL: ``tagfeed_schema``). An entry that has shipped
is never edited: a change is a new entry at the end.

Before migrations, the side tables (provenance, settled dumps, archive pages,
output groups, incidents, published hashes) were made by ``CREATE TABLE IF NOT
EXISTS`` when first used, and SQLite files gained columns at open while staying
at version 1. So the entry that brings them in finds them present in some
stores and absent in others: it says IF NOT EXISTS, and ``AddColumn`` adds a
column only when the file lacks it (SQLite has no ADD COLUMN IF NOT EXISTS).
Their DDL is the text that ran then, the same on both backends (times as ISO
text), so a store that had them and one that gains them now are alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class AddColumn:
    """``ALTER TABLE table ADD COLUMN column kind``, skipped when the table has the column."""

    table: str
    column: str
    kind: str


@dataclass(frozen=True, slots=True)
class FillSearch:
    """Index every stored article for search: Python folds the text as queries fold it
    (``tagfeed.store.search``), which no SQL statement can."""


SIDE_TABLES: Final[tuple[str, ...]] = (  # shipped in SQLite 2 and PostgreSQL 6: never edit
    # which sources gave each article (tagfeed/store/provenance.py, for `tagfeed explain`)
    """CREATE TABLE IF NOT EXISTS provenance (
    article_id TEXT NOT NULL,
    source TEXT NOT NULL,
    tags TEXT NOT NULL,
    truncated INTEGER NOT NULL,
    chars INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (article_id, source)
)""",
    # the dumps a rebuild may leave unread (tagfeed/store/settled.py)
    """CREATE TABLE IF NOT EXISTS settled_dumps (
    source TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    ids TEXT NOT NULL
)""",
    # RFC 5005 pages, cut once (tagfeed/building/archive.py)
    """CREATE TABLE IF NOT EXISTS archive_pages (
    tag TEXT NOT NULL,
    page INTEGER NOT NULL,
    position INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (tag, page, position),
    UNIQUE (tag, article_id)
)""",
    # output groups up to date (tagfeed/building/outputs.py)
    """CREATE TABLE IF NOT EXISTS output_groups (
    path TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    files TEXT NOT NULL
)""",
    # behind status.atom (tagfeed/building/incidents.py)
    """CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    error_class TEXT NOT NULL,
    message TEXT NOT NULL,
    opened TEXT NOT NULL,
    resolved TEXT
)""",
    # sha256 of each object uploaded, per target (tagfeed/building/publish.py)
    """CREATE TABLE IF NOT EXISTS published (
    target TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (target, path)
)""",
)

# why a source's copy of an article was blocked or kept by a rule (tagfeed/building/rules.py, for explain)
RULE_VERDICTS: Final = """CREATE TABLE IF NOT EXISTS rule_verdicts (
    article_id TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    blocked INTEGER NOT NULL,
    rule TEXT NOT NULL,
    query TEXT NOT NULL,
    why TEXT NOT NULL,
    seen TEXT NOT NULL,
    PRIMARY KEY (article_id, source)
)"""

# the full-text index of search (tagfeed/store/search.py): search_docs numbers the ids, FTS5 holds the words
SQLITE_SEARCH: Final[tuple[str | FillSearch, ...]] = (
    "CREATE TABLE IF NOT EXISTS search_docs (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(title, text, author, tags, source, "
    # tokens are then exactly the \w+ words the text was folded to (tagfeed.query.narrow.Without)
    """tokenize = "unicode61 remove_diacritics 0 tokenchars '_'")""",
    FillSearch(),
)
POSTGRES_SEARCH: Final = """
    CREATE TABLE search_docs (id TEXT PRIMARY KEY, title TSVECTOR NOT NULL, text TSVECTOR NOT NULL,
        author TSVECTOR NOT NULL, tags TSVECTOR NOT NULL, source TSVECTOR NOT NULL);
    CREATE INDEX search_docs_title ON search_docs USING GIN (title);
    CREATE INDEX search_docs_text ON search_docs USING GIN (text);
    CREATE INDEX search_docs_author ON search_docs USING GIN (author);
    CREATE INDEX search_docs_tags ON search_docs USING GIN (tags);
    CREATE INDEX search_docs_source ON search_docs USING GIN (source);
"""

SqliteStep = str | AddColumn | FillSearch  # one statement each: they run inside one transaction, not as a script
SQLITE_MIGRATIONS: Final[tuple[tuple[SqliteStep, ...], ...]] = (
    (  # 1: the first store (IF NOT EXISTS: a file may hold these without its version recorded)
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    published TEXT NOT NULL,
    updated TEXT NOT NULL
)""",
        """CREATE TABLE IF NOT EXISTS sources (
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
)""",
    ),
    (  # 2: what version-1 files gained at run time: SourceState.ttl and .failure, and the side tables
        AddColumn("sources", "ttl", "INTEGER"),
        AddColumn("sources", "error_kind", "TEXT"),
        AddColumn("sources", "error_status", "INTEGER"),
        *SIDE_TABLES,
    ),
    (RULE_VERDICTS,),  # 3: keep/block rules' verdicts
    SQLITE_SEARCH,  # 4: the full-text index of search
)

POSTGRES_MIGRATIONS: Final[tuple[str, ...]] = (
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
    # tagfeed work: which worker polls a feed now (tagfeed/store/leases.py), and the link dedup of its articles
    """
    CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT, expires TIMESTAMPTZ);
    CREATE INDEX articles_link ON articles (((data::jsonb) ->> 'link'));
    """,
    # politeness per upstream host across workers (tagfeed/poll/hostturns.py): when the last request ended
    "CREATE TABLE host_turns (host TEXT PRIMARY KEY, last_end TIMESTAMPTZ NOT NULL);",
    # SourceState.failure: its kind and HTTP status beside the message (tagfeed.errors.Failure)
    "ALTER TABLE sources ADD COLUMN error_kind TEXT; ALTER TABLE sources ADD COLUMN error_status INTEGER;",
    # the side tables, made at run time before this version (so a database may have them already)
    ";\n".join(SIDE_TABLES) + ";",
    RULE_VERDICTS + ";",  # keep/block rules' verdicts
    POSTGRES_SEARCH,  # the full-text index of search; filled by tagfeed.store.search.pg_fill after it runs
)
POSTGRES_SEARCH_VERSION: Final = 8
