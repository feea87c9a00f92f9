"""Search: the full-text index kept by the store, ``tagfeed search`` (a real subprocess), and the
server's search page and feeds (the real app under Flask's test client), on real SQLite files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import html as lxml_html

from helpers import BUILD_TIME, run_tagfeed
from server import create_app
from sources.model import Article, Author, make_tag
from tagfeed.building.pipeline import build
from tagfeed.commands.search import search
from tagfeed.config import Config, load_config
from tagfeed.query import parse_query, select
from tagfeed.store.postgres import PgStore
from tagfeed.store.sqlite import Store

NUCLEAR_NOT_PUTIN = ["Putin: Russia to modernize nuclear deterrents",
                     "Lavrov: US are Training Europeans to Use ‘Mini-nukes’ Against Russia"]
# queries the index narrows, and ones it cannot (NOT only, regex, dates, an OR with a regex)
QUERIES = ["nuclear OR nukes", "(nuclear OR nukes) -tag:putin", '"foreign minister"', "tag:putin", "lavrov",
           "title:lavrov putin", "-tag:putin", "title:/nucle|nukes/", "after:2024-03-01T08:59:50Z",
           "nuclear OR /syria/", "source:seeds/003_349737700d66f2ad.txt moscow", "LAVRÓV", "zzzz", "author:nobody",
           # a -word beside what narrows is left out by the index too (SQLite): it must be exact
           "(nuclear OR nukes) -putin", 'lavrov -"foreign minister"', "russia -russia", "tag:putin -russia -s"]
WHEN = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def seeded(project: Path) -> Config:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=BUILD_TIME)
    return config


def _titles(store: Store, text: str, limit: int = 200) -> list[str]:
    return [f.article.title for f in search(store, text, BUILD_TIME, limit=limit).found]


def test_search_gives_what_matches_gives_over_every_article(seeded: Config) -> None:
    """The index only narrows: for each query, the very articles a scan of the whole store matches."""
    with Store.open(seeded.site.state_dir) as store:
        everything = list(store.articles())
        assert len(everything) == 17
        for text in QUERIES:
            expected = [a.title for a, _ in select(parse_query(text), everything, BUILD_TIME)]
            assert _titles(store, text) == expected, text
        assert sorted(_titles(store, "(nuclear OR nukes) -tag:putin")) == sorted(NUCLEAR_NOT_PUTIN)
        assert _titles(store, "LAVRÓV") == _titles(store, "lavrov") != []  # accents and case aside
        assert _titles(store, "zzzz") == []
        assert search(store, "lavrov", BUILD_TIME).narrowed and not search(store, "-tag:putin", BUILD_TIME).narrowed


def test_results_are_newest_first_and_capped(seeded: Config) -> None:
    with Store.open(seeded.site.state_dir) as store:
        results = search(store, "tag:putin", BUILD_TIME, limit=3)
        assert len(results.found) == 3 and results.more
        dates = [f.article.published for f in search(store, "tag:putin", BUILD_TIME).found]
        assert len(dates) == 10 and dates == sorted(dates, reverse=True)  # type: ignore[type-var]
        assert not search(store, "tag:putin", BUILD_TIME, limit=10).more


def _article(title: str, body: str = "Body.") -> Article:
    return Article(id="urn:uuid:00000000-0000-4000-8000-00000000abcd", title=title, link="https://e.example/1",
                   published=WHEN, updated=WHEN, paragraphs=(body,), summary=body, source="seeds/x.txt",
                   tags=(make_tag("Élysée"),), authors=(Author("Anna Müller"),))


def test_the_index_stays_in_step_when_an_article_is_updated(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        store.put_articles([_article("Alpha meeting", "About the harbour.")])
        writes = store.article_writes()
        assert _titles(store, "alpha") == ["Alpha meeting"] and _titles(store, "harbour") == ["Alpha meeting"]
        assert _titles(store, "tag:elysee author:muller") == ["Alpha meeting"]
        store.put_articles([_article("Beta meeting", "About the airport.")])  # the same id, new text
        assert store.article_writes() == writes + 1
        assert _titles(store, "alpha") == [] and _titles(store, "harbour") == []
        assert _titles(store, '"beta meeting" airport') == ["Beta meeting"]
        assert store.db.execute("SELECT count(*) FROM search_index").fetchone() == (1,)
        store.put_articles([_article("Snake_case _ names, москва")])
        for text in ("_", "snake_case", "МОСКВА", '"snake_case _ names"', "names -case -snake"):
            assert _titles(store, text) == ["Snake_case _ names, москва"], text  # \w's underscore, Cyrillic case
        assert _titles(store, "names -snake_case") == _titles(store, "names -_") == []
        store.put_articles([])  # nothing written: the counter stays
        assert store.article_writes() == writes + 2


def test_a_store_from_before_the_index_gets_it_filled_on_open(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with Store(path) as store:
        store.put_articles([_article("Gamma report")])
    with sqlite3.connect(path) as db:  # as version 3 left it: no index tables
        db.execute("DROP TABLE search_index")
        db.execute("DROP TABLE search_docs")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    db.close()
    with Store(path) as store:
        assert store.get_meta("schema_version") == "4"
        assert _titles(store, "gamma") == ["Gamma report"]


def test_the_postgresql_store_searches_alike(pg_url: str, seeded: Config) -> None:
    with Store.open(seeded.site.state_dir) as lite, PgStore(pg_url) as pg:
        pg.put_articles(list(lite.articles()))
        for text in QUERIES:
            assert _titles(pg, text) == _titles(lite, text), text
        assert pg.article_writes() == 1
        pg.put_articles([_article("Alpha meeting")])
        pg.put_articles([_article("Beta meeting")])
        assert _titles(pg, "alpha") == [] and _titles(pg, "beta") == ["Beta meeting"]
        assert pg.article_writes() == 3


def test_the_cli_prints_matches_and_json(seeded: Config, project: Path) -> None:
    config = str(project / "tagfeed.toml")
    result = run_tagfeed("search", "(nuclear OR nukes) -tag:putin", "--json", "--config", config, cwd=project)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert sorted(item["title"] for item in facts["newest"]) == sorted(NUCLEAR_NOT_PUTIN)
    assert facts["count"] == 2 and facts["more"] is False and facts["complete"] is True
    text = run_tagfeed("search", "tag:putin", "--limit", "2", "--config", config, cwd=project)
    assert "matches: 2 (more not shown)\n" in text.stdout and text.stdout.count("      tags: ") == 2
    bad = run_tagfeed("search", 'tag:"putin', "--config", config, cwd=project)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == "tagfeed: error: query: position 5: unclosed quote"


@pytest.fixture
def seeded_client(seeded: Config) -> FlaskClient:
    return create_app(seeded).test_client()


TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8",
         "json": "application/feed+json; charset=utf-8"}


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_search_feeds_answer_200_then_304(seeded_client: FlaskClient, fmt: str,
                                         assert_valid_atom: Callable[[bytes], None],
                                         assert_valid_jsonfeed: Callable[[bytes], object]) -> None:
    url = "/search." + fmt + "?q=(nuclear%20OR%20nukes)%20-tag:putin"  # as its rel=self spells it
    first = seeded_client.get(url)
    assert first.status_code == 200 and first.headers["Content-Type"] == TYPES[fmt]
    etag = first.headers["ETag"]
    if fmt == "json":
        titles = [item["title"] for item in json.loads(first.data)["items"]]
    else:
        parsed = feedparser.parse(first.data)
        assert parsed.bozo == 0, parsed.bozo_exception
        titles = [e.title for e in parsed.entries]
    assert sorted(titles) == sorted(NUCLEAR_NOT_PUTIN)
    if fmt == "atom":
        assert_valid_atom(first.data)
        self_link = urlsplit(next(link.href for link in parsed.feed.links if link.rel == "self"))
        assert (self_link.path, parse_qs(self_link.query)) == ("/search.atom", {"q": ["(nuclear OR nukes) -tag:putin"]})
    if fmt == "json":
        assert_valid_jsonfeed(first.data)
    again = seeded_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    other = seeded_client.get("/search." + fmt + "?q=nuclear", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag  # the query is in the ETag
    form_spelling = seeded_client.get("/search." + fmt + "?q=%28nuclear+OR+nukes%29+-tag%3Aputin")
    assert form_spelling.status_code == 301 and form_spelling.headers["Location"] == "http://127.0.0.1:8080" + url


def test_an_article_write_changes_the_etag(seeded_client: FlaskClient, seeded: Config) -> None:
    url = "/search.atom?q=quokka"
    etag = seeded_client.get(url).headers["ETag"]
    assert feedparser.parse(seeded_client.get(url).data).entries == []
    with Store.open(seeded.site.state_dir) as store:
        store.put_articles([_article("Delta quokka")])
    answer = seeded_client.get(url, headers={"If-None-Match": etag})
    assert answer.status_code == 200 and answer.headers["ETag"] != etag
    assert [e.title for e in feedparser.parse(answer.data).entries] == ["Delta quokka"]


def test_bad_queries_are_400_with_the_reason(seeded_client: FlaskClient) -> None:
    bad = seeded_client.get("/search.atom?q=tag%3A%22putin")
    assert bad.status_code == 400 and b"position 5: unclosed quote" in bad.data
    assert bad.headers["Content-Type"].startswith("text/plain")
    page = seeded_client.get("/search?q=%28x")
    assert page.status_code == 400 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "position 1: &#39;(&#39; is never closed" in page.data.decode()
    long = seeded_client.get("/search.rss?q=" + "x" * 501)
    assert long.status_code == 400 and b"at most 500 characters" in long.data
    assert seeded_client.get("/search.rss?q=" + "x" * 500).status_code == 200
    assert seeded_client.get("/search.json?q=").status_code == 400


def test_the_search_page_works_without_javascript(seeded_client: FlaskClient) -> None:
    empty = seeded_client.get("/search")
    assert empty.status_code == 200 and empty.headers["Content-Type"] == "text/html; charset=utf-8"
    form = lxml_html.fromstring(empty.data).forms[0]
    assert (form.method, form.action, list(form.inputs.keys())) == ("GET", "search", ["q"])
    page = seeded_client.get("/search?q=%28nuclear+OR+nukes%29+-tag%3Aputin")
    doc = lxml_html.fromstring(page.data)
    assert sorted(h.text_content() for h in doc.findall(".//article/h3")) == sorted(NUCLEAR_NOT_PUTIN)
    assert doc.forms[0].inputs["q"].value == "(nuclear OR nukes) -tag:putin"  # the query stays in the box
    feeds = [link.get("href") for link in doc.findall(".//link[@rel='alternate']")]
    assert [urlsplit(href).path for href in feeds] == ["/search.atom", "/search.rss", "/search.json"]
    assert all(parse_qs(urlsplit(href).query) == {"q": ["(nuclear OR nukes) -tag:putin"]} for href in feeds)
    assert "matched: " in page.data.decode()
    assert seeded_client.get("/").status_code == 200
    assert lxml_html.fromstring(seeded_client.get("/").data).xpath("//a[@href='search']")  # linked from the index


def test_the_benchmark_runs_every_query_kind(tmp_path: Path) -> None:
    """A smoke run of ``python -m benchmarks.search`` (small): a row per kind, figures in each."""
    import subprocess
    import sys

    from benchmarks.search import KINDS

    result = subprocess.run([sys.executable, "-m", "benchmarks.search", "--articles", "300", "--queries",
                             str(2 * len(KINDS)), "--keep", str(tmp_path)], capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "ms" not in line]
    assert [row.split("|")[1].strip() for row in rows] == [*KINDS, "all queries", "server 200 (atom)",
                                                            "server 304 (ETag)"]
    assert all(float(row.split("|")[4]) >= float(row.split("|")[3]) for row in rows)  # p99 >= p50
    with Store(tmp_path / "tagfeed.sqlite3") as store:
        assert store.count_articles() == 300


def test_a_postgresql_store_from_before_the_index_gets_it_filled(pg_url: str) -> None:
    import psycopg

    from tagfeed.store.postgres import MIGRATIONS
    from tagfeed.store.records import article_to_json, content_hash
    from tagfeed.store.schema import POSTGRES_SEARCH_VERSION

    old = _article("Epsilon summit", "About the lighthouse.")
    with psycopg.connect(pg_url, autocommit=True) as conn:  # the database as version 7 left it
        conn.execute("CREATE TABLE tagfeed_schema (version INTEGER NOT NULL)")
        for version, migration in enumerate(MIGRATIONS[:POSTGRES_SEARCH_VERSION - 1], start=1):
            conn.execute(migration)
            conn.execute("INSERT INTO tagfeed_schema VALUES (%s)", (version,))
        conn.execute("INSERT INTO articles VALUES (%s, %s, %s, %s, %s)",
                     (old.id, article_to_json(old), content_hash(old), WHEN, WHEN))
    with PgStore(pg_url) as store:
        assert _titles(store, "lighthouse") == ["Epsilon summit"] and _titles(store, "harbour") == []
        assert store.get_article(old.id) == (old, content_hash(old))  # the row itself untouched
