"""The answerer of the hot path: a GET/HEAD of a file of the tree, straight from the cached entry.

``server.create_app`` puts ``FastFiles`` in front of Flask, and ``tagfeed.serving.hotpath``
asks its ``answer`` from waitress's loop thread; both give the bytes the Flask route would
(tests/test_server_fastpath.py compares them).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date

from tagfeed.serving.httpcache import accepts_gzip, clf_line, conditional, file_kind, gzip_etag
from tagfeed.serving.tree import Entry

access_log = logging.getLogger("tagfeed.access")


_NOT_IN_304 = frozenset({"content-type", "content-length", "content-encoding", "last-modified"})


class FastFiles:
    """WSGI in front of Flask for the hot path: a GET/HEAD of a file of the tree.

    The same headers, status and log line as ``_file_response`` (tests compare
    the two), straight from the cached ``Entry``: no request object, no Flask
    response, so a poller's 304 costs a few dict look-ups and two stats. Each entry's
    header lists are made once (per variant and max-age) and reused while the entry is. Any
    other request, or a path that routing would not send to a file, goes to Flask.
    """

    def __init__(self, app: Flask, lookup: Callable[[str], tuple[Entry, int] | None],
                 count: Callable[[str, str], None] | None = None) -> None:
        self.app, self.wsgi, self.lookup = app, app.wsgi_app, lookup
        self._routes: dict[str, str | None] = {}  # PATH_INFO -> the file's url_path, or None
        self._made: dict[tuple[int, bool, int], tuple[Entry, _Heads]] = {}  # (id(entry), gzip, max_age)
        self.count = count  # (status, file kind) -> None: /metrics' request counter, when on
        self._kinds: dict[str, str] = {}  # url_path -> its file kind, for ``count``

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        answer = self.answer(environ)
        if answer is None:
            return self.wsgi(environ, start_response)
        status, headers, body = answer
        start_response(status, list(headers))
        return [body] if body else []

    def answer(self, environ: Mapping[str, Any]) -> Answer | None:
        """Status, headers and the body bytes to send (none for HEAD and 304) of a GET/HEAD of a file
        of the tree, its access line logged; None for anything else. ``tagfeed.serving.hotpath`` calls this
        from waitress's loop thread with the few environ keys it reads (see ``hotpath.environ_of``)."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        url_path = self._route(environ.get("PATH_INFO") or "/")
        found = self.lookup(url_path) if url_path is not None else None
        if found is None:
            return None
        answer = self._respond(environ, *found)
        if self.count is not None and url_path is not None:  # one dict look-up and one increment
            kind = self._kinds.get(url_path)
            if kind is None:
                kind = self._kinds[url_path] = file_kind(url_path) if len(self._kinds) < 65536 else "other"
            self.count(answer[0][:3], kind)
        return answer

    def _route(self, path: str) -> str | None:
        if path in self._routes:
            return self._routes[path]
        url_path = None
        if path.isascii() and path.isprintable():
            try:
                endpoint, args = self.app.url_map.bind("localhost").match(path, method="GET")
            except HTTPException:
                endpoint, args = None, {}
            url_path = "index.html" if endpoint == "index" else args.get("url_path") if endpoint == "file" else None
        if len(self._routes) < 65536:
            self._routes[path] = url_path
        return url_path

    def _respond(self, environ: Mapping[str, Any], entry: Entry, max_age: int) -> Answer:
        use_gzip = entry.gz_body is not None and _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        etag, body, full, not_modified = self._heads(entry, use_gzip, max_age)
        none_match = environ.get("HTTP_IF_NONE_MATCH")
        if none_match is not None and none_match == etag:  # the poller's case: its own tag back, a 304
            answer_304 = True
        else:
            asked = {name: environ[key] for name, key in (("If-None-Match", "HTTP_IF_NONE_MATCH"),
                                                          ("If-Modified-Since", "HTTP_IF_MODIFIED_SINCE"))
                     if key in environ}
            answer_304 = bool(asked) and conditional(asked, etag, entry.last_modified) == 304
        if answer_304:
            status, sent, body, headers = "304 NOT MODIFIED", 0, b"", not_modified
        else:
            status, sent, headers = "200 OK", 0 if environ["REQUEST_METHOD"] == "HEAD" else len(body), full
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(clf_line(environ, status[:3], sent, datetime.now().astimezone()))
        return status, headers, body if sent else b""

    def _heads(self, entry: Entry, use_gzip: bool, max_age: int) -> _Heads:
        """ETag, body and the 200 and 304 header lists of one entry's variant, made once per entry."""
        key = (id(entry), use_gzip, max_age)
        made = self._made.get(key)
        if made is not None and made[0] is entry:
            return made[1]
        etag = gzip_etag(entry.etag) if use_gzip else entry.etag
        body = entry.gz_body if use_gzip and entry.gz_body is not None else entry.body
        headers = [("Content-Type", entry.content_type), ("ETag", etag),
                   ("Last-Modified", _http_date(entry.last_modified)),
                   ("Cache-Control", f"public, max-age={max_age}"), ("Vary", "Accept-Encoding")]
        if use_gzip:
            headers.append(("Content-Encoding", "gzip"))
        not_modified = tuple((k, v) for k, v in headers if k.lower() not in _NOT_IN_304)
        heads = (etag, body, (*headers, ("Content-Length", str(len(body)))), not_modified)
        if len(self._made) >= 16384:  # entries replaced by rebuilds leave stale keys: start again
            self._made.clear()
        self._made[key] = (entry, heads)
        return heads


_Heads = tuple[str, bytes, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
Answer = tuple[str, tuple[tuple[str, str], ...], bytes]  # status, headers, body bytes to send
_GZIP_ACCEPTED: dict[str | None, bool] = {}


def _accepts_gzip(accept_encoding: str | None) -> bool:
    """``accepts_gzip``, remembered per header value (a pure function of it; clients send few values)."""
    try:
        return _GZIP_ACCEPTED[accept_encoding]
    except KeyError:
        answer = accepts_gzip(accept_encoding)
        if len(_GZIP_ACCEPTED) < 1024:
            _GZIP_ACCEPTED[accept_encoding] = answer
        return answer


@functools.lru_cache(maxsize=4096)
def _http_date(moment: datetime) -> str:
    return http_date(moment)
