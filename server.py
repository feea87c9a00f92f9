"""HTTP for the output tree: a Flask app factory and ``serve`` (waitress + APScheduler).

Routes are thin: resolve the URL path inside the output directory (``safe_join``
plus a realpath check, so symlinks cannot lead out), then let
``tagfeed.serving.httpcache`` decide 200 or 304. Nothing starts at import: no app, no
scheduler; only ``serve`` builds, schedules rebuilds and listens.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import http_date

from feeds.archive import max_age_for
from feeds.staging import ensure_root
from tagfeed.config import Config
from tagfeed.serving.fastfiles import FastFiles
from tagfeed.serving.healthz import BuildTracker, read_health
from tagfeed.serving.httpcache import (
    accepts_gzip,
    clf_line,
    conditional,
    file_kind,
    gzip_etag,
)
from tagfeed.serving.search import add_search
from tagfeed.serving.schedule import Ticker, run_build, start_scheduler
from tagfeed.serving.tree import Entry, FileCache, resolve

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
    add_search(app, config)  # the only dynamic responses
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
