"""HTTP for the output tree: a Flask app factory and ``serve`` (waitress + APScheduler).

Routes are thin: resolve the URL path inside the output directory (``safe_join``
plus a realpath check, so symlinks cannot lead out), then let
``tagfeed.serving.httpcache`` decide 200 or 304. Nothing starts at import: no app, no
scheduler; only ``serve`` builds, schedules rebuilds and listens.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import FrameType
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import http_date

from feeds.archive import max_age_for
from feeds.write import ensure_root
from tagfeed.config import Config
from tagfeed.errors import TagfeedError
from tagfeed.metrics import RECORDER
from tagfeed.serving.httpcache import accepts_gzip, clf_line, conditional, file_kind, gzip_etag
from tagfeed.serving.healthz import BuildTracker, read_health
from tagfeed.serving.schedule import Ticker, tick_seconds
from tagfeed.serving.tree import Entry, FileCache, resolve

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler


log = logging.getLogger("tagfeed.server")
access_log = logging.getLogger("tagfeed.access")
METHODS = ["GET", "HEAD"]
ALLOW = ", ".join(METHODS)
# DESIGN.md's URL for the OPML file; the tree holds it as feeds.opml (see README, "Design notes").
ALIASES = {"opml.xml": "feeds.opml"}
# RFC 5005 archive pages never change their entries (the newest gains one next-archive link, once).
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _file_response(entry: Entry, max_age: int) -> Response:
    use_gzip = entry.gz_body is not None and accepts_gzip(request.headers.get("Accept-Encoding"))
    etag = gzip_etag(entry.etag) if use_gzip else entry.etag
    headers = {"Content-Type": entry.content_type, "ETag": etag,
               "Last-Modified": http_date(entry.last_modified),
               "Cache-Control": f"public, max-age={max_age}", "Vary": "Accept-Encoding"}
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    if conditional(dict(request.headers.items()), etag, entry.last_modified) == 304:
        return Response(status=304, headers=headers)
    return Response(entry.gz_body if use_gzip else entry.body, headers=headers)


def _error_response(error: HTTPException) -> Response:
    response = Response(f"{error.code} {error.name}\n", status=error.code, mimetype="text/plain")
    if error.code == 405:
        response.headers["Allow"] = ALLOW
    return response


def _log_request(response: Response) -> Response:
    """One Common Log Format line per request; HEAD and 304 send no body bytes."""
    sent = 0 if request.method == "HEAD" or response.status_code == 304 else response.content_length
    access_log.info(clf_line(request.environ, str(response.status_code), sent or 0, datetime.now().astimezone()))
    return response


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


def create_app(config: Config) -> Flask:
    """The app serving ``config.site.output_dir``; its BuildTracker is ``app.extensions["tagfeed"]``."""
    app = Flask(__name__, static_folder=None)
    app.url_map.merge_slashes = False  # "//etc/passwd" must be a 404, not a redirect to /etc/passwd
    root = os.path.realpath(config.site.output_dir)
    cache, tracker = FileCache(), BuildTracker()
    app.extensions["tagfeed"] = tracker

    def lookup(url_path: str) -> tuple[Entry, int] | None:
        path = resolve(root, ALIASES.get(url_path, url_path))
        entry = cache.get(path) if path else None
        if entry is None:
            return None
        return entry, max_age_for(url_path, lambda: entry.body, config.site.cache_max_age)

    def send(url_path: str) -> Response:
        found = lookup(url_path)
        return _error_response(NotFound()) if found is None else _file_response(*found)

    @app.route("/healthz", methods=METHODS, provide_automatic_options=False)
    def healthz() -> Response:
        body = read_health(config, tracker)
        response = jsonify(body)
        response.status_code = 503 if body["status"] == "failing" else 200
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_url_rule("/", "index", lambda: send("index.html"), methods=METHODS, provide_automatic_options=False)
    app.add_url_rule("/<path:url_path>", "file", send, methods=METHODS, provide_automatic_options=False)
    count = _add_metrics(app, config) if config.site.metrics else None
    app.register_error_handler(HTTPException, _error_response)
    app.after_request(_log_request)
    if count is not None:
        app.after_request(lambda response: _count_request(response, count))
    app.wsgi_app = FastFiles(app, lookup, count)  # type: ignore[method-assign]
    return app


def _add_metrics(app: Flask, config: Config) -> Callable[[str, str], None]:
    """``GET /metrics`` (site.metrics): Prometheus text from tagfeed.serving.metrics; returns the
    request counter the fast path and Flask's responses increment."""
    from prometheus_client import generate_latest

    from tagfeed.serving.metrics import metrics_registry

    registry, requests = metrics_registry(config)

    @app.route("/metrics", methods=METHODS, provide_automatic_options=False)
    def metrics() -> Response:
        # the classic text format (what generate_latest writes for tagfeed's plain names), which
        # every Prometheus reads, rather than prometheus_client's newer "version=1.0.0" label
        return Response(generate_latest(registry), headers={"Content-Type": METRICS_TYPE, "Cache-Control": "no-store"})

    return requests.count


