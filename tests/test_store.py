"""The SQLite store: round-trips, source state, schema versioning."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sources.model import Article, Author, Enclosure, article_id, make_tag
from tagfeed.errors import StoreError
from tagfeed.store.sqlite import SourceState, Store, article_from_json, article_to_json, content_hash

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _article(title: str, **kw: object) -> Article:
    return Article(id=article_id(title), title=title, paragraphs=("p1", "p2"), tags=(make_tag("Putin"),),
                   published=WHEN, updated=WHEN, **kw)  # type: ignore[arg-type]


def test_articles_round_trip_and_order(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        a = _article("Older")
        b = _article("Newer", caption="A caption [AP]")
        b = dataclasses.replace(b, published=WHEN.replace(hour=13))
        store.put_articles([a, b])
    with Store.open(tmp_path) as store:  # a new connection reads what the first wrote
        got = list(store.articles())
        assert [x.title for x in got] == ["Newer", "Older"]
        assert got[0] == b and got[1] == a
        assert store.get_article(a.id) == (a, content_hash(a))
        assert store.count_articles() == 2


def test_content_hash_ignores_dates_and_tags() -> None:
    a = _article("Same")
    b = Article(id=a.id, title="Same", paragraphs=("p1", "p2"), tags=(make_tag("Other"),))
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(_article("Same", truncated=True))


# A row as tagfeed wrote it before articles had authors, enclosures and an image.
OLD_ROW = json.dumps({
    "caption": None, "content_html": "<p>x</p>", "id": "https://a.example/1", "link": "https://a.example/1",
    "paragraphs": [], "published": "2024-05-01T12:00:00+00:00", "source": "https://a.example/feed",
    "source_title": "A", "source_url": "https://a.example/feed", "summary": "x", "tags": [["putin", "Putin"]],
    "title": "T", "truncated": False, "updated": "2024-05-01T12:00:00+00:00"}, ensure_ascii=False, sort_keys=True)
RICH = dict(authors=(Author("Jane Doe", "jane@a.example", "https://jane.example/"), Author("Bob")),
            enclosures=(Enclosure("https://a.example/1.mp3", "audio/mpeg", 1234), Enclosure("https://a.example/2")),
            image="https://a.example/1.jpg")


def test_rows_of_older_versions_load_and_keep_their_text_and_hash() -> None:
    old = article_from_json(OLD_ROW)
    assert (old.authors, old.enclosures, old.image) == ((), (), None)
    assert article_to_json(old) == OLD_ROW  # rewriting an old row changes no byte
    # the hash formula of the version before: an upgrade must not make stored articles "changed"
    before = json.dumps([old.title, old.summary, old.paragraphs, old.content_html, old.caption, old.link,
                         old.truncated], ensure_ascii=False)
    assert content_hash(old) == hashlib.sha256(before.encode("utf-8")).hexdigest()


def test_authors_enclosures_and_image_round_trip_and_count_as_content(tmp_path: Path) -> None:
    plain = _article("Rich")
    rich = dataclasses.replace(plain, **RICH)  # type: ignore[arg-type]
    data = json.loads(article_to_json(rich))
    assert data["authors"] == [["Jane Doe", "jane@a.example", "https://jane.example/"], ["Bob", None, None]]
    assert data["enclosures"] == [["https://a.example/1.mp3", "audio/mpeg", 1234], ["https://a.example/2", None, None]]
    assert data["image"] == "https://a.example/1.jpg"
    assert article_from_json(article_to_json(rich)) == rich
    with Store.open(tmp_path) as store:
        store.put_articles([rich])
    with Store.open(tmp_path) as store:
        assert list(store.articles()) == [rich]
    hashes = {content_hash(plain), content_hash(rich), content_hash(dataclasses.replace(rich, image=None)),
              content_hash(dataclasses.replace(rich, authors=RICH["authors"][:1])),  # type: ignore[index]
              content_hash(dataclasses.replace(rich, enclosures=()))}
    assert len(hashes) == 5


def test_source_state_round_trip(tmp_path: Path) -> None:
    state = SourceState(name="https://x/feed", kind="feed", state="error", last_error="boom",
                        next_fetch=WHEN, error_count=3, etag='"abc"')
    with Store.open(tmp_path) as store:
        store.put_source(state)
        assert store.get_source(state.name) == state
        assert store.sources() == [state]
        assert store.get_source("nope") is None


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    db = sqlite3.connect(tmp_path / "tagfeed.sqlite3")
    with db:
        db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store.open(tmp_path)


def test_unusable_state_dir_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError):
        Store.open(blocker / "state")


def test_rows_by_key_scans_or_chunks_and_gives_the_same_rows() -> None:
    """Most of a table in one scan, a part of it in IN (...) chunks: the same rows either way."""
    import sqlite3

    from tagfeed.store.sqlite import rows_by_key

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, a TEXT, b INTEGER)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", [(f"k{n:05d}", f"a{n}", n) for n in range(3000)])
    for wanted in (range(0, 3000, 1), range(0, 3000, 2), range(0, 3000, 5), range(7)):  # scan, scan, chunks, one chunk
        keys = [f"k{n:05d}" for n in wanted] + ["missing"]
        rows = rows_by_key(db, "t", "k", "k, a, b", keys)
        assert sorted(rows) == [(f"k{n:05d}", f"a{n}", n) for n in wanted]
