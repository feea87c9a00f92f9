"""tagfeed/store/postgres.py against a real PostgreSQL (Debian's packages) started in a temp dir on 127.0.0.1.

The server is the session's ``postgres_server`` (tests/pgserver.py, via conftest.py).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import BUILD_TIME, free_port, run_tagfeed

from sources.model import Article, make_tag
from tagfeed.config import load_config
from tagfeed.errors import ConfigError, StoreError
from tagfeed.store.postgres import SCHEMA_VERSION, PgStore
from tagfeed.building.pipeline import build
from tagfeed.store.sqlite import SourceState, Store

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def _article(n: int, *, published: datetime, tags: tuple[str, ...] = ("Putin",)) -> Article:
    return Article(id=f"urn:uuid:00000000-0000-0000-0000-{n:012d}", title=f"Title {n} – “quoted”",
                   summary=f"Summary {n}", paragraphs=(f"Summary {n}", "Второй абзац"), content_html=None,
                   caption=None, tags=tuple(make_tag(t) for t in tags), link=None, published=published,
                   updated=published, truncated=n % 2 == 0, source=f"seeds/{n}.txt")


def _exercise(store: Store) -> tuple[object, ...]:
    """The same calls on any store; what they return must not depend on the backend."""
    store.put_articles([_article(n, published=T0 - timedelta(seconds=n % 3)) for n in range(7)])
    store.put_articles([dataclasses.replace(_article(3, published=T0), title="Edited")])
    state = SourceState(name="https://example.org/feed.xml", kind="feed", state="backoff", last_error="HTTP 503",
                        last_ok=T0, next_fetch=T0 + timedelta(minutes=30), error_count=2, etag='"x"',
                        retry_after=T0 + timedelta(seconds=120), url="https://example.org/feed.xml")
    store.put_source(state)
    store.put_source(SourceState(name="seeds/a.txt", kind="tagpage", article_count=4, last_ok=T0))
    store.put_source(dataclasses.replace(state, error_count=3))
    store.set_meta("last_build", T0.isoformat())
    store.set_meta("last_build", "again")
    return (list(store.articles()), store.get_article(_article(3, published=T0).id), store.get_article("nope"),
            store.count_articles(), store.sources(), store.get_source(state.name), store.get_source("nope"),
            store.get_meta("last_build"), store.get_meta("nope"))


def test_pgstore_answers_like_the_sqlite_store(pg_url: str, tmp_path: Path) -> None:
    with Store.open(tmp_path) as sqlite_store, PgStore(pg_url) as pg_store:
        assert _exercise(pg_store) == _exercise(sqlite_store)


def test_schema_is_created_once_and_versioned(pg_url: str) -> None:
    stores = []
    threads = [threading.Thread(target=lambda: stores.append(PgStore(pg_url))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(stores) == 4
        versions = stores[0].conn.execute("SELECT version FROM tagfeed_schema ORDER BY version").fetchall()
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    finally:
        for store in stores:
            store.close()


def test_newer_schema_is_refused(pg_url: str) -> None:
    with PgStore(pg_url) as store:
        store.conn.execute("INSERT INTO tagfeed_schema VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        PgStore(pg_url)


def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    port = free_port()
    with pytest.raises(StoreError) as caught:
        PgStore(f"postgresql://tagfeed:s3cret@127.0.0.1:{port}/db")
    assert "s3cret" not in str(caught.value) and f"127.0.0.1:{port}" in str(caught.value)


def _exercise_side_tables(store: Store) -> tuple[object, ...]:
    """The side tables' statements (tagfeed/store/tables.py) on any store: upserts replace, deletes
    delete, chunked updates count their rows; what they give must not depend on the backend."""
    when, later = T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()
    ids = [f"urn:uuid:{n:032d}" for n in range(1200)]  # more than one IN (...) chunk
    store.put_provenance([(i, "seeds/a.txt", "[]", 0, n, when, when) for n, i in enumerate(ids)], [])
    store.put_provenance([(ids[0], "seeds/a.txt", '[["x", "X"]]', 1, 9, when, later)],
                         [(later, ids[1], "seeds/a.txt")])
    short = store.touch_provenance(later, {"seeds/a.txt": tuple(ids[2:]), "seeds/b.txt": (ids[0],)})
    store.put_settled([("seeds/a.txt", "k1", "[]"), ("seeds/b.txt", "k2", "[]")], [])
    store.put_settled([("seeds/a.txt", "k3", '["x"]')], ["seeds/b.txt"])
    store.add_archive_rows([("putin", 1, 0, ids[0]), ("putin", 1, 1, ids[1]), ("kremlin", 1, 0, ids[0])])
    store.put_output_groups([("a.atom", "f1", "s1"), ("b.atom", "f2", "s2")])
    store.put_output_groups([("a.atom", "f3", "s3")])
    store.put_incidents([("i1", "s", "timeout", "timed out", when, None)])
    store.put_incidents([("i1", "s", "timeout", "timed out", when, later), ("i2", "t", "http-503", "m", when, None)])
    store.put_published("t1", [("a", "d1"), ("b", "d2")])
    store.put_published("t1", [("a", "d3")])
    store.put_published("t2", [("a", "d4")])
    return (sorted(store.provenance_rows(ids[:3])), len(store.provenance_rows(ids)), short,
            store.provenance_articles(["seeds/a.txt", "seeds/b.txt"]), sorted(store.settled_rows()),
            store.archive_rows(), store.archive_pages_of(ids[0]), store.output_groups(),
            sorted(store.incident_rows()), store.published_hashes("t1"), store.published_hashes("t2"))


def test_side_tables_answer_alike_on_both_backends(pg_url: str, tmp_path: Path) -> None:
    with Store.open(tmp_path) as sqlite_store, PgStore(pg_url) as pg_store:
        answers = _exercise_side_tables(sqlite_store)
        assert _exercise_side_tables(pg_store) == answers
    when, later = T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()
    assert answers[0] == [("urn:uuid:" + "0" * 32, "seeds/a.txt", '[["x", "X"]]', 1, 9, when, later),
                          ("urn:uuid:" + "0" * 31 + "1", "seeds/a.txt", "[]", 0, 1, when, later),
                          ("urn:uuid:" + "0" * 31 + "2", "seeds/a.txt", "[]", 0, 2, when, later)]
    assert answers[1:5] == (1200, ["seeds/b.txt"], 1200, [("seeds/a.txt", "k3", '["x"]')])
    assert answers[5:] == ([("kremlin", 1, "urn:uuid:" + "0" * 32), ("putin", 1, "urn:uuid:" + "0" * 32),
                            ("putin", 1, "urn:uuid:" + "0" * 31 + "1")], [("kremlin", 1), ("putin", 1)],
                           ({"a.atom": "f3", "b.atom": "f2"}, {"a.atom": "s3", "b.atom": "s2"}),
                           [("i1", "s", "timeout", "timed out", when, later), ("i2", "t", "http-503", "m", when, None)],
                           {"a": "d3", "b": "d2"}, {"a": "d4"})


def test_build_on_postgresql_writes_the_same_tree_as_on_sqlite(project: Path, pg_url: str) -> None:
    local = project / "tagfeed.toml"
    on_pg = project / "pg.toml"
    on_pg.write_text(local.read_text(encoding="utf-8").replace('output_dir = "output"',
                                                               f'output_dir = "output-pg"\nstore = "{pg_url}"')
                     .replace('state_dir = ".tagfeed"', 'state_dir = ".tagfeed-pg"'),
                     encoding="utf-8")
    for when in (BUILD_TIME, BUILD_TIME + timedelta(hours=1)):
        sqlite_report = build(load_config(local, environ={}), now=when)
        pg_report = build(load_config(on_pg, environ={}), now=when)
        assert pg_report.summary() == sqlite_report.summary()
        assert sorted(pg_report.written) == sorted(sqlite_report.written)
    assert pg_report.written == ()
    trees = [{p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
             for root in (project / "output", project / "output-pg")]
    assert trees[0] == trees[1] and len(trees[0]) > 20
    assert not (project / ".tagfeed-pg" / "tagfeed.sqlite3").exists()


def test_store_key_is_checked_and_read_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.toml"
    path.write_text('[site]\nstore = "mysql://x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="site.store"):
        load_config(path, environ={})
    site = load_config(path, environ={"TAGFEED_STORE": "postgresql://u@db.internal/feeds"}).site
    assert site.store == "postgresql://u@db.internal/feeds"


def test_explain_reads_provenance_from_postgresql_as_from_sqlite(project: Path, pg_url: str) -> None:
    """The provenance side table on PostgreSQL: same rows, same `tagfeed explain --json`."""
    title = "Kremlin names a new Urals envoy after the reshuffle"
    for name, tag, last in (("100_a.txt", "Putin", "He was named on \u2026"),
                            ("101_b.txt", "Kremlin", "He was named on Monday, the Kremlin said.")):
        (project / "seeds" / name).write_text(
            f"Contents tagged with {tag}\n\n  \u2022 {title}\n\n    The envoy takes over the Urals district.\n\n"
            f"    {last}\n", encoding="utf-8")
    local, on_pg = project / "tagfeed.toml", project / "pg.toml"
    on_pg.write_text(local.read_text(encoding="utf-8").replace('output_dir = "output"',
                                                               f'output_dir = "output-pg"\nstore = "{pg_url}"')
                     .replace('state_dir = ".tagfeed"', 'state_dir = ".tagfeed-pg"'), encoding="utf-8")
    answers = []
    for toml in (local, on_pg):
        for when in (BUILD_TIME, BUILD_TIME + timedelta(hours=1)):
            build(load_config(toml, environ={}), now=when)
        result = run_tagfeed("explain", title, "--json", "--config", str(toml), cwd=project)
        assert result.returncode == 0, result.stderr
        answers.append(json.loads(result.stdout))
    assert answers[0] == answers[1]
    assert [(s["name"], s["tags"], s["first_seen"], s["last_seen"]) for s in answers[1]["sources"]] == [
        (f"seeds/{n}", [t], BUILD_TIME.isoformat(), (BUILD_TIME + timedelta(hours=1)).isoformat())
        for n, t in (("100_a.txt", "Putin"), ("101_b.txt", "Kremlin"))]
    assert answers[1]["content_rule"]["source"] == "seeds/101_b.txt"
