"""Fetching over real HTTP (pytest-httpserver on 127.0.0.1), and the pure scheduling beside it."""

from __future__ import annotations

import gzip
import random
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.fetch import (
    BACKOFF_CAP,
    NEVER,
    FetchResult,
    Outcome,
    backoff,
    classify,
    fetch,
    next_fetch,
    parse_retry_after,
)
from tagfeed.settings import default
from tagfeed.errors import FetchError

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
UA = "tagfeed/test (+http://127.0.0.1:8080/)"
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


class _State:
    def __init__(self, error_count: int = 0) -> None:
        self.error_count = error_count


def _fetch(url: str, **kw: Any) -> FetchResult:
    return fetch(url, user_agent=UA, **{"max_bytes": default("feed.max_bytes"), **kw})


# -- pure -------------------------------------------------------------------
@pytest.mark.parametrize(("status", "headers", "expected"), [
    (200, {}, Outcome.OK), (203, {}, Outcome.OK), (304, {}, Outcome.NOT_MODIFIED),
    (301, {"Location": "/n"}, Outcome.MOVED), (308, {"location": "/n"}, Outcome.MOVED),
    (302, {"Location": "/n"}, Outcome.REDIRECT), (303, {"Location": "/n"}, Outcome.REDIRECT),
    (307, {"Location": "/n"}, Outcome.REDIRECT), (301, {}, Outcome.ERROR),
    (410, {}, Outcome.GONE), (429, {"Retry-After": "5"}, Outcome.RETRY_AFTER), (503, {}, Outcome.RETRY_AFTER),
    (404, {}, Outcome.ERROR), (500, {}, Outcome.ERROR), (403, {}, Outcome.ERROR), (100, {}, Outcome.ERROR),
])
def test_classify(status: int, headers: dict[str, str], expected: Outcome) -> None:
    assert classify(status, headers) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("120", NOW + timedelta(seconds=120)),
    (" 0 ", NOW),
    ("Wed, 01 May 2024 12:30:00 GMT", NOW + timedelta(minutes=30)),
    ("Wed, 01 May 2024 11:00:00 GMT", NOW),  # in the past: now
    ("99999999999", NOW + timedelta(days=7)),  # capped
    ("soon", None), ("", None), (None, None), ("-5", None),
])
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_next_fetch_on_success_is_every() -> None:
    rng = random.Random(1)
    for outcome in (Outcome.OK, Outcome.NOT_MODIFIED):
        assert next_fetch(_State(3), outcome, NOW, rng, every=1800) == NOW + timedelta(seconds=1800)


def test_next_fetch_gone_is_never() -> None:
    assert next_fetch(_State(), Outcome.GONE, NOW, random.Random(1), every=60) == NEVER


def test_next_fetch_honours_retry_after_else_backs_off() -> None:
    rng = random.Random(1)
    at = next_fetch(_State(), Outcome.RETRY_AFTER, NOW, rng, every=1800, retry_after="120")
    assert at == NOW + timedelta(seconds=120)
    fallback = next_fetch(_State(), Outcome.RETRY_AFTER, NOW, rng, every=1800)
    assert NOW + timedelta(seconds=1350) <= fallback <= NOW + timedelta(seconds=1800)


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [next_fetch(_State(n), Outcome.ERROR, NOW, rng, every=600) - NOW for n in range(12)]
    for n, delay in enumerate(delays):
        nominal = min(600 * 2**n, BACKOFF_CAP.total_seconds())
        assert 0.75 * nominal <= delay.total_seconds() <= nominal
    assert max(delays) <= BACKOFF_CAP
    assert backoff(10**6, 600, random.Random(0)) <= BACKOFF_CAP
    assert len({backoff(3, 600, random.Random(seed)) for seed in range(20)}) > 10  # jittered
    assert backoff(3, 600, random.Random(5)) == backoff(3, 600, random.Random(5))  # deterministic


# -- over HTTP --------------------------------------------------------------
def test_ok_sends_user_agent_and_returns_body_and_validators(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed", headers={"User-Agent": UA}).respond_with_data(
        FEED, headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"},
        content_type="application/rss+xml")
    result = _fetch(httpserver.url_for("/feed"))
    assert (result.outcome, result.status, result.body) == (Outcome.OK, 200, FEED)
    assert result.etag == '"v1"' and result.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.permanent_url is None


def test_conditional_get_gets_304_with_no_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"',
                                                "If-Modified-Since": "Wed, 01 May 2024 10:00:00 GMT"}
                              ).respond_with_data("", status=304)
    result = _fetch(httpserver.url_for("/feed"), etag='"v1"', last_modified="Wed, 01 May 2024 10:00:00 GMT")
    assert result.outcome is Outcome.NOT_MODIFIED and result.body == b""


