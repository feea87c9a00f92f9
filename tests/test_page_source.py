"""Listing pages as ``type = "page"`` sources in a real ``tagfeed build`` (subprocess), served by
pytest-httpserver: the published JSON Feed against hand-made expectations (tests/data/htmlpages/)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer

from helpers import DATA, run_tagfeed

PAGES = DATA / "htmlpages"
NAMES = sorted(p.stem for p in (PAGES / "expected").glob("*.json"))


def _key(url: str) -> tuple[str, str]:
    """Links compared by path and query: the pages' own hosts are not 127.0.0.1 (see SOURCES.md)."""
    parts = urlsplit(url)
    return parts.path.rstrip("/") or "/", parts.query


def _serve(server: HTTPServer, name: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> str:
    server.expect_request(f"/{name}").respond_with_data(body, content_type=content_type)
    return server.url_for(f"/{name}")


def _config(project: Path, sources: list[str]) -> None:
    blocks = "".join(f'\n[[sources]]\ntype = "page"\n{s}\n' for s in sources)
    (project / "tagfeed.toml").write_text(
        '[site]\noutput_dir = "out"\nstate_dir = ".state"\nmax_items = 2000\nhost_gap = 0\n' + blocks)


def _published(project: Path) -> list[dict[str, object]]:
    return list(json.loads((project / "out" / "all.json").read_text())["items"])


@pytest.fixture
def site(httpserver: HTTPServer, tmp_path: Path) -> tuple[HTTPServer, Path]:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n")
    for name in NAMES:
        _serve(httpserver, f"pages/{name}.html", (PAGES / "pages" / f"{name}.html").read_bytes())
    return httpserver, tmp_path


def test_shared_pages_meet_precision_recall_and_titles(site: tuple[HTTPServer, Path]) -> None:
    server, project = site
    _config(project, [f'url = "{server.url_for(f"/pages/{n}.html")}"' for n in NAMES])
    done = run_tagfeed("build", "--strict", cwd=project)
    assert done.returncode == 0, done.stderr
    got = {_key(str(item["url"])): str(item["title"]) for item in _published(project)}
    tp = fp = fn = titles = 0
    for name in NAMES:
        expected = json.loads((PAGES / "expected" / f"{name}.json").read_text())
        want = {_key(i["url"]): i["title"] for i in expected["items"]}
        extra = {_key(u) for u in expected.get("acceptable_extra_urls", [])}
        tp += len(want.keys() & got.keys())
        fn += len(want.keys() - got.keys())
        titles += sum(got[k] == want[k] for k in want.keys() & got.keys())
        others = set().union(*(  # links expected on the other pages are not this page's false positives
            {_key(i["url"]) for i in json.loads(p.read_text())["items"]} for p in (PAGES / "expected").glob("*.json")))
        fp = len(got.keys() - others - extra) if name == NAMES[-1] else fp
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    assert titles / tp >= 0.95, titles / tp
    assert "this page has a feed:" in done.stderr  # mozilla, telepolis... declare one: said, not used


def test_rebuild_publishes_nothing_new_and_a_shifted_page_exactly_one(httpserver: HTTPServer,
                                                                    tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    items = [f'<li><h2><a href="/story/{i}-a-long-story-slug">Headline number {i} of the list</a></h2>'
             f"<p>The teaser of story {i}, long enough to read as one.</p></li>" for i in range(12)]

    def page(first: int) -> bytes:
        return ("<html><head><title>Tag: Things</title></head><body><nav><a href='/'>Home</a></nav>"
                f"<h1>Things</h1><main><ul>{''.join(items[first:first + 10])}</ul></main></body></html>").encode()

    state = {"first": 2}
    httpserver.expect_request("/tag/things").respond_with_handler(
        lambda request: __import__("werkzeug").Response(page(state["first"]), content_type="text/html"))
    _config(tmp_path, [f'url = "{httpserver.url_for("/tag/things")}"\nevery = "1s"'])
    first = run_tagfeed("build", "--fetch-all", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "10 new" in first.stdout
    again = run_tagfeed("build", "--fetch-all", cwd=tmp_path)
    assert "0 new" in again.stdout, again.stdout
    state["first"] = 1  # one new item on top, the last one drops off
    shifted = run_tagfeed("build", "--fetch-all", cwd=tmp_path)
    assert "1 new" in shifted.stdout, shifted.stdout
    titles = [item["title"] for item in _published(tmp_path)]
    assert len(titles) == 11 and titles.count("Headline number 1 of the list") == 1
    tags = {t for item in _published(tmp_path) for t in item.get("tags", [])}
    assert tags == {"Things"}  # the page's own name (its h1) when the config gives no tags


def test_bad_pages_are_their_sources_errors_and_the_others_publish(site: tuple[HTTPServer, Path]) -> None:
    server, project = site
    bad = {
        "notes.txt": (b"just text", "text/plain"),
        "empty.html": (b"", "text/html"),
        "big.html": ((PAGES / "pages" / "telepolis_section_01.html").read_bytes(), "text/html"),
        "nolist.html": (b"<html><body><p>Nothing here to list.</p><a href='/x'>one</a></body></html>", "text/html"),
    }
    for name, (body, kind) in bad.items():
        _serve(server, f"bad/{name}", body, kind)
    _serve(server, "private/secret.html", (PAGES / "pages" / "fool_author_01.html").read_bytes())
    sources = [f'url = "{server.url_for("/bad/" + n)}"' + ('\nmax_bytes = 1000' if n == "big.html" else "")
               for n in bad]
    sources += [f'url = "{server.url_for("/private/secret.html")}"',
                f'url = "{server.url_for("/pages/chip_category_01.html")}"']
    _config(project, sources)
    done = run_tagfeed("build", cwd=project)
    assert done.returncode == 0, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("tagfeed: error:")]
    reasons = {"notes.txt": "not an HTML page", "empty.html": "empty", "big.html": "1000",
               "nolist.html": "no list", "secret.html": "robots.txt"}
    for name, reason in reasons.items():
        assert any(name in line and reason in line for line in errors), (name, errors)
    assert len(_published(project)) == 20  # chip's list, published beside the five failures
