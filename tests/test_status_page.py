"""status.html (issue 18.4): each source with its state, what it gave and what to do, written by
the build; the index links it, it links status.atom and /healthz."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml.html import HtmlElement
from pytest_httpserver import HTTPServer

from feeds.html import render_status_page
from feeds.status import STATE_NAMES, SourceDetail
from feeds.urls import Urls
from helpers import DATES, NASTY_TEXT
from tagfeed.building.pipeline import build
from tagfeed.config import load_config
from test_html import _page, _text

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
RSS = (b'<rss version="2.0"><channel><title>t</title><link>https://e.example/</link><description>d</description>'
       b'<item><title>One</title><link>https://e.example/1</link></item></channel></rss>')


def _sources(root: HtmlElement) -> dict[str, HtmlElement]:
    return {li.findtext("h2/code"): li for li in root.xpath("//main/ul/li")}


def test_status_page_says_what_to_do_for_ok_broken_gone_backing_off_and_unreadable(
        project: Path, httpserver: HTTPServer) -> None:
    answers = ("/ok", "/broken", "/gone", "/busy")
    for path in answers:
        httpserver.expect_request(path).respond_with_data(RSS, content_type="application/rss+xml")
    feeds = "".join(f'\n[[sources]]\ntype = "feed"\nurl = "{httpserver.url_for(p)}"\nevery = "1m"\n' for p in answers)
    config_path = project / "tagfeed.toml"
    config_path.write_text(config_path.read_text().replace("[site]\n", "[site]\nhost_gap = 0\n", 1) + feeds,
                           encoding="utf-8")
    config = load_config(config_path, environ={})
    build(config, now=T0)
    first = (project / "output" / "status.html").read_bytes()
    httpserver.clear()
    httpserver.expect_request("/ok").respond_with_data(RSS, content_type="application/rss+xml")
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    httpserver.expect_request("/busy").respond_with_data("later", status=429, headers={"Retry-After": "7200"})
    (project / "seeds" / "broken.txt").write_bytes(b"\x00\x01 not a tag page")
    later = T0 + timedelta(minutes=5)
    build(config, now=later)
    page = (project / "output" / "status.html").read_bytes()
    assert page != first
    root = _page(page)
    sources = _sources(root)
    ok, broken, gone, busy = (sources[httpserver.url_for(p)] for p in ("/ok", "/broken", "/gone", "/busy"))
    assert ok.findtext("p/span") == "ok" and "article(s)" in ok.xpath("p")[0].text_content()
    assert not ok.xpath("p[@class='todo']") and not ok.xpath(".//time")  # nothing to do, no moving dates
    assert broken.findtext("p/span") == "broken"
    assert "HTTP 500" in broken.findtext("p[@class='error']")
    assert "HTTP 500" in broken.findtext("p[@class='todo']")
    assert broken.xpath(".//time/@datetime")[0] == T0.isoformat()  # last success: the first build
    assert gone.findtext("p/span") == "gone" and "remove it from tagfeed.toml" in gone.findtext("p[@class='todo']")
    assert busy.findtext("p/span") == "backing off"
    assert "backing off until 2024-05-01 12:05 UTC" in busy.findtext("p[@class='todo']")
    dump = sources["seeds/broken.txt"]
    assert dump.findtext("p/span") == "broken" and "broken.txt" in dump.findtext("p[@class='error']")
    assert "fix the file" in dump.findtext("p[@class='todo']")
    assert sources["seeds/000_0d1a8655cd7d2e58.txt"].findtext("p/span") == "ok"
    links = root.xpath("//main/p/a/@href")
    assert "status.atom" in links and "healthz" in links
    index = _page((project / "output" / "index.html").read_bytes())
    assert index.xpath("//section[@id='sources']//a[@href='status.html']")


def test_an_all_ok_rebuild_keeps_the_status_page(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T0)
    page = project / "output" / "status.html"
    before = (page.read_bytes(), page.stat().st_mtime_ns)
    report = build(config, now=T0 + timedelta(days=3))
    assert (page.read_bytes(), page.stat().st_mtime_ns) == before and report.written == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.builds(SourceDetail, name=NASTY_TEXT, kind=st.sampled_from(["feed", "tagpage"]),
                          state=st.sampled_from([*STATE_NAMES, "odd & <x>"]), articles=st.integers(0, 10**6),
                          todo=NASTY_TEXT, last_error=st.none() | NASTY_TEXT, last_ok=st.none() | DATES,
                          next_try=st.none() | DATES), max_size=4))
def test_any_sources_make_a_well_formed_escaped_page(details: list[SourceDetail]) -> None:
    from feeds.channel import xml_text

    details = [dataclasses.replace(d, name=xml_text(d.name), todo=xml_text(d.todo),
                                   last_error=d.last_error and xml_text(d.last_error)) for d in details]
    root = _page(render_status_page("t & <s>", Urls("http://127.0.0.1:8080/"), details))
    names = [_text(li.findtext("h2/code") or "") for li in root.xpath("//main/ul/li")]
    assert names == [_text(d.name) for d in details]
    assert root.findtext("head/title") == "Source status — t & <s>"
