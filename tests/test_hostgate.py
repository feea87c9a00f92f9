"""One request at a time per host, with a gap (sources/hostgate.py), down to real arrival times.

The HTTP tests run one threaded pytest-httpserver on 127.0.0.1 that records,
per Host header, when each request arrived and left. ``127.0.0.1`` and
``localhost`` reach the same server but are two hosts to the gate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.hostgate import HostGate, host_of
from tagfeed.poll.aggregate import Aggregator
from tagfeed.config import FeedSource
from tagfeed.store.sqlite import Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
RSS = (Path(__file__).parent / "data/upstream/rss20.xml").read_bytes()
GAP = 0.5
HOLD = 0.3  # how long the server takes to answer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


# -- pure-ish: the gate with a fake clock ---------------------------------------
@pytest.mark.parametrize(("url", "host"), [
    ("http://Example.org:8080/feed", "example.org"), ("https://example.org/a", "example.org"),
    ("http://127.0.0.1:5000/", "127.0.0.1"), ("http://localhost:5000/", "localhost"),
])
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


def test_the_gap_runs_from_the_end_of_the_last_request_to_the_same_host() -> None:
    clock = FakeClock()
    gate = HostGate(clock=clock, sleep=clock.sleep)
    with gate.turn("http://a.example/1", gap=1.0):
        clock.now += 0.25  # the request takes a while
    with gate.turn("http://b.example/1", gap=1.0):  # another host: no wait
        pass
    assert clock.slept == []
    clock.now += 0.4
    with gate.turn("http://a.example:81/2", gap=1.0):  # same host, other port: waits the rest
        pass
    assert clock.slept == [0.6]
    clock.now += 5
    with gate.turn("http://a.example/3", gap=1.0):  # long after: no wait
        pass
    with gate.turn("http://a.example/4", gap=0):
        pass
    assert clock.slept == [0.6]


def test_a_failed_request_still_counts_for_the_gap() -> None:
    clock = FakeClock()
    gate = HostGate(clock=clock, sleep=clock.sleep)
    with pytest.raises(OSError), gate.turn("http://a.example/1", gap=2.0):
        raise OSError("connection refused")
    with gate.turn("http://a.example/2", gap=2.0):
        pass
    assert clock.slept == [2.0]


# -- real HTTP: arrival times per host ------------------------------------------
@dataclass
class Visit:
    host: str
    path: str
    arrived: float
    left: float


@pytest.fixture
def upstream() -> Iterator[tuple[HTTPServer, list[Visit]]]:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    visits: list[Visit] = []
    lock = threading.Lock()

    def answer(request: Request) -> Response:
        arrived = time.monotonic()
        time.sleep(HOLD)
        with lock:
            visits.append(Visit(request.host.split(":")[0], request.path, arrived, time.monotonic()))
        return Response(RSS, content_type="application/rss+xml")

    server.expect_request("/a").respond_with_handler(answer)
    server.expect_request("/b").respond_with_handler(answer)
    server.start()
    try:
        yield server, visits
    finally:
        server.clear()
        server.stop()


def _url(server: HTTPServer, host: str, path: str) -> str:
    return f"http://{host}:{server.port}{path}"


def _poll_all(tmp_path: Path, gate: HostGate, urls: list[str], name: str = "state") -> None:
    with Store.open(tmp_path / name) as store:
        aggregator = Aggregator(store, T0, user_agent="tagfeed-test", host_gap=GAP, gate=gate)
        for url in urls:
            assert aggregator.poll(FeedSource(url=url)).error is None


def _in_threads(*jobs: tuple[Path, HostGate, list[str], str]) -> None:
    threads = [threading.Thread(target=_poll_all, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def test_two_feeds_on_one_host_are_a_gap_apart_and_other_hosts_do_not_wait(
        upstream: tuple[HTTPServer, list[Visit]], tmp_path: Path) -> None:
    server, visits = upstream
    _poll_all(tmp_path, HostGate(), [_url(server, "127.0.0.1", "/a"), _url(server, "localhost", "/a"),
                                     _url(server, "127.0.0.1", "/b"), _url(server, "localhost", "/b")])
    by_host = {h: [v for v in visits if v.host == h] for h in ("127.0.0.1", "localhost")}
    for first, second in by_host.values():
        assert second.arrived - first.arrived >= GAP + HOLD  # the gap counts from the end of the first
        assert second.arrived - first.left >= GAP - 0.01
    # localhost's first request did not wait for 127.0.0.1's gap
    assert by_host["localhost"][0].arrived - by_host["127.0.0.1"][0].left < GAP


def test_concurrent_jobs_take_turns_on_one_host(upstream: tuple[HTTPServer, list[Visit]], tmp_path: Path) -> None:
    server, visits = upstream
    gate = HostGate()  # one gate, as the process-wide HOSTS is for a build and a serve job
    _in_threads((tmp_path, gate, [_url(server, "127.0.0.1", "/a")], "one"),
                (tmp_path, gate, [_url(server, "127.0.0.1", "/b")], "two"))
    first, second = sorted(visits, key=lambda v: v.arrived)
    assert second.arrived >= first.left + GAP - 0.01  # never two at once, and the gap between


def test_concurrent_jobs_on_different_hosts_overlap(upstream: tuple[HTTPServer, list[Visit]],
                                                    tmp_path: Path) -> None:
    server, visits = upstream
    gate = HostGate()
    _in_threads((tmp_path, gate, [_url(server, "127.0.0.1", "/a")], "one"),
                (tmp_path, gate, [_url(server, "localhost", "/b")], "two"))
    first, second = sorted(visits, key=lambda v: v.arrived)
    assert {first.host, second.host} == {"127.0.0.1", "localhost"}
    assert second.arrived < first.left  # in flight at the same time


def test_a_redirect_to_the_same_host_waits_its_turn_too(tmp_path: Path) -> None:
    server = HTTPServer(host="127.0.0.1")
    arrivals: list[float] = []

    def moved(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return Response(status=302, headers={"Location": "/feed"})

    def feed(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return Response(RSS)

    server.expect_request("/old").respond_with_handler(moved)
    server.expect_request("/feed").respond_with_handler(feed)
    server.start()
    try:
        _poll_all(tmp_path, HostGate(), [_url(server, "127.0.0.1", "/old")])
    finally:
        server.clear()
        server.stop()
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= GAP - 0.01
