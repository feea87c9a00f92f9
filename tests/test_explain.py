"""`tagfeed explain` through the real CLI (a subprocess) on a built project, plus its pure wording."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from helpers import run_tagfeed
from sources.model import Article, article_id, uuid_urn
from tagfeed.building.archive import archive_of
from tagfeed.config import load_config
from tagfeed.explain import duration, id_origin, next_fetch_reason
from tagfeed.building.pipeline import build
from tagfeed.store.sqlite import SourceState, Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
RSS = (Path(__file__).parent / "data/upstream/rss20.xml").read_bytes()
TITLE = "Lavrov: Complete Iranian withdrawal from Syria unrealistic"


def _configure(project: Path, site: str = "", feeds: tuple[str, ...] = ()) -> Path:
    toml = project / "tagfeed.toml"
    text = toml.read_text("utf-8").replace("[site]\n", f"[site]\n{site}")
    for url in feeds:
        text += f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\ntags = ["Upstream"]\nevery = "30m"\n'
    toml.write_text(text, "utf-8")
    build(load_config(toml, environ={}), now=T0)
    return toml


def _explain(project: Path, target: str, *flags: str) -> str:
    result = run_tagfeed("explain", target, *flags, "--config", str(project / "tagfeed.toml"), cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


SAME = "Kremlin names a new Urals envoy after the reshuffle"
_DUMP = """Contents tagged with {tag}

  \u2022 {title}

    Russian President Vladimir Putin signed decrees dismissing three government ministers.

    {last}

  \u2022 {other}

    A paragraph of its own that ends the way a sentence does.
