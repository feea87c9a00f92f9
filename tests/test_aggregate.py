"""Polling feed sources over real HTTP (pytest-httpserver), with the clock pinned and no sleeps."""

from __future__ import annotations

import dataclasses
import random
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.fetch import NEVER, Outcome
from sources.model import Article, make_tag
from tagfeed import __version__
from tagfeed.poll.aggregate import Aggregator, Poll, is_due, next_state, user_agent
from tagfeed.config import FeedSource, load_config
from tagfeed.errors import INTERNAL, UNREADABLE, Failure
from tagfeed.building.pipeline import build
from tagfeed.store.sqlite import SourceState, Store
from helpers import ROOT, free_port, run_tagfeed

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BASE = "http://127.0.0.1:8080/"
UPSTREAM = Path(__file__).parent / "data/upstream"
RSS = (UPSTREAM / "rss20.xml").read_bytes()
ATOM = (UPSTREAM / "atom10.xml").read_bytes()
VALIDATORS = {"ETag": '"rev-1"', "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state") as opened:
        yield opened


def _poll(store: Store, source: FeedSource, now: datetime, **kw: object) -> Poll:
    return Aggregator(store, now, user_agent=user_agent(BASE), **kw).poll(source)  # type: ignore[arg-type]


def _requests(httpserver: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == path]


def _conditional_feed(request: Request) -> Response:
    """A well-behaved upstream: 304 when the client already has this revision."""
    if request.headers.get("If-None-Match") == VALIDATORS["ETag"]:
        return Response(status=304, headers=VALIDATORS)
    return Response(RSS, headers=VALIDATORS, content_type="application/rss+xml")


# -- pure -------------------------------------------------------------------
def test_user_agent_names_tagfeed_its_version_and_the_site() -> None:
    assert user_agent(BASE) == f"tagfeed/{__version__} (+{BASE})"


@pytest.mark.parametrize(("state", "now", "fetch_all", "due"), [
    (None, T0, False, True),
    (SourceState(name="u", kind="feed"), T0, False, True),
    (SourceState(name="u", kind="feed", next_fetch=T0), T0, False, True),
    (SourceState(name="u", kind="feed", next_fetch=T0 + timedelta(minutes=5)), T0, False, False),
    (SourceState(name="u", kind="feed", next_fetch=T0 + timedelta(minutes=5)), T0, True, True),
    (SourceState(name="u", kind="feed", state="gone", next_fetch=NEVER), T0, True, False),
    (SourceState(name="u", kind="feed", state="gone"), T0 + timedelta(days=9999), True, False),
    (SourceState(name="u", kind="feed", state="backoff", error_count=1, next_fetch=T0 + timedelta(seconds=120),
                 retry_after=T0 + timedelta(seconds=120)), T0 + timedelta(seconds=119), True, False),
    (SourceState(name="u", kind="feed", state="error", error_count=2, next_fetch=T0 + timedelta(hours=1)),
     T0, True, False),
    (SourceState(name="u", kind="feed", state="error", error_count=2, next_fetch=T0), T0, False, True),
], ids=["new", "never-fetched", "now", "later", "fetch-all", "gone", "gone-forever", "retry-after",
        "backoff", "backoff-over"])
def test_is_due(state: SourceState | None, now: datetime, fetch_all: bool, due: bool) -> None:
    assert is_due(state, now, fetch_all=fetch_all) is due


def test_next_state_after_failures_backs_off_then_recovers() -> None:
    rng = random.Random(3)
    state = SourceState(name="u", kind="feed", etag='"x"', article_count=4)
    for n in range(1, 5):
        state = next_state(state, Outcome.ERROR, T0, rng, every=600,
                           failure=Failure(kind=UNREADABLE, message=f"boom {n}"))
        assert state.state == "error" and state.error_count == n
        assert state.etag == '"x"'  # no new body came: the last good body's validators stay
        assert state.next_fetch is not None and state.next_fetch - T0 <= timedelta(seconds=600 * 2 ** (n - 1))
    state = next_state(state, Outcome.NOT_MODIFIED, T0, rng, every=600)
    assert (state.state, state.error_count, state.last_error, state.article_count) == ("ok", 0, None, 4)
    assert state.next_fetch == T0 + timedelta(seconds=600)


