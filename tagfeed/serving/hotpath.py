"""waitress, answering requests for cached files in its loop thread instead of a worker thread.

Why: under waitress every request, even a poller's 304 from memory, is handed from the
asyncore loop thread to a worker thread (a condition variable, then GIL ping-pong between
the two), gets a full WSGI environ, ``start_response`` checks and a freshly built header
block. For a cached file that hand-off costs more than the answer itself. Here the loop
thread asks the answerer (``server.FastFiles.answer``) first and writes the reply to the
channel itself, unless an earlier request of the connection is still with a worker.

What is answered here: a complete HTTP/1.0 or 1.1 GET/HEAD without a body, ``Expect`` or
parse error, when the answerer knows the path. The bytes are the ones waitress's
``WSGITask`` writes for the same answer (status line, header names capitalised and sorted,
Content-Length, Connection, Server, Date; no body for HEAD and 304) and the connection is
kept or closed as the task path does (HTTP/1.0 without keep-alive and ``Connection: close``
close it). Both keep an HTTP/1.1 connection open after a 304, which plain waitress closes
because it finds no Content-Length (``KeepAliveTask``): a poller's conditional GETs then
share one connection. Anything else, or any
request while an earlier one of the same connection is still with a worker, takes
waitress's normal task path, so pipelined answers stay in order. ``tests/test_hotpath.py``
compares both paths byte for byte over raw sockets.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from waitress.adjustments import Adjustments
from waitress.buffers import OverflowableBuffer
from waitress.channel import HTTPChannel
from waitress.proxy_headers import PROXY_HEADERS
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher, WSGITask
from waitress.utilities import build_http_date

log = logging.getLogger("tagfeed.serving.hotpath")
Headers = Sequence[tuple[str, str]]
Answerer = Callable[[Mapping[str, Any]], "tuple[str, Headers, bytes] | None"]
_DATE_MARK = "\x00date\x00"
_NO_BODY = ("1", "204", "304")
_WAITRESS_OWN = frozenset({"Date", "Server", "Connection", "Transfer-Encoding"})


def create_server(application: Any, answer: Answerer | None, **settings: Any) -> Any:
    """``waitress.create_server`` for TCP listeners, whose loop thread answers what ``answer`` can.

    ``answer`` is None, or settings it cannot honour (a trusted proxy rewriting the
    environ, a url_prefix) are given: plain waitress behaviour, same server classes.
    """
    adj = Adjustments(**settings)
    if adj.trusted_proxy or adj.log_untrusted_proxy_headers or adj.url_prefix:
        answer = None
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict[int, Any] = {}
    servers = [HotServer(application, answer, map=socket_map, dispatcher=dispatcher, adj=adj, sockinfo=info)
               for info in adj.listen]
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(socket_map, adj, listening, dispatcher, servers[-1].log_info)


class KeepAliveTask(WSGITask):  # type: ignore[misc]  # waitress is untyped
    """waitress's task, except that an HTTP/1.1 answer without a body (304, 204) keeps the connection.

    waitress closes after any HTTP/1.1 answer it finds no Content-Length for, so that the end
    of the body is the end of the connection; an answer that has no body by definition (RFC 9112
    §6.3) ends with its header, so there is nothing to frame. Closes for any other reason
    (``Connection: close``, an error later on) are waitress's as before.
    """

    version: str
    has_body: bool
    close_on_finish: bool
    request: Any
    _bodiless_keep = False

    def build_response_header(self) -> bytes:
        self._bodiless_keep = (self.version == "1.1" and not self.has_body and not self.close_on_finish
                               and self.request.headers.get("CONNECTION", "").lower() != "close")
        try:
            return bytes(super().build_response_header())
        finally:
            self._bodiless_keep = False

    def set_close_on_finish(self) -> None:
        if not self._bodiless_keep:  # inside build_response_header: only the no-Content-Length close
            super().set_close_on_finish()


class HotChannel(HTTPChannel):  # type: ignore[misc]  # waitress is untyped
    """An HTTPChannel whose loop thread writes the answers it has instead of queueing a task."""

    task_class = KeepAliveTask

    requests: list[Any]  # waitress's own attributes, typed for mypy
    close_when_flushed: bool
    will_close: bool
    current_outbuf_count: int
    total_outbufs_len: int

    def __init__(self, server: HotServer, sock: socket.socket, addr: Any, adj: Adjustments,
                 map: dict[int, Any] | None = None) -> None:
        super().__init__(server, sock, addr, adj, map=map)
        self.loop_thread = threading.get_ident()  # channels are accepted by the loop thread

    def received(self, data: bytes) -> bool:
        """waitress's parsing; then, with no request left for a worker, the loop's next turn done
        now: send what was answered here, and close if an answer said so. That saves a whole
        ``select`` round (every channel asked readable/writable) per answer."""
        handled: bool = super().received(data)
        if not self.requests and (self.total_outbufs_len or self.close_when_flushed or self.will_close):
            self.handle_write()
        return handled

    def answer_here(self) -> bool:
        """Answer ``self.requests[0]`` in the loop thread; False leaves it to a worker.

        Called by ``HotServer.add_task`` with ``requests_lock`` held, so nothing else touches
        the channel's requests; from a worker (the next pipelined request) it declines.
        """
        if threading.get_ident() != self.loop_thread:
            return False
        request = self.requests[0]
        if self.close_when_flushed or self.will_close:  # answered "close" already: drop the rest, as service()
            self.requests = []
            request.close()
            return True
        reply = self.server.reply(request, self.addr)
        if reply is None:
            return False
        data, close = reply
        self._write(data)
        request.close()
        self.requests = []
        if close:
            self.close_when_flushed = True
        return True

    def _write(self, data: bytes) -> None:
        """``write_soon`` without its blocking (``received`` flushes next), each answer in an outbuf
        of its own as ``service`` arranges for tasks, so none grows over a long connection."""
        with self.outbuf_lock:
            if self.current_outbuf_count:
                self.outbufs.append(OverflowableBuffer(self.adj.outbuf_overflow))
            self.outbufs[-1].append(data)
            self.current_outbuf_count = len(data)
            self.total_outbufs_len += len(data)


class HotServer(TcpWSGIServer):  # type: ignore[misc]  # waitress is untyped
    """A TcpWSGIServer whose channels answer in the loop thread what its answerer can."""

    channel_class = HotChannel

    def __init__(self, application: Any, answer: Answerer | None, **kw: Any) -> None:
        self.answer = answer
        self._heads: dict[tuple[str, str, bool, int], tuple[Headers, bytes, bytes, bool]] = {}
        super().__init__(application, **kw)

    def add_task(self, channel: HTTPChannel) -> None:
        if not (self.answer is not None and isinstance(channel, HotChannel) and channel.answer_here()):
            super().add_task(channel)

    def reply(self, request: Any, addr: Any) -> tuple[bytes, bool] | None:
        """The bytes waitress would send for ``request`` and whether it would then close; None:
        not a request answered here."""
        if request.error is not None or request.command not in ("GET", "HEAD") or request.chunked \
                or request.content_length or request.version not in ("1.0", "1.1") or "EXPECT" in request.headers:
            return None
        try:
            found = self.answer(environ_of(request, addr)) if self.answer is not None else None
        except Exception:  # noqa: BLE001 - the task path answers it (with its 500 if it fails again)
            log.exception("in-loop answer failed for %s", request.path)
            return None
        if found is None:
            return None
        status, headers, body = found
        connection = request.headers.get("CONNECTION", "").lower()
        made = self._head(request.version, status, headers, connection)
        if made is None:
            return None
        before, after, close = made
        return before + build_http_date(time.time()).encode("latin-1") + after + body, close

    def _head(self, version: str, status: str, headers: Headers, connection: str) -> tuple[bytes, bytes, bool] | None:
        """``response_head``, made once per (version, status, header list, connection wish)."""
        key = (version, status, connection == ("close" if version == "1.1" else "keep-alive"), id(headers))
        made = self._heads.get(key)
        if made is not None and made[0] is headers:
            return made[1:]
        parts = response_head(version, status, headers, connection, self.adj.ident)
        if parts is None:
            return None
        if len(self._heads) >= 16384:  # header lists of replaced entries leave stale keys: start again
            self._heads.clear()
        self._heads[key] = (headers, *parts)
        return parts


def environ_of(request: Any, addr: Any) -> dict[str, Any]:
    """The WSGI environ keys an answerer reads, valued as waitress's ``WSGITask`` values them
    (request line, path with leading slashes collapsed, peer, headers as ``HTTP_*`` minus the
    proxy headers waitress clears)."""
    path = request.path
    if path.startswith("/"):
        path = "/" + path.lstrip("/")
    environ = {"REQUEST_METHOD": request.command, "PATH_INFO": path, "QUERY_STRING": request.query,
               "REQUEST_URI": request.request_uri, "SERVER_PROTOCOL": "HTTP/" + request.version,
               "REMOTE_ADDR": addr[0], "SCRIPT_NAME": ""}
    for key, value in request.headers.items():
        if key not in PROXY_HEADERS:
            environ[key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + key] = value
    return environ


def response_head(version: str, status: str, headers: Headers, connection: str,
                  ident: str | None) -> tuple[bytes, bytes, bool] | None:
    """waitress's ``Task.build_response_header`` for a complete answer, split around the Date
    value; and whether the connection closes after it. None for an answer waitress would chunk or whose
    headers it would merge with its own (Date, Server, Connection): the task path writes those."""
    has_body = not status.startswith(_NO_BODY)
    lines: list[tuple[str, str]] = []
    length = None
    for name, value in headers:
        name = "-".join(part.capitalize() for part in name.split("-"))
        if name in _WAITRESS_OWN:
            return None
        if name == "Content-Length":
            if not has_body:
                continue
            length = value
        lines.append((name, value))
    if version == "1.0":
        close = not (connection == "keep-alive" and length)
        if not close:
            lines.append(("Connection", "Keep-Alive"))
    else:
        if not length and has_body:
            return None
        close = connection == "close"  # a bodiless answer keeps the connection too (KeepAliveTask)
    if close:
        lines.append(("Connection", "close"))
    if ident:
        lines.append(("Server", ident))
    lines.append(("Date", _DATE_MARK))
    text = "\r\n".join([f"HTTP/{version} {status}", *(f"{k}: {v}" for k, v in sorted(lines, key=lambda kv: kv[0]))])
    before, _, after = (text + "\r\n\r\n").partition(_DATE_MARK)
    return before.encode("latin-1"), after.encode("latin-1"), close
