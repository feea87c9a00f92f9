"""serve's schedule (tagfeed/serving/schedule.py): feeds polled on their own period, builds only on change.

Real upstreams (pytest-httpserver), a real SQLite store, the clock pinned; no sleeps.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tagfeed.building.pipeline import build
from tagfeed.config import load_config
from tagfeed.serving.schedule import Ticker
from tagfeed.store.sqlite import Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
UPSTREAM = Path(__file__).parent / "data/upstream"
RSS = (UPSTREAM / "rss20.xml").read_bytes()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _project(tmp_path: Path, feeds: dict[str, str]) -> Path:
    """The seeds and ``feeds`` (url -> every), build_every one hour."""
    root = tmp_path / "project"
    shutil.copytree(Path(__file__).parent.parent / "seeds", root / "seeds")
    blocks = "".join(f'[[sources]]\ntype = "feed"\nurl = "{url}"\nevery = "{every}"\n\n' for url, every in feeds.items())
    (root / "tagfeed.toml").write_text('[site]\nbase_url = "https://feeds.example.org/"\n\n[schedule]\n'
                                       'build_every = "1h"\n\n[[sources]]\ntype = "tagpage"\npaths = ["seeds/*.txt"]\n\n'
                                       + blocks, encoding="utf-8")
    return root


def _conditional(request: Request) -> Response:
    if request.headers.get("If-None-Match") == '"v1"':
        return Response(status=304, headers={"ETag": '"v1"'})
    return Response(RSS, headers={"ETag": '"v1"'}, content_type="application/rss+xml")


def _hits(httpserver: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == path)


def test_a_poll_answered_304_costs_no_build_and_new_entries_do(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_handler(_conditional)
    root = _project(tmp_path, {httpserver.url_for("/feed.xml"): "1m"})
    config = load_config(root / "tagfeed.toml", environ={})
    clock = Clock()
    build(config, now=T0)
    ticker = Ticker(config, clock=clock)
    ticker.built()
    assert _hits(httpserver, "/feed.xml") == 1
    for minute in range(1, 6):  # every minute a conditional poll, a 304: no build
        clock.now = minute * 60.0
        assert ticker.tick(T0 + timedelta(minutes=minute, seconds=1)) is False
    assert _hits(httpserver, "/feed.xml") == 6
    assert all(r.headers.get("If-None-Match") == '"v1"' for r, _ in httpserver.log[1:])
    httpserver.clear_all_handlers()
    edited = RSS.replace(b"</channel>", b"<item><title>Fresh</title><link>https://rss20.example.org/fresh</link>"
                                        b"<guid>https://rss20.example.org/fresh</guid></item></channel>")
    httpserver.expect_request("/feed.xml").respond_with_data(edited, content_type="application/rss+xml")
    clock.now = 360.0
    assert ticker.tick(T0 + timedelta(minutes=6, seconds=1)) is True  # a new entry: build
    with Store.open(config.site.state_dir) as store:
        assert "Fresh" in {a.title for a in store.articles()}  # settled at once, before the build


def test_the_same_entries_again_cost_no_build(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/plain.xml").respond_with_data(RSS, content_type="application/rss+xml")  # no ETag
    root = _project(tmp_path, {httpserver.url_for("/plain.xml"): "1m"})
    config = load_config(root / "tagfeed.toml", environ={})
    clock = Clock()
    build(config, now=T0)
    ticker = Ticker(config, clock=clock)
    ticker.built()
    clock.now = 61.0
    assert ticker.tick(T0 + timedelta(minutes=1, seconds=1)) is False
    assert _hits(httpserver, "/plain.xml") == 2  # fetched in full, found unchanged


def test_each_feed_is_polled_on_its_own_period(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/fast.xml").respond_with_handler(_conditional)
    httpserver.expect_request("/slow.xml").respond_with_handler(_conditional)
    root = _project(tmp_path, {httpserver.url_for("/fast.xml"): "1m", httpserver.url_for("/slow.xml"): "10m"})
    config = load_config(root / "tagfeed.toml", environ={})
    build(config, now=T0)
    ticker = Ticker(config, clock=Clock())
    ticker.built()
    for minute in range(1, 13):
        ticker.tick(T0 + timedelta(minutes=minute, seconds=1))
    assert _hits(httpserver, "/fast.xml") == 13  # the first build and every minute
    assert _hits(httpserver, "/slow.xml") in (2, 3)  # the first build, then about every ten minutes (jitter)


def test_a_moved_dump_or_build_every_asks_for_a_build(tmp_path: Path) -> None:
    root = _project(tmp_path, {})
    config = load_config(root / "tagfeed.toml", environ={})
    clock = Clock()
    build(config, now=T0)
    ticker = Ticker(config, clock=clock)
    ticker.built()
    clock.now = 60.0
    assert ticker.tick() is False
    dump = next((root / "seeds").glob("*.txt"))
    os.utime(dump, ns=(dump.stat().st_atime_ns, dump.stat().st_mtime_ns + 10**9))
    assert ticker.tick() is True
    ticker.built()
    assert ticker.tick() is False
    clock.now = 60.0 + 3600
    assert ticker.tick() is True  # build_every has passed
