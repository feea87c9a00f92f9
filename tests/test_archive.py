"""RFC 5005 archived feeds: a reader walking prev-archive from the current feed gets every article once.

Builds go through the real CLI and in process (to pin the clock, e.g. for an
older-dated article arriving late); the walk goes through the HTTP app.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import etree

from helpers import DATA, run_tagfeed
from feeds.archive import ARCHIVE_MAX_AGE, FH_NS
from tagfeed.building.archive import cut_pages
from tagfeed.config import load_config
from tagfeed.building.pipeline import build
from tagfeed.store.sqlite import Store

A = "{http://www.w3.org/2005/Atom}"
T1 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
TOML = """\
[site]
output_dir = "output"
state_dir = "state"
max_items = 3
archive_page_size = 4

[[sources]]
type = "tagpage"
paths = ["dumps/*.txt"]
"""


@pytest.mark.parametrize(("ids", "archived", "expected"), [
    ("abc", "", []),  # within max_items: nothing waits
    ("abcdef", "", []),  # three wait, fewer than a page
    ("abcdefg", "", ["gfed"]),  # four wait: the oldest four, oldest first
    ("abcdefghijk", "", ["kjih", "gfed"]),
    ("abcdefgxyz", "gfed", []),  # archived ids never count again
    ("abcdefgxyzw", "gfed", ["wzyx"]),  # a late arrival older than the window waits for the next page
])
def test_cut_pages(ids: str, archived: str, expected: list[str]) -> None:
    pages = cut_pages(list(ids), frozenset(archived), max_items=3, page_size=4)
    assert pages == [tuple(page) for page in expected]


def _project(tmp_path: Path) -> Path:
    (tmp_path / "dumps").mkdir()
    (tmp_path / "tagfeed.toml").write_text(TOML, encoding="utf-8")
    return tmp_path


def _dump(project: Path, name: str, numbers: range) -> None:
    """A kind-B tag page for the tag "History", newest (highest number) first."""
    lines = ["history", ""]
    for n in reversed(numbers):
        lines += [f"Story number {n} about the archive", "", f"Body of story {n}, one sentence.", ""]
    (project / "dumps" / f"{name}.txt").write_text("\n".join(lines), encoding="utf-8")


def _client(project: Path) -> FlaskClient:
    from server import create_app

    return create_app(load_config(project / "tagfeed.toml", environ={})).test_client()


def walk(client: FlaskClient, path: str) -> tuple[list[str], list[str]]:
    """Entry ids from the current feed back through every prev-archive; and the documents visited."""
    ids: list[str] = []
    visited: list[str] = []
    next_path: str | None = path
    while next_path is not None:
        assert next_path not in visited, "prev-archive loop"
        visited.append(next_path)
        response = client.get(next_path)
        assert response.status_code == 200, next_path
        root = etree.fromstring(response.data)
        ids += [e.findtext(f"{A}id") or "" for e in root.iter(f"{A}entry")]
        prev = root.find(f"{A}link[@rel='prev-archive']")
        next_path = urlsplit(prev.get("href")).path if prev is not None else None
    return ids, visited


def _published_ids(project: Path, slug: str) -> set[str]:
    with Store.open(project / "state") as store:
        return {a.id for a in store.articles() if slug in {t.slug for t in a.tags}}


def _page_ids(output: Path) -> dict[str, list[str]]:
    return {p.name: [e.findtext(f"{A}id") or "" for e in etree.parse(str(p)).getroot().iter(f"{A}entry")]
            for p in sorted((output / "tags" / "history" / "archive").glob("*.atom"))}


def _check_standards(output: Path) -> None:
    rng = etree.RelaxNG(etree.parse(str(DATA / "schemas" / "atom.rng")))
    for path in [output / "tags" / "history.atom", *sorted(output.glob("tags/history/archive/*.atom"))]:
        doc = etree.parse(str(path))
        assert rng.validate(doc), (path, rng.error_log)
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        is_page = "archive" in path.parts
        assert (doc.getroot().find(f"{{{FH_NS}}}archive") is not None) == is_page
        rels = {link.get("rel") for link in doc.getroot().findall(f"{A}link")}
        if is_page:
            assert "current" in rels and "self" in rels


def test_walking_prev_archive_recovers_every_article_once_through_the_cli(tmp_path: Path) -> None:
    project = _project(tmp_path)
    output = project / "output"
    pages_before: dict[str, list[str]] = {}
    bytes_before: dict[str, bytes] = {}
    for round_ in range(4):
        _dump(project, f"round{round_}", range(round_ * 5, round_ * 5 + 5))
        result = run_tagfeed("build", cwd=project)
        assert result.returncode == 0, result.stderr
        ids, visited = walk(_client(project), "/tags/history.atom")
        assert len(ids) == len(set(ids)) == 5 * (round_ + 1)
        assert set(ids) == _published_ids(project, "history")
        pages = _page_ids(output)
        assert len(visited) == 1 + len(pages) and all(len(page) == 4 for page in pages.values())
        for name, entries in pages_before.items():  # a page, once cut, keeps its entries
            assert pages[name] == entries
        for name, data in bytes_before.items():  # and all but the newest keep every byte
            if name != f"{len(pages_before)}.atom":
                assert (output / "tags" / "history" / "archive" / name).read_bytes() == data
        pages_before = pages
        bytes_before = {p.name: p.read_bytes() for p in (output / "tags" / "history" / "archive").glob("*.atom")}
    assert len(pages_before) == 4  # 20 articles: 3 in the window, 16 on pages, 1 waiting
    assert len(etree.parse(str(output / "tags" / "history.atom")).getroot().findall(f"{A}entry")) == 4
    assert len(etree.parse(str(output / "tags" / "history.rss")).getroot().findall("channel/item")) == 3
    _check_standards(output)


def test_archive_page_links_and_cache_lifetime(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _dump(project, "all", range(12))
    build(load_config(project / "tagfeed.toml", environ={}), now=T1)
    client = _client(project)
    page = client.get("/tags/history/archive/1.atom")
    root = etree.fromstring(page.data)
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    base = "http://127.0.0.1:8080/tags/history"
    assert links["self"] == f"{base}/archive/1.atom" and links["current"] == f"{base}.atom"
    assert links["next-archive"] == f"{base}/archive/2.atom" and "prev-archive" not in links
    last = {link.get("rel"): link.get("href") for link in
            etree.fromstring(client.get("/tags/history/archive/2.atom").data).findall(f"{A}link")}
    assert last["prev-archive"] == f"{base}/archive/1.atom" and last["next-archive"] == f"{base}.atom"
    current = client.get("/tags/history.atom")
    assert b'rel="prev-archive"' in current.data and FH_NS.encode() not in current.data
    assert page.headers["Cache-Control"] == f"public, max-age={ARCHIVE_MAX_AGE}"  # full: it never changes again
    newest = client.get("/tags/history/archive/2.atom")  # changes once more, when page 3 is cut
    assert newest.headers["Cache-Control"] == current.headers["Cache-Control"] == "public, max-age=300"
    _dump(project, "more", range(12, 16))
    build(load_config(project / "tagfeed.toml", environ={}), now=T1 + timedelta(days=1))
    assert _client(project).get("/tags/history/archive/2.atom").headers["Cache-Control"] == (
        f"public, max-age={ARCHIVE_MAX_AGE}")  # page 3 is cut: page 2 is full now
    assert _client(project).get("/tags/history/archive/3.atom").headers["Cache-Control"] == "public, max-age=300"


def test_late_arrival_with_an_older_date_never_moves_an_archived_article(tmp_path: Path) -> None:
    project = _project(tmp_path)
    config = load_config(project / "tagfeed.toml", environ={})
    _dump(project, "a", range(0, 10))
    build(config, now=T1)
    _dump(project, "b", range(10, 20))
    build(config, now=T1 + timedelta(days=1))
    output = project / "output"
    before = {p.name: p.read_bytes() for p in (output / "tags/history/archive").glob("*.atom")}
    assert len(before) == 4
    _dump(project, "late", range(100, 102))  # dated a year before everything else
    build(config, now=T1 - timedelta(days=365))
    client = _client(project)
    ids, _ = walk(client, "/tags/history.atom")
    assert len(ids) == len(set(ids)) == 22 and set(ids) == _published_ids(project, "history")
    for name, data in before.items():
        assert (output / "tags/history/archive" / name).read_bytes() == data
    current = etree.fromstring(client.get("/tags/history.atom").data)
    titles = [e.findtext(f"{A}title") or "" for e in current.iter(f"{A}entry")]
    assert sum("Story number 10" in t for t in titles) == 2  # 100 and 101 wait in the current feed
    _dump(project, "c", range(20, 21))
    build(config, now=T1 + timedelta(days=2))  # now four wait: the next page takes the late ones
    assert not any("Story number 10" in (e.findtext(f"{A}title") or "") for e in
                   etree.parse(str(output / "tags/history.atom")).getroot().iter(f"{A}entry"))
    ids, _ = walk(_client(project), "/tags/history.atom")
    assert len(ids) == len(set(ids)) == 23
    assert len(_page_ids(output)) == 5
    _check_standards(output)
