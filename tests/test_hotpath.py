"""tagfeed.serving.hotpath against waitress itself: the same bytes on the wire, over raw sockets.

Three real servers on free 127.0.0.1 ports, each on its own copy of the app over the same
tree: ``server.create_server`` (answers in waitress's loop thread), plain waitress running
``FastFiles`` as a WSGI task, and plain waitress running Flask alone. Every answer, with
its Date masked, must be byte-identical across the three, and so must the connection's fate
(kept or closed). The servers stop at the end of each test.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from waitress import wasyncore

import server
from tagfeed.config import Config
from tagfeed.serving.hotpath import HotServer
from tagfeed.serving.hotpath import create_server as hot_server

DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")
PATHS = ["/", "/index.html", "/all.atom", "/tags/putin.atom", "/opml.xml", "/all.atom?x=1", "/nope.atom",
         "//all.atom", "/tags/", "/%2e%2e/x", "/escape.atom", "/tags/putin.atom.gz", "http://t/all.atom"]
KINDS = ("hot", "task", "flask")


@contextlib.contextmanager
def running(srv: Any, name: str) -> Iterator[int]:
    """``srv.run()`` in a thread named ``name``; closed from its own loop thread on exit (a loop
    that stopped already has closed its trigger and sockets: rarely, plain waitress does so
    after a test's last exchange)."""
    thread = threading.Thread(target=srv.run, name=name, daemon=True)
    thread.start()
    try:
        yield int(srv.effective_port)
    finally:
        with contextlib.suppress(OSError):
            srv.trigger.pull_trigger(lambda: wasyncore.close_all(srv._map))
        thread.join(10)
        srv.task_dispatcher.shutdown()


@pytest.fixture
def ports(server_config: Config) -> Iterator[dict[str, int]]:
    """The three servers, by kind, on the same tree."""
    hot = server.create_server(server.create_app(server_config), "127.0.0.1", 0)
    # the task path alone (no answerer): waitress's own answers, with KeepAliveTask as serve runs it
    task = hot_server(server.create_app(server_config), None, host="127.0.0.1", port=0, threads=8)
    flask_only = server.create_app(server_config)
    flask_only.wsgi_app = flask_only.wsgi_app.wsgi  # type: ignore[attr-defined, method-assign]
    flask = hot_server(flask_only, None, host="127.0.0.1", port=0, threads=8)
    with running(hot, "hot-loop") as a, running(task, "task-loop") as b, running(flask, "flask-loop") as c:
        yield {"hot": a, "task": b, "flask": c}


class Conn:
    """One raw client connection that splits the server's bytes into responses."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        self.buf += data
        return bool(data)

    def response(self, method: str = "GET") -> bytes:
        """The next whole response (head and body), or b"" when the server closed first."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                assert not self.buf, self.buf
                return b""
        head, _, _ = self.buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        size = len(head) + 4
        if not (method == "HEAD" or status in (204, 304) or 100 <= status < 200):
            assert length, head
            size += int(length.group(1))
        while len(self.buf) < size:
            assert self._fill(), "closed mid-response"
        answer, self.buf = self.buf[:size], self.buf[size:]
        return DATE.sub(b"\r\nDate: -\r\n", answer)

    def closed(self) -> bool:
        """Whether the server closed the connection: a further request gets no answer."""
        try:
            self.send(b"GET /all.atom HTTP/1.1\r\nHost: t\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return True
        return self.response() == b""

    def close(self) -> None:
        self.sock.close()


def status(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer else None


def request(method: str, path: str, headers: dict[str, str], version: str = "1.1", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: t", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def exchange(port: int, data: bytes, methods: list[str]) -> tuple[list[bytes], bool]:
    """Send ``data`` on a fresh connection; the responses to ``methods`` and whether it then closed."""
    conn = Conn(port)
    try:
        conn.send(data)
        answers = [conn.response(method) for method in methods]
        return answers, conn.closed()
    finally:
        conn.close()


def on_all(ports: dict[str, int], data: bytes, methods: list[str]) -> tuple[list[bytes], bool]:
    """The exchange on every server; asserts they agree byte for byte and returns the hot one's."""
    seen = {kind: exchange(ports[kind], data, methods) for kind in KINDS}
    assert seen["hot"] == seen["task"] == seen["flask"], (data, seen)
    return seen["hot"]


def etag_of(port: int, path: str = "/all.atom", headers: dict[str, str] | None = None) -> str:
    answers, _ = exchange(port, request("HEAD", path, headers or {}), ["HEAD"])
    found = re.search(rb"\r\nEtag: ([^\r]*)", answers[0])
    assert found, answers
    return found.group(1).decode()


def variants(etag: str) -> list[tuple[str, dict[str, str]]]:
    gz = etag[:-1] + '-gzip"'
    future, past = "Wed, 21 Oct 2099 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"
    return [("1.1", {}), ("1.1", {"Accept-Encoding": "gzip"}), ("1.1", {"Accept-Encoding": "gzip;q=0, br"}),
            ("1.1", {"If-None-Match": etag}), ("1.1", {"If-None-Match": gz, "Accept-Encoding": "gzip"}),
            ("1.1", {"If-None-Match": f'"a", W/{etag}, "b"'}), ("1.1", {"If-None-Match": "W/" + gz}),
            ("1.1", {"If-None-Match": "*"}), ("1.1", {"If-None-Match": '"other"'}),
            ("1.1", {"If-Modified-Since": future}), ("1.1", {"If-Modified-Since": past}),
            ("1.1", {"If-Modified-Since": "garbage"}),
            ("1.1", {"If-None-Match": '"other"', "If-Modified-Since": future}),
            ("1.1", {"Connection": "close"}), ("1.1", {"Connection": "Close", "If-None-Match": etag}),
            ("1.1", {"Connection": "keep-alive"}), ("1.0", {}), ("1.0", {"Connection": "keep-alive"}),
            ("1.0", {"Connection": "Keep-Alive", "If-None-Match": etag}), ("1.0", {"Accept-Encoding": "gzip"})]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_answers_are_the_task_paths_bytes(ports: dict[str, int], method: str) -> None:
    etag = etag_of(ports["task"])
    assert etag == etag_of(ports["hot"])
    for path in PATHS:
        for version, headers in variants(etag):
            on_all(ports, request(method, path, headers, version), [method])


@pytest.mark.parametrize(("version", "headers", "closes"), [
    ("1.1", {}, False), ("1.1", {"Connection": "close"}, True), ("1.0", {}, True),
    ("1.0", {"Connection": "keep-alive"}, False), ("1.1", {"If-None-Match": "ETAG"}, False),
    ("1.1", {"If-None-Match": "ETAG", "Connection": "close"}, True), ("1.0", {"If-None-Match": "ETAG"}, True)])
def test_connection_kept_or_closed_on_every_path(ports: dict[str, int], version: str,
                                                  headers: dict[str, str], closes: bool) -> None:
    """An HTTP/1.1 304 keeps the connection (plain waitress would close it: no Content-Length)."""
    etag = etag_of(ports["hot"])
    headers = {k: v.replace("ETAG", etag) for k, v in headers.items()}
    answers, closed = on_all(ports, request("GET", "/all.atom", headers, version), ["GET"])
    assert closed is closes and answers[0].startswith(f"HTTP/{version} ".encode())


def test_pipelined_requests_answer_in_order(ports: dict[str, int]) -> None:
    """Hot answers, task answers (404, 405 with a body) and a closing 304 on one socket, in one write."""
    etag = etag_of(ports["hot"])
    batch = [("GET", request("GET", "/all.atom", {})), ("HEAD", request("HEAD", "/tags/putin.atom", {})),
             ("GET", request("GET", "/nope.atom", {})), ("GET", request("GET", "/tags/putin.atom", {})),
             ("POST", request("POST", "/all.atom", {"Content-Length": "5"}, body=b"hello")),
             ("GET", request("GET", "/all.atom", {"Accept-Encoding": "gzip"})),
             ("GET", request("GET", "/index.html", {"If-None-Match": etag})),
             ("GET", request("GET", "/all.atom", {"If-None-Match": etag})),
             ("GET", request("GET", "/index.html", {})),  # the 304 kept the connection
             ("GET", request("GET", "/all.atom", {"If-None-Match": etag, "Connection": "close"})),
             ("GET", request("GET", "/index.html", {}))]  # after the closing 304: no answer
    methods = [method for method, _ in batch]
    answers, closed = on_all(ports, b"".join(data for _, data in batch), methods)
    assert [status(a) for a in answers] == [200, 200, 404, 200, 405, 200, 200, 304, 200, 304, None] and closed


def test_pipelined_requests_split_across_writes(ports: dict[str, int]) -> None:
    """Requests cut at awkward places still parse, and are answered in order."""
    data = b"".join(request("GET", path, {}) for path in ("/all.atom", "/nope.atom", "/tags/putin.atom"))
    for kind in KINDS:
        conn = Conn(ports[kind])
        try:
            for start in range(0, len(data), 17):
                conn.send(data[start:start + 17])
                time.sleep(0.001)
            statuses = [status(conn.response()) for _ in range(3)]
        finally:
            conn.close()
        assert statuses == [200, 404, 200], kind


@pytest.mark.parametrize("headers", [{"Content-Length": "3", "Expect": "100-continue"},
                                     {"Transfer-Encoding": "chunked"}])
def test_requests_with_bodies_take_the_task_path(ports: dict[str, int], headers: dict[str, str]) -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n" if "Transfer-Encoding" in headers else b"abc"
    methods = ["GET", "GET"] if "Expect" in headers else ["GET"]
    for method in ("GET", "PUT"):
        answers, _ = on_all(ports, request(method, "/all.atom", headers, body=body), methods)
        assert status(answers[-1]) == (200 if method == "GET" else 405)


def _waitress_error(status: str, reason: str) -> tuple[str, bytes]:
    return status, f"{status.split(' ', 2)[2]}\r\n\r\n{reason}\r\n\r\n(generated by waitress)".encode()


FEED = "all.atom"  # what /all.atom serves, read from the tree
MALFORMED = [  # (request, the status line and body every server must answer); each then closes
    (b"GET /all.atom HTTP/1.1\r\nBad header\r\n\r\n", *_waitress_error("HTTP/1.0 400 Bad Request", "Invalid header")),
    (b"GET /all.atom HTTP/1.1\r\nContent-Length: x\r\n\r\n",
     *_waitress_error("HTTP/1.1 400 Bad Request", "Content-Length is invalid")),
    (b"GET /all.atom HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
     *_waitress_error("HTTP/1.1 501 Not Implemented", "Transfer-Encoding requested is not supported.")),
    (b"GET /all.atom HTTP/2.0\r\n\r\n", "HTTP/1.0 200 OK", FEED),  # waitress answers an unknown version as 1.0
    (b"GET /all.atom\r\n\r\n", "HTTP/1.0 200 OK", FEED),  # no version: HTTP/1.0, the file
]


@pytest.mark.parametrize(("data", "status_line", "body"), MALFORMED, ids=["bad-header", "bad-length", "gzip-te",
                                                                          "http2", "no-version"])
def test_malformed_requests_take_the_task_path(ports: dict[str, int], served_tree: Path, data: bytes,
                                               status_line: str, body: bytes | str) -> None:
    """The hot path hands what it cannot parse to waitress: every server gives waitress's answer."""
    expected = (served_tree / body).read_bytes() if isinstance(body, str) else body
    for kind in KINDS:
        answers, closed = exchange(ports[kind], data, ["GET"])
        head, _, got = answers[0].partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[0].decode() == status_line, (kind, answers[0])
        assert got == expected, (kind, answers[0])
        assert b"\r\nConnection: close" in head and closed, (kind, answers[0])
    on_all(ports, data, ["GET"])  # and byte for byte alike, headers too


def test_rebuilt_file_is_served_fresh(ports: dict[str, int], served_tree: Path) -> None:
    old = etag_of(ports["hot"])
    on_all(ports, request("GET", "/all.atom", {"If-None-Match": old}), ["GET"])  # cached everywhere
    (served_tree / "all.atom").write_bytes(b"<feed>rebuilt, and longer than before</feed>\n")
    (served_tree / "all.atom.gz").unlink()
    answers, _ = on_all(ports, request("GET", "/all.atom", {"If-None-Match": old, "Accept-Encoding": "gzip"}),
                        ["GET"])
    assert answers[0].startswith(b"HTTP/1.1 200 ") and answers[0].endswith(b"rebuilt, and longer than before</feed>\n")
    assert etag_of(ports["hot"]) != old


def test_hot_answers_come_from_the_loop_thread_and_log_alike(ports: dict[str, int],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """The access lines match the task path's; the hot server's are written by its loop thread."""
    lines: dict[str, list[tuple[str, str]]] = {}
    for kind in ("hot", "task"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tagfeed.access"):
            exchange(ports[kind], request("GET", "/all.atom", {"Accept-Encoding": "gzip"})
                     + request("HEAD", "/tags/putin.atom", {}) + request("GET", "/nope.atom", {}),
                     ["GET", "HEAD", "GET"])
        lines[kind] = [(r.threadName, r.getMessage().split("] ", 1)[1]) for r in caplog.records]
    assert [line for _, line in lines["hot"]] == [line for _, line in lines["task"]]
    assert [thread for thread, _ in lines["hot"]][:2] == ["hot-loop", "hot-loop"]
    assert lines["hot"][2][0].startswith("waitress-")  # the 404 went to a worker, as before


def test_serve_creates_the_hot_server(server_config: Config) -> None:
    srv = server.create_server(server.create_app(server_config), "127.0.0.1", 0)
    try:
        assert isinstance(srv, HotServer) and srv.answer is not None
    finally:
        srv.close()
        srv.task_dispatcher.shutdown()
