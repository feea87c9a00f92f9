"""The whole tree: every file, order, max_items, links that resolve, determinism."""

from __future__ import annotations

import dataclasses
import json
import posixpath
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import lxml.html
from hypothesis import given, settings
from hypothesis import strategies as st

import feeds
from feeds.fingerprint import code_version
from feeds.site import render_site
from feeds.urls import Urls
from sources.model import Article, make_tag
from tagfeed import __version__


def _tree(urls: Urls, articles: list[Article], max_items: int = 50) -> dict[str, bytes]:
    files = list(render_site("tagfeed", urls, articles, max_items, version=__version__))
    tree = dict(files)
    assert len(tree) == len(files), "a path was yielded twice"
    return tree


def test_every_file_of_the_tree(urls: Urls, sample_articles: list[Article]) -> None:
    tree = _tree(urls, sample_articles)
    expected = {"index.html", "feeds.opml", "all.atom", "all.rss", "all.json"}
    for slug in ("putin", "sergei-lavrov", make_tag("Путин").slug):
        expected |= {f"tags/{slug}.{ext}" for ext in ("atom", "rss", "json", "html")}
    expected |= {f"articles/{a.id_hex}.html" for a in sample_articles}
    assert set(tree) == expected


def test_order_is_newest_first_whatever_the_input_order(urls: Urls, sample_articles: list[Article]) -> None:
    shuffled = [sample_articles[i] for i in (3, 0, 4, 2, 1)]
    tree = _tree(urls, shuffled)
    assert tree == _tree(urls, sample_articles)
    ids = [e.id for e in feedparser.parse(tree["all.atom"]).entries]
    assert ids == [a.id for a in sample_articles]  # published desc, the tie broken by id
    putin = feedparser.parse(tree["tags/putin.rss"]).entries
    assert [e.id for e in putin] == [a.id for a in sample_articles if any(t.slug == "putin" for t in a.tags)]


def test_max_items(urls: Urls, sample_articles: list[Article]) -> None:
    tree = _tree(urls, sample_articles, max_items=2)
    assert len(json.loads(tree["all.json"])["items"]) == 2
    assert len(feedparser.parse(tree["tags/sergei-lavrov.atom"]).entries) == 2
    assert len(lxml.html.document_fromstring(tree["tags/sergei-lavrov.html"]).xpath("//main//article")) == 2
    assert sum(path.startswith("articles/") for path in tree) == len(sample_articles)


def test_html_links_resolve_inside_the_tree(urls: Urls, sample_articles: list[Article]) -> None:
    tree = _tree(urls, sample_articles)
    for path, data in tree.items():
        if not path.endswith(".html"):
            continue
        for href in lxml.html.document_fromstring(data).xpath("//a/@href | //link/@href"):
            if href.startswith(urls.base_url):
                target = href[len(urls.base_url):] or "index.html"
            elif href.startswith(("https://", "data:")):
                continue
            else:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), href))
            if (path, target) == ("index.html", "search"):  # the server's search page, not a file of the tree
                continue
            assert target in tree, (path, href)


def test_feeds_validate(urls: Urls, sample_articles: list[Article], assert_valid_atom: Callable[[bytes], None],
                        assert_valid_jsonfeed: Callable[[bytes], object]) -> None:
    for path, data in _tree(urls, sample_articles).items():
        if path.endswith(".atom"):
            assert_valid_atom(data)
        elif path.endswith(".json"):
            assert_valid_jsonfeed(data)
        elif path.endswith(".rss"):
            assert feedparser.parse(data).bozo == 0


def test_deterministic_and_clock_free(urls: Urls, sample_articles: list[Article]) -> None:
    tree = _tree(urls, sample_articles)
    assert tree == _tree(urls, sample_articles)
    year = str(datetime.now(timezone.utc).year).encode()
    assert not [path for path, data in tree.items() if year in data]


def test_empty_site(urls: Urls, assert_valid_atom: Callable[[bytes], None]) -> None:
    tree = _tree(urls, [])
    assert set(tree) == {"index.html", "feeds.opml", "all.atom", "all.rss", "all.json"}
    assert_valid_atom(tree["all.atom"])