# -- over HTTP --------------------------------------------------------------
def test_first_poll_brings_articles_and_stores_validators(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request("/feed", headers={"User-Agent": user_agent(BASE)}).respond_with_handler(
        _conditional_feed)
    source = FeedSource(url=httpserver.url_for("/feed"), tags=("Russia",), every=1800)
    poll = _poll(store, source, T0)
    assert poll.polled and poll.error is None and len(poll.articles) == 3
    assert all(make_tag("Russia") in a.tags for a in poll.articles)
    state = store.get_source(source.url)
    assert state is not None and state.state == "ok" and state.article_count == 3
    assert (state.etag, state.last_modified) == (VALIDATORS["ETag"], VALIDATORS["Last-Modified"])
    assert state.next_fetch == T0 + timedelta(seconds=1800) and state.url == source.url


def test_second_poll_is_conditional_and_a_304_changes_nothing(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request("/feed").respond_with_handler(_conditional_feed)
    source = FeedSource(url=httpserver.url_for("/feed"), every=600)
    assert len(_poll(store, source, T0).articles) == 3
    before = store.get_source(source.url)
    assert _poll(store, source, T0 + timedelta(seconds=60)) == Poll()  # not due: no request at all
    assert len(_requests(httpserver, "/feed")) == 1
    second = _poll(store, source, T0 + timedelta(seconds=600))
    assert second == Poll(polled=True)  # 304: no parse, no articles
    first_request, second_request = _requests(httpserver, "/feed")
    assert "If-None-Match" not in first_request.headers
    assert second_request.headers["If-None-Match"] == VALIDATORS["ETag"]
    assert second_request.headers["If-Modified-Since"] == VALIDATORS["Last-Modified"]
    after = store.get_source(source.url)
    assert before is not None and after is not None
    assert dataclasses.replace(after, last_ok=None, last_attempt=None, next_fetch=None) == \
        dataclasses.replace(before, last_ok=None, last_attempt=None, next_fetch=None)


def test_failures_without_a_new_body_keep_the_validators(httpserver: HTTPServer, store: Store) -> None:
    """A 429, a 500 and a refused connection leave the ETag and Last-Modified of the last good
    body, so the poll after them is conditional (a 304); a 200 that cannot be parsed drops them."""
    answers = iter(["ok", "429", "500", "ok", "bad", "ok"])

    def upstream(request: Request) -> Response:
        answer = next(answers)
        if answer == "429":
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        if answer == "500":
            return Response("oops", status=500)
        if answer == "bad":
            return Response(b"\x00 not a feed", headers={"ETag": '"broken"'}, content_type="application/rss+xml")
        return _conditional_feed(request)

    httpserver.expect_request("/feed").respond_with_handler(upstream)
    source = FeedSource(url=httpserver.url_for("/feed"), every=60)
    now = T0
    for expected in ("ok", "backoff", "error"):
        poll = _poll(store, source, now, fetch_all=True)
        state = store.get_source(source.url)
        assert state is not None and state.state == expected, poll
        assert (state.etag, state.last_modified) == (VALIDATORS["ETag"], VALIDATORS["Last-Modified"])
        now = max(now, state.next_fetch or now) + timedelta(seconds=1)
    assert _poll(store, source, now) == Poll(polled=True)  # a 304: the validators were sent
    assert _requests(httpserver, "/feed")[-1].headers["If-None-Match"] == VALIDATORS["ETag"]
    state = store.get_source(source.url)
    assert state is not None
    poll = _poll(store, source, max(now, state.next_fetch or now) + timedelta(seconds=1), fetch_all=True)
    broken = store.get_source(source.url)
    assert poll.error and broken is not None and broken.state == "error"
    assert (broken.etag, broken.last_modified) == (None, None)  # a new body that failed: fetch in full next
    refused = FeedSource(url=f"http://127.0.0.1:{free_port()}/feed", every=60)
    store.put_source(SourceState(name=refused.url, kind="feed", url=refused.url, etag='"kept"',
                                 last_modified=VALIDATORS["Last-Modified"]))
    assert _poll(store, refused, T0, fetch_all=True).error
    after = store.get_source(refused.url)
    assert after is not None and after.state == "error" and after.etag == '"kept"'


def test_429_retry_after_is_honoured_even_by_fetch_all(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request("/busy").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    source = FeedSource(url=httpserver.url_for("/busy"), every=60)
    poll = _poll(store, source, T0)
    assert poll.error is not None and source.url in poll.error and "429" in poll.error and "120" in poll.error
    for seconds in (1, 60, 119):
        assert _poll(store, source, T0 + timedelta(seconds=seconds), fetch_all=True) == Poll()
    assert len(_requests(httpserver, "/busy")) == 1
    state = store.get_source(source.url)
    assert state is not None and state.state == "backoff" and state.retry_after == T0 + timedelta(seconds=120)
    assert _poll(store, source, T0 + timedelta(seconds=120)).polled
    assert len(_requests(httpserver, "/busy")) == 2


def test_503_without_retry_after_backs_off(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request("/down").respond_with_data("", status=503)
    source = FeedSource(url=httpserver.url_for("/down"), every=600)
    assert _poll(store, source, T0).error
    state = store.get_source(source.url)
    assert state is not None and state.next_fetch is not None
    assert T0 + timedelta(seconds=450) <= state.next_fetch <= T0 + timedelta(seconds=600)


def test_410_is_never_polled_again_and_its_articles_stay(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    source = FeedSource(url=httpserver.url_for("/gone"), every=60)
    kept = Article(id="https://x.example/1", title="kept", link="https://x.example/1", published=T0, updated=T0,
                   source=source.url)
    store.put_articles([kept])
    poll = _poll(store, source, T0)
    assert poll.error is not None and "410" in poll.error and source.url in poll.error
    for later in (timedelta(minutes=1), timedelta(days=1), timedelta(days=3650)):
        assert _poll(store, source, T0 + later, fetch_all=True) == Poll(gone=True)
    assert len(_requests(httpserver, "/gone")) == 1
    state = store.get_source(source.url)
    assert state is not None and state.state == "gone" and state.next_fetch == NEVER
    assert list(store.articles()) == [kept]


def test_301_moves_the_stored_url_and_later_polls_use_it(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(ATOM)
    source = FeedSource(url=httpserver.url_for("/old"), every=60)
    assert len(_poll(store, source, T0).articles) == 2
    state = store.get_source(source.url)
    assert state is not None and state.url == httpserver.url_for("/new") and state.name == source.url
    _poll(store, source, T0 + timedelta(minutes=1))
    assert len(_requests(httpserver, "/old")) == 1 and len(_requests(httpserver, "/new")) == 2


def test_302_is_followed_but_not_stored(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request("/old").respond_with_data("", status=302, headers={"Location": "/tmp"})
    httpserver.expect_request("/tmp").respond_with_data(ATOM)
    source = FeedSource(url=httpserver.url_for("/old"), every=60)
    assert len(_poll(store, source, T0).articles) == 2
    _poll(store, source, T0 + timedelta(minutes=1))
    state = store.get_source(source.url)
    assert state is not None and state.url == source.url
    assert len(_requests(httpserver, "/old")) == 2


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"<!doctype html><html><body>Login</body></html>", 200, "HTML page"),
    (b"", 200, "empty response"),
    (b"oops", 500, "HTTP 500"),
])
def test_failures_are_recorded_with_url_and_reason(httpserver: HTTPServer, store: Store, body: bytes,
                                                   status: int, reason: str) -> None:
    httpserver.expect_request("/bad").respond_with_data(body, status=status, headers=VALIDATORS)
    source = FeedSource(url=httpserver.url_for("/bad"), every=600)
    poll = _poll(store, source, T0)
    assert poll.polled and poll.articles == () and poll.error is not None
    assert source.url in poll.error and reason in poll.error
    state = store.get_source(source.url)
    assert state is not None and state.state == "error" and state.error_count == 1
    assert state.etag is None and state.last_error == poll.error
    assert _poll(store, source, T0 + timedelta(seconds=1), fetch_all=True) == Poll()  # backoff holds


def test_a_stalled_upstream_times_out_as_a_recorded_error(httpserver: HTTPServer, store: Store) -> None:
    release = threading.Event()

    def stall() -> Iterator[bytes]:
        yield b"<?xml"
        release.wait(10)

    httpserver.expect_request("/stall").respond_with_handler(lambda request: Response(stall()))
    source = FeedSource(url=httpserver.url_for("/stall"))
    try:
        poll = Aggregator(store, T0, user_agent=user_agent(BASE), connect_timeout=0.2, total_timeout=0.5).poll(source)
    finally:
        release.set()
    assert poll.error is not None and "timed out" in poll.error


def test_same_link_under_two_ids_becomes_the_first_id(store: Store) -> None:
    aggregator = Aggregator(store, T0, user_agent=user_agent(BASE))
    first = Article(id="tag:a.example,2024:1", title="A", link="https://news.example/1", tags=(make_tag("A"),))
    second = Article(id="tag:b.example,2024:9", title="A", link="https://news.example/1", tags=(make_tag("B"),))
    other = Article(id="tag:b.example,2024:10", title="B", link="https://news.example/2")
    assert aggregator.canonical([first]) == [first]
    assert aggregator.canonical([second, other]) == [dataclasses.replace(second, id=first.id), other]
    stored = Article(id="urn:uuid:old", title="Old", link="https://news.example/3", published=T0, updated=T0)
    store.put_articles([stored])
    later = Aggregator(store, T0, user_agent=user_agent(BASE))
    newcomer = Article(id="tag:c.example,2024:3", title="Old", link="https://news.example/3")
    assert later.canonical([newcomer])[0].id == "urn:uuid:old"  # the stored id wins


# -- the whole build ----------------------------------------------------------
def _add_feed(project: Path, url: str, tags: str = '["Russia"]', every: str = "30m") -> None:
    with (project / "tagfeed.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\ntags = {tags}\nevery = "{every}"\n')


def test_build_publishes_feed_articles_and_survives_a_failing_upstream(project: Path,
                                                                       httpserver: HTTPServer) -> None:
    broken = [False]

    def upstream(request: Request) -> Response:
        return Response("boom", status=500) if broken[0] else Response(RSS, content_type="application/rss+xml")

    httpserver.expect_request("/rss").respond_with_handler(upstream)
    _add_feed(project, httpserver.url_for("/rss"))
    config = load_config(project / "tagfeed.toml", environ={})
    report = build(config, now=T0)
    assert report.errors == () and report.articles_total == 17 + 3
    out = project / "output"
    everything = (out / "all.atom").read_text("utf-8")
    assert "Putin speaks" in everything and "Guid is not a link" in everything
    assert "Putin speaks" in (out / "tags/vladimir-putin.atom").read_text("utf-8")
    assert "Putin speaks" in (out / "tags/russia.rss").read_text("utf-8")
    assert "Guid is not a link" in (out / "tags/russia.json").read_text("utf-8")
    with Store.open(config.site.state_dir) as store:
        speaks = next(a for a in store.articles() if a.title == "Putin speaks")
    assert speaks.published == datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)  # upstream date kept

    broken[0] = True
    report = build(config, now=T0 + timedelta(hours=1))
    assert len(report.errors) == 1 and httpserver.url_for("/rss") in report.errors[0]
    assert "500" in report.errors[0] and report.articles_total == 20
    assert "Putin speaks" in (out / "all.atom").read_text("utf-8")
    assert "Putin speaks" in (out / "tags/russia.rss").read_text("utf-8")


def test_fetch_all_polls_a_feed_that_is_not_due(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/rss").respond_with_data(RSS)
    _add_feed(project, httpserver.url_for("/rss"), every="1d")
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T0)
    build(config, now=T0 + timedelta(hours=1))
    assert len(_requests(httpserver, "/rss")) == 1
    build(config, now=T0 + timedelta(hours=2), fetch_all=True)
    assert len(_requests(httpserver, "/rss")) == 2


def test_one_entry_in_two_feeds_is_one_article_with_both_tags(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(RSS)
    renamed = RSS.replace(b"https://rss2.example.org/news/putin</guid>", b"https://mirror.example/p</guid>")
    httpserver.expect_request("/b").respond_with_data(renamed)
    _add_feed(project, httpserver.url_for("/a"), tags='["Feed A"]')
    _add_feed(project, httpserver.url_for("/b"), tags='["Feed B"]')
    config = load_config(project / "tagfeed.toml", environ={})
    report = build(config, now=T0)
    # 17 seeds + 2 shared entries + the link-less local guid "item-3", which is per feed by design
    assert report.errors == () and report.articles_total == 17 + 2 + 2
    with Store.open(config.site.state_dir) as store:
        by_title = {a.title: a for a in store.articles() if a.link and "rss2.example.org" in a.link}
    assert set(by_title) == {"Putin speaks", "Guid is not a link"}
    for article in by_title.values():  # one shared by link + guid, one by link under another id
        assert {"feed-a", "feed-b"} <= {t.slug for t in article.tags}
    assert by_title["Putin speaks"].id == "https://rss2.example.org/news/putin"  # feed A came first


# -- politeness kept across restarts (issue 7.5) --------------------------------
def test_a_restart_polls_nothing_that_is_not_due(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/a").respond_with_handler(_conditional_feed)
    httpserver.expect_request("/busy").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    feed = FeedSource(url=httpserver.url_for("/a"), every=1800)
    busy = FeedSource(url=httpserver.url_for("/busy"), every=60)
    with Store.open(tmp_path / "state") as first:
        _poll(first, feed, T0)
        _poll(first, busy, T0)
    for minutes in (1, 29):  # a new process: a new store object and a new aggregator, same file
        with Store.open(tmp_path / "state") as again:
            later = T0 + timedelta(minutes=minutes)
            assert _poll(again, feed, later) == Poll() and _poll(again, busy, later, fetch_all=True) == Poll()
    assert len(_requests(httpserver, "/a")) == 1 and len(_requests(httpserver, "/busy")) == 1
    with Store.open(tmp_path / "state") as again:
        assert _poll(again, feed, T0 + timedelta(minutes=30)).polled
        assert _poll(again, busy, T0 + timedelta(minutes=59), fetch_all=True) == Poll()  # Retry-After holds
        assert _poll(again, busy, T0 + timedelta(minutes=60)).polled
    assert len(_requests(httpserver, "/a")) == 2 and len(_requests(httpserver, "/busy")) == 2


def test_a_304_with_new_validators_stores_them(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_ordered_request("/feed").respond_with_data(RSS, headers=VALIDATORS)
    new = {"ETag": '"rev-2"'}  # (werkzeug drops Last-Modified from a 304; RFC 9110 §15.4.5 lets it)
    httpserver.expect_ordered_request("/feed").respond_with_data("", status=304, headers=new)
    httpserver.expect_ordered_request("/feed").respond_with_data("", status=304)
    source = FeedSource(url=httpserver.url_for("/feed"), every=60)
    _poll(store, source, T0)
    assert _poll(store, source, T0 + timedelta(minutes=1)) == Poll(polled=True)
    state = store.get_source(source.url)
    assert state is not None and (state.etag, state.last_modified) == (new["ETag"], VALIDATORS["Last-Modified"])
    _poll(store, source, T0 + timedelta(minutes=2))  # a 304 that names none keeps what we have
    assert _requests(httpserver, "/feed")[2].headers["If-None-Match"] == new["ETag"]
    state = store.get_source(source.url)
    assert state is not None and state.etag == new["ETag"]


def test_an_unchanged_body_with_new_validators_stores_them(httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_ordered_request("/feed").respond_with_data(RSS, headers=VALIDATORS)
    renamed = {"ETag": '"rev-2"', "Last-Modified": "Wed, 01 May 2024 11:00:00 GMT"}
    httpserver.expect_ordered_request("/feed").respond_with_data(RSS, headers=renamed)
    source = FeedSource(url=httpserver.url_for("/feed"), every=60)
    first = _poll(store, source, T0)
    second = _poll(store, source, T0 + timedelta(minutes=1))
    assert first.articles == second.articles
    state = store.get_source(source.url)
    assert state is not None and (state.etag, state.last_modified) == (renamed["ETag"], renamed["Last-Modified"])


def test_cache_control_and_ttl_stretch_the_next_fetch_even_after_a_304(httpserver: HTTPServer,
                                                                        store: Store) -> None:
    with_ttl = RSS.replace(b"<description>News</description>", b"<description>News</description><ttl>90</ttl>")
    httpserver.expect_ordered_request("/feed").respond_with_data(
        with_ttl, headers={**VALIDATORS, "Cache-Control": "max-age=3600"})
    httpserver.expect_ordered_request("/feed").respond_with_data("", status=304)
    httpserver.expect_ordered_request("/feed").respond_with_data(
        "", status=304, headers={"Cache-Control": "max-age=31536000"})
    source = FeedSource(url=httpserver.url_for("/feed"), every=600)
    _poll(store, source, T0)
    state = store.get_source(source.url)
    assert state is not None and state.ttl == 90 and state.next_fetch == T0 + timedelta(minutes=90)
    assert _poll(store, source, T0 + timedelta(minutes=89)) == Poll()
    later = T0 + timedelta(minutes=90)
    assert _poll(store, source, later).polled  # 304: the stored <ttl> still counts
    state = store.get_source(source.url)
    assert state is not None and state.ttl == 90 and state.next_fetch == later + timedelta(minutes=90)
    last = later + timedelta(minutes=90)
    _poll(store, source, last)  # a year's max-age is clamped to a day
    state = store.get_source(source.url)
    assert state is not None and state.next_fetch == last + timedelta(hours=24)


def test_a_failing_source_is_never_given_up_on(httpserver: HTTPServer, store: Store) -> None:
    """No "stop after N errors": it backs off to the 24 h cap and keeps trying and reporting."""
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    source = FeedSource(url=httpserver.url_for("/broken"), every=600)
    now = T0
    waits = []
    for n in range(1, 41):
        poll = _poll(store, source, now)
        assert poll.polled and poll.error is not None and "500" in poll.error
        state = store.get_source(source.url)
        assert state is not None and state.state == "error" and state.error_count == n
        assert state.next_fetch is not None and state.next_fetch < NEVER
        waits.append(state.next_fetch - now)
        now = state.next_fetch
    assert len(_requests(httpserver, "/broken")) == 40
    assert max(waits) <= timedelta(hours=24) and min(waits[-10:]) >= timedelta(hours=18)  # jitter: 75-100 %
    httpserver.clear()
    httpserver.expect_request("/broken").respond_with_data(RSS)
    assert len(_poll(store, source, now).articles) == 3
    state = store.get_source(source.url)
    assert state is not None and (state.state, state.error_count) == ("ok", 0)


def test_site_host_gap_reaches_the_gate(project: Path, httpserver: HTTPServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from sources.hostgate import HOSTS

    turns: list[tuple[str, float]] = []
    real_turn = HOSTS.turn
    monkeypatch.setattr(HOSTS, "turn", lambda url, gap: turns.append((url, gap)) or real_turn(url, gap))
    httpserver.expect_request("/rss").respond_with_data(RSS)
    toml = project / "tagfeed.toml"
    toml.write_text(toml.read_text("utf-8").replace("[site]\n", "[site]\nhost_gap = 3\n"), "utf-8")
    _add_feed(project, httpserver.url_for("/rss"))
    build(load_config(toml, environ={}), now=T0)
    assert turns == [(httpserver.url_for("/rss"), 3)]


def test_a_build_that_dies_after_polling_keeps_no_etag_without_its_articles(project: Path,
                                                                             httpserver: HTTPServer) -> None:
    """The new ETag is stored only with the poll's articles: a build killed between the two
    (here: an exception where the next source would be read) leaves the feed to be fetched
    in full next time, not answered 304 over articles that were never stored."""
    httpserver.expect_request("/rss").respond_with_handler(_conditional_feed)
    url = httpserver.url_for("/rss")
    _add_feed(project, url)
    text = (project / "tagfeed.toml").read_text(encoding="utf-8")
    first_feed = text.index("[[sources]]\ntype = \"feed\"")
    (project / "tagfeed.toml").write_text(text[first_feed:] + "\n" + text[:first_feed], encoding="utf-8")
    config = load_config(project / "tagfeed.toml", environ={})
    assert isinstance(config.sources[0], FeedSource)

    class Killed(Exception):
        pass

    def die_after_the_feed(stage: str, done: int, total: int) -> None:
        if stage == "reading" and done == 1:
            raise Killed

    with pytest.raises(Killed):
        build(config, now=T0, progress=die_after_the_feed)
    assert len(_requests(httpserver, "/rss")) == 1
    with Store.open(config.site.state_dir) as store:
        state = store.get_source(url)
        assert state is None or state.etag is None
    report = build(config, now=T0 + timedelta(minutes=1), fetch_all=True)
    again = _requests(httpserver, "/rss")[-1]
    assert "If-None-Match" not in again.headers  # fetched in full, so its articles arrive
    assert report.errors == () and "Guid is not a link" in (project / "output/all.atom").read_text("utf-8")
    with Store.open(config.site.state_dir) as store:
        assert store.get_source(url).etag == VALIDATORS["ETag"]  # type: ignore[union-attr]


# -- one broken feed never stops a build (issue 14) ---------------------------
BROKEN = UPSTREAM / "broken"


def _isolation_project(tmp_path: Path, httpserver: HTTPServer, names: list[str]) -> Path:
    """The seeds, the good RSS sample, and each of ``names`` from tests/data/upstream/broken."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "seeds", root / "seeds")
    httpserver.expect_request("/good.xml").respond_with_data(RSS, content_type="application/rss+xml")
    feeds = ['[[sources]]\ntype = "feed"\nurl = "%s"\ntags = ["Upstream"]\n' % httpserver.url_for("/good.xml")]
    for name in names:
        httpserver.expect_request(f"/{name}").respond_with_data((BROKEN / name).read_bytes(),
                                                                content_type="application/rss+xml")
        feeds.append('[[sources]]\ntype = "feed"\nurl = "%s"\n' % httpserver.url_for(f"/{name}"))
    (root / "tagfeed.toml").write_text(
        '[site]\nbase_url = "https://feeds.example.org/"\n\n[[sources]]\ntype = "tagpage"\n'
        'paths = ["seeds/*.txt"]\n\n' + "\n".join(feeds), encoding="utf-8")
    return root


def test_a_build_with_broken_feeds_publishes_every_good_source_and_names_each_broken_one(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    unreadable = ["charref-beyond-unicode.xml", "encoding-non-ascii.xml"]
    root = _isolation_project(tmp_path, httpserver, ["bad-port-link.xml", *unreadable])
    strict = run_tagfeed("build", "--strict", cwd=root)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    shutil.rmtree(root / ".tagfeed")
    shutil.rmtree(root / "output")
    done = run_tagfeed("build", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "cannot be read" in line]
    assert len(errors) == 2 and all(any(httpserver.url_for(f"/{n}") in e for e in errors) for n in unreadable)
    assert "sources: " in done.stdout and "2 failed" in done.stdout
    everything = (root / "output/all.atom").read_text(encoding="utf-8")
    assert "Port typo keeps its text" in everything  # the entry whose link nh3 refused, kept without it
    for tag in ("putin", "upstream"):
        assert (root / f"output/tags/{tag}.atom").is_file()


def test_a_library_raising_on_one_feed_is_that_feeds_failure_with_backoff(
        store: Store, httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/charref.xml")
    httpserver.expect_request("/charref.xml").respond_with_data(
        (BROKEN / "charref-beyond-unicode.xml").read_bytes(), content_type="application/rss+xml")
    poll = _poll(store, FeedSource(url=url), T0)
    assert poll.failure is not None and poll.failure.kind == UNREADABLE
    assert poll.failure.message.startswith(f"{url}: cannot be read (ValueError in feedparser")
    state = store.get_source(url)
    assert state is not None and state.state == "error" and state.error_count == 1
    assert state.next_fetch is not None and state.next_fetch > T0  # backs off as for an unparsable body
    assert state.failure == poll.failure


def test_a_bug_of_ours_is_logged_with_its_traceback_and_the_other_sources_still_publish(
        store: Store, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import sources.feed.read

    def broken(raw: object, configured: object) -> object:
        raise TypeError("a programming error")

    httpserver.expect_request("/a.xml").respond_with_data(RSS, content_type="application/rss+xml")
    httpserver.expect_request("/b.xml").respond_with_data(ATOM, content_type="application/atom+xml")
    monkeypatch.setattr(sources.feed.read, "_entry_tags", broken)
    first = _poll(store, FeedSource(url=httpserver.url_for("/a.xml")), T0)
    assert first.failure is not None and first.failure.kind == INTERNAL
    assert "a bug in tagfeed" in first.failure.message
    assert any(r.exc_info and r.exc_info[0] is TypeError for r in caplog.records)
    monkeypatch.undo()
    second = _poll(store, FeedSource(url=httpserver.url_for("/b.xml")), T0)
    assert second.failure is None and second.articles
