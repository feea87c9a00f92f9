"""Listing pages as ``type = "page"`` sources in a real ``tagfeed build`` (subprocess), served by
pytest-httpserver: the published JSON Feed against hand-made expectations (tests/data/htmlpages/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer

from werkzeug import Request, Response

from helpers import DATA, run_tagfeed
from tagfeed.config import load_config

PAGES = DATA / "htmlpages"
NAMES = sorted(p.stem for p in (PAGES / "expected").glob("*.json"))


def _key(url: str) -> tuple[str, str]:
    """Links compared by path and query: the pages' own hosts are not 127.0.0.1 (see SOURCES.md)."""
    parts = urlsplit(url)
    return parts.path.rstrip("/") or "/", parts.query


def _serve(server: HTTPServer, name: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> str:
    server.expect_request(f"/{name}").respond_with_data(body, content_type=content_type)
    return server.url_for(f"/{name}")


def _config(project: Path, sources: list[str], site: str = "") -> None:
    blocks = "".join(f'\n[[sources]]\ntype = "page"\n{s}\n' for s in sources)
    (project / "tagfeed.toml").write_text(
        '[site]\noutput_dir = "out"\nstate_dir = ".state"\nmax_items = 2000\nhost_gap = 0\n' + site + blocks)


def _listing(titles: list[str], head: str = "", extra: str = "") -> bytes:
    """A small listing page: one ``li`` per title, each a headline link and a teaser."""
    items = "".join(f'<li><h2><a href="/story/{i}-a-long-story-slug">{t}</a></h2>'
                    f"<p>The teaser of story {i}, long enough to read as one.</p></li>" for i, t in enumerate(titles))
    return (f"<html><head><title>Tag: Things</title>{head}</head><body><nav><a href='/'>Home</a></nav>"
            f"<h1>Things</h1><main><ul>{items}</ul>{extra}</main></body></html>").encode()


def _health(project: Path) -> dict[str, Any]:
    from server import create_app

    response = create_app(load_config(project / "tagfeed.toml", environ={})).test_client().get("/healthz")
    return dict(response.get_json())


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


TITLES = [f"Headline number {i} of the list" for i in range(10)]
RSS = ("<?xml version='1.0'?><rss version='2.0'><channel><title>Things</title><link>http://example.org/</link>"
       "<description>d</description>" + "".join(
           f"<item><title>From the feed {i}</title><link>http://example.org/feed/{i}</link><guid>f{i}</guid>"
           f"<pubDate>Mon, 0{i + 1} Mar 2026 10:00:00 GMT</pubDate></item>" for i in range(3)) + "</channel></rss>")
FEED_LINK = '<link rel="alternate" type="application/rss+xml" href="/feed.xml">'


def test_the_pages_own_feed_is_said_in_the_summary_and_healthz_and_used_only_when_preferred(
        httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/feed.xml").respond_with_data(RSS, content_type="application/rss+xml")
    page = _serve(httpserver, "tag/things", _listing(TITLES, head=FEED_LINK))
    _config(tmp_path, [f'url = "{page}"'])
    said = run_tagfeed("build", "--strict", cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    note = f"{page}: this page has a feed: {httpserver.url_for('/feed.xml')} (set prefer_feed = true to use it)"
    assert note in said.stderr
    assert sorted(i["title"] for i in _published(tmp_path)) == sorted(TITLES)  # said, not used
    assert [s.get("note") for s in _health(tmp_path)["sources"]] == [note]

    used = tmp_path / "used"
    used.mkdir()
    _config(used, [f'url = "{page}"\nprefer_feed = true'], site="allow_private_hosts = true\n")
    done = run_tagfeed("build", "--strict", cwd=used)
    assert done.returncode == 0, done.stderr
    assert "; using it (prefer_feed = true)" in done.stderr
    assert sorted(i["title"] for i in _published(used)) == [f"From the feed {i}" for i in range(3)]
    assert "using it" in str(_health(used)["sources"][0]["note"])

    blocked = tmp_path / "blocked"  # the feed's URL came from the page: loopback only when allowed
    blocked.mkdir()
    _config(blocked, [f'url = "{page}"\nprefer_feed = true'])
    done = run_tagfeed("build", "--strict", cwd=blocked)
    assert done.returncode == 0, done.stderr
    assert "a loopback address: not fetched" in done.stderr and "the page's own items were used" in done.stderr
    assert sorted(i["title"] for i in _published(blocked)) == sorted(TITLES)


def test_a_page_that_lists_far_fewer_items_is_a_yield_warning_and_an_incident(httpserver: HTTPServer,
                                                                              tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    shown = {"titles": TITLES}
    httpserver.expect_request("/tag/things").respond_with_handler(
        lambda request: Response(_listing(shown["titles"]), content_type="text/html"))
    page = httpserver.url_for("/tag/things")
    _config(tmp_path, [f'url = "{page}"\nevery = "1s"'])
    assert run_tagfeed("build", cwd=tmp_path).returncode == 0
    shown["titles"] = TITLES[:3]  # the site changed its layout: three of ten items still found
    done = run_tagfeed("build", "--fetch-all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{page}: gave 3 article(s), 10 before (yield check)" in done.stderr
    assert len(_published(tmp_path)) == 10  # what it published stays
    status = (tmp_path / "out" / "status.atom").read_text(encoding="utf-8")
    assert page in status and "yield check" in status
    assert [s["state"] for s in _health(tmp_path)["sources"]] == ["warning"]


def test_robots_txt_is_asked_again_conditionally_and_a_5xx_forbids_the_page(httpserver: HTTPServer,
                                                                           tmp_path: Path) -> None:
    asked: list[str | None] = []

    def robots(request: Request) -> Response:
        asked.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"r1"':
            return Response(status=304, headers={"ETag": '"r1"'})
        return Response("User-agent: *\nDisallow: /private/\n", headers={"ETag": '"r1"'}, content_type="text/plain")

    httpserver.expect_request("/robots.txt").respond_with_handler(robots)
    fine = _serve(httpserver, "tag/things", _listing(TITLES))
    secret = _serve(httpserver, "private/things", _listing(TITLES))
    _config(tmp_path, [f'url = "{fine}"\nevery = "1s"', f'url = "{secret}"\nevery = "1s"'])
    first = run_tagfeed("build", cwd=tmp_path)
    assert f"tagfeed: error: {secret}: robots.txt of this host disallows fetching it" in first.stderr
    other = _serve(httpserver, "private/other", _listing(TITLES))  # a new source: due at once
    _config(tmp_path, [f'url = "{fine}"\nevery = "1s"', f'url = "{other}"\nevery = "1s"'])
    again = run_tagfeed("build", "--fetch-all", cwd=tmp_path)
    assert asked == [None, '"r1"']  # one robots.txt per host and build, the second a 304
    # the 304 kept the stored rules: /private/ is still disallowed
    assert f"tagfeed: error: {other}: robots.txt of this host disallows fetching it" in again.stderr
    assert not {"/private/things", "/private/other"} & {r.path for r, _ in httpserver.log}
    assert [r.path for r, _ in httpserver.log].count("/tag/things") == 2
    assert len(_published(tmp_path)) == 10

    httpserver.clear()
    httpserver.expect_request("/robots.txt").respond_with_data("busy", status=503)
    _serve(httpserver, "tag/things", _listing(TITLES))
    down = tmp_path / "down"
    down.mkdir()
    _config(down, [f'url = "{fine}"'])
    done = run_tagfeed("build", cwd=down)
    assert "robots.txt answered HTTP 503: not fetching the page until it answers" in done.stderr, done.stderr
    assert [r.path for r, _ in httpserver.log] == ["/robots.txt"]  # the page itself was not asked


def test_select_in_a_real_build_overrides_detection(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    side = "".join(f'<div class="pick"><a class="t" href="/picked/{i}">Picked story {i}</a>'
                   f'<span class="d">2026-03-0{i + 1}</span></div>' for i in range(4))
    page = _serve(httpserver, "tag/things", _listing(TITLES, extra=f"<aside>{side}</aside>"))
    _config(tmp_path, [f'url = "{page}"\nselect = {{ item = "div.pick", title = "a.t", date = "span.d" }}'])
    done = run_tagfeed("build", "--strict", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    items = _published(tmp_path)
    assert sorted((i["title"], _key(str(i["url"]))[0], str(i["date_published"])[:10]) for i in items) == [
        (f"Picked story {i}", f"/picked/{i}", f"2026-03-0{i + 1}") for i in range(4)]


def _dated(prefix: str, days: list[int]) -> bytes:
    items = "".join(f'<li><h2><a href="/{prefix}/{i}-a-long-story-slug">Story {prefix} number {i} here</a></h2>'
                    f"<time>March {d}, 2026</time><p>The teaser of story {i}, long enough to read.</p></li>"
                    for i, d in enumerate(days))
    return f"<html><body><h1>{prefix}</h1><main><ul>{items}</ul></main></body></html>".encode()


def test_day_only_dates_of_two_pages_are_distinct_and_stay_as_published(httpserver: HTTPServer,
                                                                        tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    days = {"one": [27, 24, 24, 3], "two": [27, 24, 3]}
    for name in days:
        httpserver.expect_request(f"/{name}").respond_with_handler(
            lambda request, name=name: Response(_dated(name, days[name]), content_type="text/html"))
    _config(tmp_path, [f'url = "{httpserver.url_for("/" + n)}"\nevery = "1s"' for n in days])
    assert run_tagfeed("build", cwd=tmp_path).returncode == 0
    dates = {str(i["url"]): str(i["date_published"]) for i in _published(tmp_path)}
    assert len(dates) == 7 and len(set(dates.values())) == 7, dates
    assert dates[httpserver.url_for("/two/0-a-long-story-slug")] == "2026-03-26T23:59:59Z"  # one took the 27th
    days["one"] = [28, 27, 24, 24, 3]  # a new item on top of one; the rest as published
    days["two"] = [27, 27, 24, 3]  # and one on two, dated the 27th like two others
    again = run_tagfeed("build", "--fetch-all", cwd=tmp_path)
    assert "2 new" in again.stdout, again.stdout
    later = {str(i["url"]): str(i["date_published"]) for i in _published(tmp_path)}
    assert {url: later[url] for url in dates} == dates  # a published date never moves
    assert len(set(later.values())) == 9


def test_a_short_label_before_the_headline_goes_when_the_picture_names_the_headline() -> None:
    from datetime import datetime, timezone

    from sources.page.extract import extract

    def item(i: int, label: str, headline: str, alt: str) -> str:
        return (f'<li><a href="/s/{i}-story-slug-here"><img alt="{alt}" src="/i/{i}.jpg"></a>'
                f'<h3><a href="/s/{i}-story-slug-here"><span class="zt">{label}</span>{headline}</a></h3>'
                f"<p>Teaser text of item {i} that is long enough to count.</p></li>")

    rows = [item(0, "专题", "传奇落幕！林丹正式宣布退役 无缘第五次征战奥运", "传奇落幕！林丹正式宣布退役 无缘第五次征战奥运"),
            item(1, "Opinion: ", "Why the river floods every spring", "Why the river floods every spring"),
            item(2, "Apple and the board of directors ", "agree on a plan", "agree on a plan"),  # too long a cut
            item(3, "", "A headline without any label at all", "A photo of the river")]
    body = f"<html><body><main><ul>{''.join(rows)}</ul></main></body></html>".encode()
    page = extract(body, url="https://example.org/tag/x", now=datetime(2026, 4, 1, tzinfo=timezone.utc))
    assert [i.title for i in page.items] == [
        "传奇落幕！林丹正式宣布退役 无缘第五次征战奥运", "Why the river floods every spring",
        "Apple and the board of directors agree on a plan", "A headline without any label at all"]