def test_duplicate_ids_and_xml_hostile_text(urls: Urls, sample_articles: list[Article]) -> None:
    hostile = dataclasses.replace(sample_articles[0], title="Form\x0cfeed\x00 title", paragraphs=("a\x1bb",))
    tree = _tree(urls, [hostile, sample_articles[0], sample_articles[1]])
    entries = feedparser.parse(tree["all.atom"]).entries
    assert [e.id for e in entries] == [sample_articles[0].id, sample_articles[1].id]  # one per id
    assert entries[0].title == "Formfeed title"


@settings(max_examples=40, deadline=None)
@given(title=st.text(min_size=1, max_size=40), name=st.text(min_size=1, max_size=12))
def test_any_text_renders_to_parsable_feeds(title: str, name: str) -> None:
    when = datetime(2001, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=len(title))
    article = Article(id="urn:uuid:00000000-0000-5000-8000-000000000001", title=title,
                      paragraphs=(title,), tags=(make_tag(name),), published=when, updated=when)
    tree = dict(render_site("tagfeed", Urls("http://127.0.0.1:8080/"), [article], 50, version=__version__))
    for path in ("all.atom", "all.rss"):
        assert feedparser.parse(tree[path]).bozo == 0, path
    assert json.loads(tree["all.json"])["items"][0]["id"] == article.id
    lxml.html.document_fromstring(tree["index.html"])


def _fingerprints(urls: Urls, articles: list[Article], digests: dict[str, bytes] | None) -> dict[str, str]:
    seen: dict[str, str] = {}

    def fresh(paths: tuple[str, ...], fingerprint: str) -> bool:
        seen[paths[0]] = fingerprint
        return False

    list(render_site("tagfeed", urls, articles, 50, fresh=fresh, article_digests=digests,
                     version=__version__))
    return seen


def test_article_digests_stand_in_for_hashing_articles(urls: Urls, sample_articles: list[Article]) -> None:
    """A group's fingerprint follows the digests given for its articles (the store's rows), and
    without digests each article is hashed: either way a changed article changes its groups."""
    digests = {a.id: a.id.encode() for a in sample_articles}
    first = _fingerprints(urls, sample_articles, digests)
    assert first == _fingerprints(urls, sample_articles, dict(digests))
    changed = sample_articles[0]
    page = f"articles/{changed.id_hex}.html"
    moved = _fingerprints(urls, sample_articles, {**digests, changed.id: b"other"})
    assert moved[page] != first[page]
    assert {p for p in first if moved[p] != first[p]} >= {page, "all.atom", "index.html"}
    hashed = _fingerprints(urls, sample_articles, None)
    edited = [dataclasses.replace(changed, title="A new title"), *sample_articles[1:]]
    assert _fingerprints(urls, edited, None)[page] != hashed[page]


def test_editing_any_renderer_module_changes_the_code_version(tmp_path: Path) -> None:
    """Fingerprints start from the source of feeds/*.py, where every output is made: editing any
    renderer re-renders the whole tree, and nothing else in the folder counts."""
    copy = tmp_path / "feeds"
    shutil.copytree(Path(feeds.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = code_version(__version__, copy)
    assert base == code_version(__version__, Path(feeds.__file__).parent)  # the copy is the code as it is
    (copy / "notes.txt").write_text("not code")
    (copy / "templates").mkdir()
    (copy / "templates" / "page.html").write_text("<p>no longer read</p>")
    assert code_version.__wrapped__(__version__, copy) == base
    for module in ("html.py", "atom.py", "rss.py", "jsonfeed.py", "opml.py", "status.py", "channel.py"):
        source = (copy / module).read_bytes()
        (copy / module).write_bytes(source + b"\n# edited\n")
        assert code_version.__wrapped__(__version__, copy) != base, module
        (copy / module).write_bytes(source)
    assert code_version.__wrapped__(__version__, copy) == base
