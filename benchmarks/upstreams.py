"""Feeds on several upstream hosts for the workers' tests and benchmark: one HTTP server per host.

``sources.hostgate.host_of`` ignores the port, so each host is its own
loopback address (127.0.0.1, 127.0.0.2, ...; Linux routes all of 127/8 to
``lo``), each with a threaded server on a free port. Every request is timed
(wall clock, comparable with the database's) per feed and per host, and each
answer carries the feed's five newest items, one more than the request
before, so each poll brings one new article.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Upstreams:
    """The hosts' servers and what they served: request (start, end) times per feed."""

    hosts: int
    delay: float = 0.0  # seconds each answer takes, so requests in flight at once overlap visibly
    fixed: bool = False  # the same five items every time, with an ETag: a conditional request gets 304
    ports: dict[int, int] = field(default_factory=dict)  # host number -> port
    hits: dict[tuple[int, int], list[tuple[float, float]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, host: int, n: int) -> str:
        return f"http://127.0.0.{host + 1}:{self.ports[host]}/feed/{n}.xml"

    def link(self, host: int, n: int, item: int) -> str:
        return f"http://127.0.0.{host + 1}:{self.ports[host]}/feed/{n}/item/{item}"

    def urls(self, feeds: int) -> list[tuple[int, int, str]]:
        """``feeds`` feeds spread over the hosts: (host, feed number, URL)."""
        return [(n % self.hosts, n, self.url(n % self.hosts, n)) for n in range(feeds)]

    def served(self) -> dict[tuple[int, int], list[tuple[float, float]]]:
        with self.lock:
            return {key: list(times) for key, times in self.hits.items()}

    def by_host(self) -> dict[int, list[tuple[float, float]]]:
        """Every request's (start, end) per host, in order."""
        out: dict[int, list[tuple[float, float]]] = {}
        for (host, _), times in self.served().items():
            out.setdefault(host, []).extend(times)
        return {host: sorted(times) for host, times in out.items()}

    def rss(self, host: int, n: int, count: int) -> bytes:
        return feed_rss(n, count, self.url(host, n), lambda j: self.link(host, n, j))


def feed_rss(n: int, count: int, home: str, link: Callable[[int], str]) -> bytes:
    """Feed ``n`` after ``count`` entries: its newest five, each dated a minute after the one before."""
    day = datetime(2024, 3, 1, tzinfo=timezone.utc)
    items = "".join(
        f"<item><title>Feed {n} item {j}</title><link>{link(j)}</link>"
        f"<guid>{link(j)}</guid><description>Story {j} of feed {n}.</description>"
        f"<pubDate>{day + timedelta(minutes=j):%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"
        for j in range(count, max(0, count - 5), -1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>{home}</link><description>d</description>{items}</channel></rss>").encode()


def _handler(state: Upstreams, host: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            start = time.time()
            match = re.fullmatch(r"/feed/(\d+)\.xml", self.path)
            if not match:
                self.send_error(404)
                return
            n = int(match.group(1))
            with state.lock:
                count = 5 if state.fixed else len(state.hits.setdefault((host, n), [])) + 1
                state.hits.setdefault((host, n), [])
            time.sleep(state.delay)
            if state.fixed and self.headers.get("If-None-Match") == '"v5"':
                self.send_response(304)
                self.send_header("ETag", '"v5"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                with state.lock:
                    state.hits[(host, n)].append((start, time.time()))
                return
            body = state.rss(host, n, count)
            self.send_response(200)
            self.send_header("ETag", f'"v{count}"')
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with state.lock:
                state.hits[(host, n)].append((start, time.time()))

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def upstreams(hosts: int, delay: float = 0.0, fixed: bool = False) -> Iterator[Upstreams]:
    """``hosts`` servers on 127.0.0.1 ... 127.0.0.<hosts>, shut down on leaving."""
    state = Upstreams(hosts, delay, fixed)
    servers = []
    try:
        for host in range(hosts):
            server = ThreadingHTTPServer((f"127.0.0.{host + 1}", 0), _handler(state, host))
            server.daemon_threads = True
            state.ports[host] = server.server_address[1]
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        yield state
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def most_at_once(times: list[tuple[float, float]]) -> int:
    """The most requests under way at one moment."""
    edges = sorted([(start, 1) for start, _ in times] + [(end, -1) for _, end in times])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def gaps(times: list[tuple[float, float]]) -> list[float]:
    """Seconds from the end of each request to the start of the next (one host's, sorted)."""
    return [b[0] - a[1] for a, b in zip(times, times[1:])]