def _count_request(response: Response, count: Callable[[str, str], None]) -> Response:
    count(str(response.status_code), file_kind(request.path.lstrip("/")))
    return response


# -- serve: build, schedule, listen ---------------------------------------------------------


def served_url(host: str, port: int) -> str:
    """The URL readers reach us at. A wildcard address is no URL: name the machine instead
    (operators publishing under a real domain set ``site.base_url``)."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def served_config(config: Config, host: str, port: int) -> Config:
    """``config`` with base_url = the address served, unless the operator set base_url
    (``SiteConfig.base_url_explicit``: in the config file or ``TAGFEED_BASE_URL``)."""
    url = served_url(host, port)
    if config.site.base_url == url or config.site.base_url_explicit:
        return config
    return dataclasses.replace(config, site=dataclasses.replace(config.site, base_url=url))


def run_build(config: Config, tracker: BuildTracker) -> None:
    """One build; a failure is logged and kept for /healthz, never raised into the server."""
    try:
        from tagfeed.building.pipeline import build  # lazily: the app serves a tree even without the pipeline

        report = build(config)
    except TagfeedError as exc:  # ours names the file or key: one line, no traceback
        log.error("build failed: %s; retrying in %ss", exc, config.build_every)
        tracker.failed(exc)
        RECORDER.built(None)
        return
    except Exception as exc:  # noqa: BLE001 - any failure waits for the next scheduled try
        log.exception("build failed; retrying in %ss", config.build_every)
        tracker.failed(exc)
        RECORDER.built(None)
        return
    tracker.succeeded(report)
    RECORDER.built(report)
    log.info("build: %s", report.summary())


def scheduled(config: Config, tracker: BuildTracker, ticker: Ticker) -> None:
    """One tick: poll the due feeds, and build only if a poll or a dump changed something or
    ``build_every`` has passed (``tagfeed.serving.schedule``). Never raises into the scheduler."""
    try:
        due = ticker.tick()
    except Exception:  # noqa: BLE001 - a failed poll round waits for the next tick, like a failed build
        log.exception("polling failed; the next tick retries")
        return
    if due:
        run_build(config, tracker)
        ticker.built()


def start_scheduler(config: Config, tracker: BuildTracker, ticker: Ticker) -> BackgroundScheduler:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=timezone.utc)
    every = tick_seconds(config)
    scheduler.add_job(scheduled, "interval", seconds=every, args=(config, tracker, ticker),
                      id="tick", max_instances=1, coalesce=True, misfire_grace_time=max(1, every))
    scheduler.start()
    return scheduler


def _configure_logs() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.handlers[:] = [handler]
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per scheduled run


def _stop(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the server like Ctrl-C: waitress's loop returns on KeyboardInterrupt."""
    raise KeyboardInterrupt


def create_server(app: Flask, host: str, port: int) -> Any:
    """The listening server ``serve`` runs, and the benchmark measures: waitress (8 threads),
    with the loop thread answering what ``FastFiles.answer`` can (see ``tagfeed.serving.hotpath``)."""
    from tagfeed.serving.hotpath import create_server as hot_server

    fast = app.wsgi_app
    return hot_server(app, fast.answer if isinstance(fast, FastFiles) else None, host=host, port=port, threads=8)


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080, schedule: bool = True) -> None:
    """Listen, build once, then tick (``tagfeed.serving.schedule``): poll due feeds, build when
    something changed or ``build_every`` passed; return cleanly on SIGINT/SIGTERM."""
    config = served_config(config, host, port)
    if not config.site.output_url:  # never serve a folder that is not there (OutputError)
        ensure_root(config.site.output_dir)
    app = create_app(config)
    tracker: BuildTracker = app.extensions["tagfeed"]
    _configure_logs()
    try:
        server = create_server(app, host, port)
    except ValueError as exc:  # waitress's word for an address that is none ("999.1.1.1")
        raise OSError(f"not an address to listen on ({exc})") from None
    signal.signal(signal.SIGTERM, _stop)
    scheduler = None
    try:  # listening already, so clients wait in the backlog during the first build
        run_build(config, tracker)
        ticker = Ticker(config)
        ticker.built()
        scheduler = start_scheduler(config, tracker, ticker) if schedule else None
        log.info("serving %s on %s (base_url %s)", config.site.output_dir, served_url(host, port),
                 config.site.base_url)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if scheduler is not None:
            scheduler.shutdown(wait=True)  # a build in progress finishes; no half-written tree
        server.close()
        log.info("stopped")