def test_gzip_bodies_are_decoded(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gz").respond_with_data(gzip.compress(FEED), headers={"Content-Encoding": "gzip"})
    assert _fetch(httpserver.url_for("/gz")).body == FEED


@pytest.mark.parametrize(("status", "outcome"), [(410, Outcome.GONE), (429, Outcome.RETRY_AFTER),
                                                 (503, Outcome.RETRY_AFTER), (500, Outcome.ERROR),
                                                 (404, Outcome.ERROR)])
def test_http_errors_come_back_classified(httpserver: HTTPServer, status: int, outcome: Outcome) -> None:
    httpserver.expect_request("/e").respond_with_data("nope", status=status, headers={"Retry-After": "120"})
    result = _fetch(httpserver.url_for("/e"))
    assert (result.outcome, result.status, result.body) == (outcome, status, b"")
    assert result.headers["retry-after"] == "120"


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_reports_the_new_url(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/old").respond_with_data("", status=status, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(FEED)
    result = _fetch(httpserver.url_for("/old"))
    assert result.body == FEED and result.url == httpserver.url_for("/new")
    assert result.permanent_url == httpserver.url_for("/new")


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_is_followed_not_remembered(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/old").respond_with_data("", status=status, headers={"Location": "/tmp"})
    httpserver.expect_request("/tmp").respond_with_data(FEED)
    result = _fetch(httpserver.url_for("/old"))
    assert result.body == FEED and result.permanent_url is None


def test_a_301_behind_a_302_is_not_remembered_but_before_it_is(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=301, headers={"Location": "/c"})
    httpserver.expect_request("/c").respond_with_data(FEED)
    httpserver.expect_request("/x").respond_with_data("", status=301, headers={"Location": "/y"})
    httpserver.expect_request("/y").respond_with_data("", status=307, headers={"Location": "/c"})
    assert _fetch(httpserver.url_for("/a")).permanent_url is None
    assert _fetch(httpserver.url_for("/x")).permanent_url == httpserver.url_for("/y")


def test_redirect_loop_is_a_fetch_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=301, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        _fetch(httpserver.url_for("/a"))


def test_too_many_redirects_is_a_fetch_error(httpserver: HTTPServer) -> None:
    for n in range(7):
        httpserver.expect_request(f"/r{n}").respond_with_data("", status=302, headers={"Location": f"/r{n + 1}"})
    httpserver.expect_request("/r7").respond_with_data(FEED)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        _fetch(httpserver.url_for("/r0"))
    assert _fetch(httpserver.url_for("/r2")).body == FEED  # exactly five hops is fine


def test_redirect_to_another_scheme_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="non-HTTP"):
        _fetch(httpserver.url_for("/a"))


def test_declared_length_over_the_cap_is_refused_unread(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    with pytest.raises(FetchError, match="5000 bytes, over the 1000-byte cap"):
        _fetch(httpserver.url_for("/big"), max_bytes=1000)


def test_streamed_body_over_the_cap_stops_reading(httpserver: HTTPServer) -> None:
    sent = [0]
    chunk = b"<" * (64 * 1024)

    def gigabyte() -> Iterator[bytes]:
        for _ in range(2**30 // len(chunk)):
            sent[0] += len(chunk)
            yield chunk

    httpserver.expect_request("/huge").respond_with_handler(lambda request: Response(gigabyte()))
    cap = 8 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=f"over the {cap}-byte cap"):
            _fetch(httpserver.url_for("/huge"), max_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # tracemalloc counts every thread: werkzeug's server drains with a 10 MB read buffer
    assert peak < 3 * cap
    assert sent[0] < 8 * cap  # the server was cut off long before its gigabyte


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Unblocks a stalling handler when the test ends, so the one-thread server serves on."""
    event = threading.Event()
    yield event
    event.set()


def test_headers_then_stall_times_out_within_the_deadline(httpserver: HTTPServer,
                                                          release: threading.Event) -> None:
    def stall() -> Iterator[bytes]:
        yield b"<?xml"
        release.wait(10)
        yield b"?>"

    httpserver.expect_request("/stall").respond_with_handler(lambda request: Response(stall()))
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        _fetch(httpserver.url_for("/stall"), total_timeout=0.5, connect_timeout=0.2)
    assert time.monotonic() - started < 2


def test_trickling_body_hits_the_total_deadline(httpserver: HTTPServer, release: threading.Event) -> None:
    def trickle() -> Iterator[bytes]:
        while not release.wait(0.05):
            yield b" "

    httpserver.expect_request("/slow").respond_with_handler(lambda request: Response(trickle()))
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        _fetch(httpserver.url_for("/slow"), total_timeout=0.6)
    assert time.monotonic() - started < 2


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="127.0.0.1:9"):
        _fetch("http://127.0.0.1:9/feed", total_timeout=2)


def test_server_sees_one_request_per_fetch(httpserver: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        return Response(FEED)

    httpserver.expect_request("/count").respond_with_handler(handler)
    _fetch(httpserver.url_for("/count"))
    _fetch(httpserver.url_for("/count"))
    assert len(httpserver.log) == 2


def test_gzip_bomb_is_capped_by_decoded_size(httpserver: HTTPServer) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    bomb = b"".join(packer.compress(zeros) for _ in range(200)) + packer.flush()  # 200 MiB in ~200 KiB
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    cap = 4 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="over the 4194304-byte cap"):
            _fetch(httpserver.url_for("/bomb"), max_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024 + 2 * cap  # werkzeug's 10 MB drain buffer + our cap, never 200 MiB


def test_unknown_content_encoding_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/br").respond_with_data(b"\x00\x01", headers={"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        _fetch(httpserver.url_for("/br"))


def test_corrupt_gzip_is_a_fetch_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/bad").respond_with_data(b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="cannot decode"):
        _fetch(httpserver.url_for("/bad"))