"""


def _two_dumps(project: Path) -> None:
    """The same headline on two dumps: a teaser tagged Putin, the full text tagged Kremlin."""
    for name, tag, last, other in (
            ("100_teaser.txt", "Putin", "Minister of Natural Resources Dmitry Kobylkin lost \u2026",
             "A story only the first dump has"),
            ("101_full.txt", "Kremlin", "Minister of Natural Resources Dmitry Kobylkin lost his post, as did "
                                        "two others, the Kremlin said on Monday.", "A story only the second has")):
        text = _DUMP.format(tag=tag, title=SAME, last=last, other=other)
        (project / "seeds" / name).write_text(text, "utf-8")


# -- through the CLI ------------------------------------------------------------
def test_a_tag_page_article_by_id_title_and_page(project: Path) -> None:
    _configure(project)
    the_id = article_id(TITLE)
    page = f"articles/{uuid.UUID(the_id[9:]).hex}.html"
    outputs = [_explain(project, target) for target in
               (the_id, TITLE, TITLE.upper(), page, f"output/{page}", f"http://127.0.0.1:8080/{page}")]
    assert all(out == outputs[0] for out in outputs)
    out = outputs[0]
    assert out.startswith(f"article {the_id}\n")
    assert 'uuid5 of its normalized title "lavrov: complete iranian withdrawal from syria unrealistic"' in out
    assert "source: seeds/003_" in out and str(project) not in out  # relative to the config
    assert f"published: {(T0 - timedelta(seconds=12)).isoformat()}" in out and "first seen by tagfeed" in out
    assert "tags: Sergei Lavrov (sergei-lavrov)" in out
    assert f"    {page} (its own page)" in out
    assert "all.atom, all.rss, all.json, index.html" in out
    assert ("tag Sergei Lavrov: tags/sergei-lavrov.atom, tags/sergei-lavrov.rss, tags/sergei-lavrov.json, "
            "tags/sergei-lavrov.html") in out


def test_an_archived_article_names_its_archive_page(project: Path) -> None:
    toml = project / "tagfeed.toml"
    toml.write_text(toml.read_text("utf-8").replace("max_items = 50", "max_items = 2"), "utf-8")
    _configure(project, site="archive_page_size = 2\n")
    with Store.open(load_config(toml, environ={}).site.state_dir) as store:
        archived = next((a, archive_of(store, a.id)) for a in store.articles() if archive_of(store, a.id))
    article, [(slug, page)] = archived[0], archived[1][:1]
    out = _explain(project, article.id)
    assert f"tags/{slug}/archive/{page}.atom (number " in out and f"archive page {page}, RFC 5005" in out
    assert f"tags/{slug}.rss" not in out and "all.atom" not in out  # off the 2-item window
    assert "(max_items = 2)" in out


def test_a_tag_page_dump_as_a_source(project: Path) -> None:
    _configure(project)
    dump = sorted((project / "seeds").glob("000_*.txt"))[0]
    for target in (f"seeds/{dump.name}", str(dump), f"./seeds/../seeds/{dump.name}"):
        out = _explain(project, target)
        assert out.splitlines()[:4] == [f"source seeds/{dump.name} (tag-page dump)", "  state: ok",
                                        "  last error: none", "  errors in a row: 0"]
        assert "articles: 10 in its last answer; 10 in the store from it" in out


def test_a_feed_source_and_its_articles(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/rss").respond_with_data(
        RSS, content_type="application/rss+xml", headers={"ETag": '"v1"', "Cache-Control": "max-age=7200"})
    url = httpserver.url_for("/rss")
    _configure(project, feeds=(url,))
    out = _explain(project, url)
    assert out.startswith(f"source {url} (feed)\n  state: ok\n")
    next_at = (T0 + timedelta(hours=2)).isoformat()
    assert (f"next fetch: {next_at}: the response's Cache-Control max-age or Expires (2h), "
            "longer than `every` (30m)") in out
    assert 'validators: ETag "v1"' in out and "configured: every 30m; tags: Upstream" in out
    assert "articles: 3 in its last answer; 3 in the store from it" in out
    by_link = _explain(project, "https://rss2.example.org/news/putin")
    assert by_link.startswith("article https://rss2.example.org/news/putin\n")
    assert "the upstream entry's own id (an absolute IRI), kept as is" in by_link
    assert f"source: {url}" in by_link and "the upstream date" in by_link
    assert "tag Upstream: tags/upstream.atom" in by_link


def test_a_failing_feed_says_why_and_when_next(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down").respond_with_data("", status=429, headers={"Retry-After": "600"})
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    down, broken = httpserver.url_for("/down"), httpserver.url_for("/broken")
    _configure(project, feeds=(down, broken))
    out = _explain(project, down)
    assert "state: backoff" in out and f"last error: {down}: HTTP 429, Retry-After: 600" in out
    assert f"next fetch: {(T0 + timedelta(minutes=10)).isoformat()}: the server's Retry-After" in out
    out = _explain(project, broken)
    assert "state: error" in out and "errors in a row: 1" in out and "HTTP 500" in out
    assert "backoff after 1 failure(s) in a row" in out and "validators: none stored" in out


def test_an_article_from_two_dumps_names_both_sources_its_tags_and_the_fuller_text(project: Path) -> None:
    _two_dumps(project)
    _configure(project)
    out = _explain(project, SAME)
    seen = f"first seen {T0.isoformat()}, last seen {T0.isoformat()}"
    assert "  source: seeds/101_full.txt (its text is the one published)\n" in out
    assert f"    seeds/100_teaser.txt: tags Putin; {seen}; gave a teaser (cut short)" in out
    assert f"    seeds/101_full.txt: tags Kremlin; {seen}; gave the full text" in out
    assert "tags: Kremlin (kremlin) from seeds/101_full.txt; Putin (putin) from seeds/100_teaser.txt" in out
    content = next(line for line in out.splitlines() if line.startswith("  content: "))
    assert content.startswith("  content: the full text (") and "from seeds/101_full.txt" in content
    assert "the fuller body wins" in content and "seeds/100_teaser.txt gave a teaser" in content
    assert f"first seen: {T0.isoformat()}" in out
    assert "tag Putin: tags/putin.atom" in out and "tag Kremlin: tags/kremlin.atom" in out

    facts = json.loads(_explain(project, SAME, "--json"))
    assert facts["type"] == "article" and facts["id"] == article_id(SAME) and facts["title"] == SAME
    assert facts["id_key"] == "title" and "normalized title" in facts["id_origin"]
    assert [(s["name"], s["tags"], s["truncated"], s["text_kept"]) for s in facts["sources"]] == [
        ("seeds/100_teaser.txt", ["Putin"], True, False), ("seeds/101_full.txt", ["Kremlin"], False, True)]
    assert all(s["first_seen"] == s["last_seen"] == T0.isoformat() for s in facts["sources"])
    assert facts["tags"] == [{"name": "Kremlin", "slug": "kremlin", "from": ["seeds/101_full.txt"]},
                             {"name": "Putin", "slug": "putin", "from": ["seeds/100_teaser.txt"]}]
    rule = facts["content_rule"]
    assert (rule["rule"], rule["source"], rule["truncated"]) == ("fuller-body", "seeds/101_full.txt", False)
    assert f"  content: {rule['why']}\n" in out  # the lines are worded from the same facts
    assert facts["first_seen"] == T0.isoformat() and facts["published"] and facts["updated"]
    paths = [p for group in facts["files"] for p in group["paths"]]
    assert f"articles/{uuid.UUID(facts['id'][9:]).hex}.html" in paths and "tags/putin.atom" in paths


def test_a_second_build_keeps_first_seen_and_moves_last_seen(project: Path) -> None:
    _two_dumps(project)
    toml = _configure(project)
    build(load_config(toml, environ={}), now=T0 + timedelta(hours=1))
    sources = json.loads(_explain(project, SAME, "--json"))["sources"]
    assert {(s["first_seen"], s["last_seen"]) for s in sources} == {
        (T0.isoformat(), (T0 + timedelta(hours=1)).isoformat())}


def test_a_store_from_before_provenance_gets_the_table_and_still_explains(project: Path) -> None:
    toml = _configure(project)
    with Store.open(load_config(toml, environ={}).site.state_dir) as store, store.db:  # a version-1 file
        store.db.execute("DROP TABLE provenance")
        store.db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    facts = json.loads(_explain(project, TITLE, "--json"))
    assert [s["first_seen"] for s in facts["sources"]] == [None] and facts["first_seen"] is None
    assert facts["tags"][0]["from"] == [facts["content_rule"]["source"]]
    assert "first seen: not recorded" in _explain(project, TITLE)
    build(load_config(toml, environ={}), now=T0 + timedelta(hours=1))
    later = (T0 + timedelta(hours=1)).isoformat()
    assert json.loads(_explain(project, TITLE, "--json"))["first_seen"] == later


def test_a_feed_source_as_json(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/rss").respond_with_data(
        RSS, content_type="application/rss+xml", headers={"ETag": '"v1"', "Cache-Control": "max-age=7200"})
    url = httpserver.url_for("/rss")
    _configure(project, feeds=(url,))
    facts = json.loads(_explain(project, url, "--json"))
    assert {k: facts[k] for k in ("type", "name", "kind", "state", "last_error", "error_count",
                                  "next_fetch", "validators", "article_count")} == {
        "type": "source", "name": url, "kind": "feed", "state": "ok", "last_error": None, "error_count": 0,
        "next_fetch": (T0 + timedelta(hours=2)).isoformat(),
        "validators": {"etag": '"v1"', "last_modified": None}, "article_count": 3}
    assert "Cache-Control max-age or Expires (2h)" in facts["next_fetch_reason"]
    assert facts["configured"] == {"every": "30m", "tags": ["Upstream"]}
    assert facts["articles_stored"] == facts["articles_contributed"] == 3
    article = json.loads(_explain(project, "https://rss2.example.org/news/putin", "--json"))
    assert article["id_key"] == "upstream-id" and [s["name"] for s in article["sources"]] == [url]
    assert {"name": "Upstream", "slug": "upstream", "from": [url]} in article["tags"]
    assert article["content_rule"]["rule"] == "only-source"


@pytest.mark.parametrize("target", ["urn:uuid:00000000-0000-0000-0000-000000000000", "no such thing",
                                    "articles/00000000000000000000000000000000.html", "https://nowhere.example/feed"])
def test_an_unknown_target_is_one_stderr_line_and_exit_1(project: Path, target: str) -> None:
    _configure(project)
    result = run_tagfeed("explain", target, "--config", str(project / "tagfeed.toml"), cwd=project)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"tagfeed: error: explain: {target}: ")


# -- pure wording -----------------------------------------------------------------
def test_id_origin_names_the_key() -> None:
    assert "normalized title" in id_origin(Article(id=article_id("A  title"), title="A title"))
    link = "https://x.example/1"
    assert "of its link" in id_origin(Article(id=uuid_urn("link:" + link), title="t", link=link))
    assert "own id" in id_origin(Article(id="tag:x.example,2024:1", title="t"))
    assert "guid" in id_origin(Article(id=uuid_urn("guid:x\n1"), title="t"))


@pytest.mark.parametrize(("state", "every", "why"), [
    (SourceState(name="u", kind="feed"), 1800, "at the next build (never polled yet)"),
    (SourceState(name="u", kind="feed", state="gone", next_fetch=T0), 1800, "never: it answered 410 Gone"),
    (SourceState(name="u", kind="feed", state="backoff", error_count=1, next_fetch=T0, retry_after=T0), 60,
     "the server's Retry-After"),
    (SourceState(name="u", kind="feed", state="error", error_count=3, next_fetch=T0), 60,
     "backoff after 3 failure(s) in a row"),
    (SourceState(name="u", kind="feed", last_attempt=T0, next_fetch=T0 + timedelta(minutes=30)), 1800,
     "`every` (30m) after the last poll"),
    (SourceState(name="u", kind="feed", last_attempt=T0, next_fetch=T0 + timedelta(minutes=90), ttl=90), 1800,
     "the feed's <ttl> of 90 min"),
    (SourceState(name="u", kind="feed", last_attempt=T0, next_fetch=T0 + timedelta(hours=24)), 1800,
     "clamped to 24 h"),
])
def test_next_fetch_reason(state: SourceState, every: int, why: str) -> None:
    assert why in next_fetch_reason(state, every)


def test_duration() -> None:
    assert [duration(s) for s in (0, 45, 900, 5400, 86400 + 60)] == ["0s", "45s", "15m", "1h30m", "1d1m"]
